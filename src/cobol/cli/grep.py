"""``cobol grep PATTERN FILE.cobl...``: the lines of compressed files that
match, as ``cobol -dc FILE | LC_ALL=C grep`` prints them (options, output
and exit status 0/1/2 as grep's); the search itself is
:func:`cobol.logsearch.grep`."""

from __future__ import annotations

import argparse
import os
import sys
import textwrap

from ..errors import CobolError
from .common import message_for


def configure(p: argparse.ArgumentParser):
    """Add ``cobol grep``'s arguments to ``p``; returns run(args) -> exit code."""
    p.description = textwrap.fill(
        "Search .cobl files without writing them out: output, options and exit status as "
        "'cobol -dc FILE | LC_ALL=C grep ...' (0: a line was selected, 1: none, 2: an error). "
        "Log blocks are searched through their templates and variables first, and only the "
        "lines that can match are decoded.", 78)
    p.add_argument("pattern", nargs="?", help="the pattern (unless -e is given)")
    p.add_argument("files", nargs="*", metavar="FILE", help="compressed files ('-' or none: standard input)")
    p.add_argument("-e", "--regexp", action="append", metavar="PATTERN", help="a pattern (may repeat)")
    kind = p.add_mutually_exclusive_group()
    kind.add_argument("-F", "--fixed-strings", action="store_true", help="patterns are fixed strings")
    kind.add_argument("-E", "--extended-regexp", action="store_true", help="extended regular expressions")
    kind.add_argument("-G", "--basic-regexp", action="store_true", help="basic regular expressions (default)")
    p.add_argument("-i", "--ignore-case", action="store_true", help="ignore ASCII case")
    p.add_argument("-v", "--invert-match", action="store_true", help="select the lines that do not match")
    p.add_argument("-c", "--count", action="store_true", help="print only a count of selected lines per file")
    p.add_argument("-n", "--line-number", action="store_true", help="prefix each line with its line number")
    # -h is grep's --no-filename; help stays --help (options live in the parser's _optionals group)
    p.conflict_handler = p._optionals.conflict_handler = "resolve"
    p.add_argument("-H", "--with-filename", action="store_true", help="prefix each line with the file name")
    p.add_argument("-h", "--no-filename", action="store_true", help="never prefix the file name")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing; exit 0 at the first selected line")
    p.add_argument("-s", "--no-messages", action="store_true", help="no messages about unreadable files")

    def usage_error(message):  # grep's status for usage errors is 2
        p.print_usage(sys.stderr)
        p.exit(2, f"{p.prog}: {message}\n")
    p.error = usage_error

    def run(args) -> int:
        # NumPy's OpenBLAS starts one spinning thread a core on import; grep does no linear algebra,
        # and on a small file those threads cost more CPU than the search (about 40-80 ms a process)
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
        from ..logsearch import PatternError, grep
        files = list(args.files)
        if args.regexp:
            if args.pattern is not None:
                files.insert(0, args.pattern)
            pattern = "\n".join(args.regexp)
        elif args.pattern is None:
            usage_error("no pattern given")
        else:
            pattern = args.pattern
        pattern = os.fsencode(pattern)
        files = files or ["-"]
        prefix = (len(files) > 1 or args.with_filename) and not args.no_filename
        out = sys.stdout.buffer
        selected = errors = False
        for name in files:
            label = "(standard input)" if name == "-" else name
            try:
                blob = sys.stdin.buffer.read() if name == "-" else open(name, "rb").read()
                r = grep(pattern, blob, fixed=args.fixed_strings, extended=args.extended_regexp,
                         ignore_case=args.ignore_case, invert=args.invert_match)
            except (CobolError, OSError) as e:
                if isinstance(e, PatternError):
                    print(f"cobol grep: {e}", file=sys.stderr)
                    return 2
                errors = True
                if not args.no_messages:
                    msg = message_for(e) if isinstance(e, OSError) else str(e).splitlines()[0]
                    print(f"cobol grep: {label}: {msg}", file=sys.stderr)
                continue
            selected = selected or r.count > 0
            if args.quiet:
                if selected:
                    return 0
                continue
            head = os.fsencode(label) + b":" if prefix else b""
            if args.count:
                out.write(head + b"%d\n" % r.count)
            elif args.line_number:
                out.writelines(head + b"%d:" % n + line + b"\n" for n, line in zip(r.numbers, r.lines))
            else:
                out.writelines(head + line + b"\n" for line in r.lines)
        out.flush()
        if errors and not (args.quiet and selected):
            return 2
        return 0 if selected else 1

    return run
