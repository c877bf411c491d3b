"""``cobol [options] FILE...``: the main command, gzip/zstd habits over .cobl frames.

``cobol FILE...`` compresses each FILE to FILE.cobl and removes FILE once the
output is safely in place (gzip's habit; ``-k`` keeps it). ``-d`` undoes it,
``-t`` tests, ``--list`` prints frame facts (:mod:`cobol.cli.listing`).
Output goes to a temporary file in the target folder and is renamed over the
target only on success, so a failure or Ctrl-C never leaves a partial file.
Files are read and written through the engine's streaming methods, so memory
stays bounded (about threads x 2 blocks) whatever the file size.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import re
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass

from .. import __version__
from ..errors import CobolError
from . import listing
from .common import (
    EXIT_CODES_HELP, EXIT_INTERNAL, EXIT_IO, EXIT_OK, EXIT_REFUSED, EXIT_USAGE, MB, CliError, CliParser,
    ProgressBar, code_for, human_size, is_tty, message_for, parse_size, say_error,
)
from .subcommands import SUBCOMMANDS

SUFFIX = ".cobl"
#: inputs larger than this get a progress bar (when stderr is a terminal)
PROGRESS_MIN_BYTES = 8 << 20


class _CountingReader:
    """Wraps a binary file object; calls ``on_read(total bytes read)`` after reads."""

    def __init__(self, f, on_read):
        self._f = f
        self._on_read = on_read
        self.total = 0

    def read(self, n=-1):
        b = self._f.read(n)
        self.total += len(b)
        self._on_read(self.total)
        return b


class _FullWriter:
    """Writes all it is given. ``BufferedWriter.write`` can return a short count
    without raising (seen on a pipe whose reader left mid-write); the bytes not
    taken would be lost silently. Looping makes the next write raise instead
    (BrokenPipeError, ENOSPC)."""

    def __init__(self, f):
        self._f = f

    def write(self, b):
        mv = memoryview(b).cast("B")
        total = len(mv)
        while mv:
            n = self._f.write(mv)
            if not n:
                raise OSError(errno.EIO, "write made no progress")
            mv = mv[n:]
        return total

    def flush(self):
        self._f.flush()


class _NullWriter:
    def write(self, b):
        return len(b)



# ------------------------------------------------------------------ the main command

_VALUE_OPTIONS = {"-o", "--output", "-l", "--level", "-T", "--threads", "--checksum", "--block-size",
                  "--plan", "--format", "--dtype", "-D", "--dictionary"}


def expand_level_flags(argv: list[str]) -> list[str]:
    """zstd's ``-19`` spelling to ``--level=19`` (argparse cannot declare -0..-22);
    a token after an option that takes a value, or after ``--``, is left alone."""
    out = []
    skip = False
    for i, a in enumerate(argv):
        if a == "--":
            out += argv[i:]
            break
        if not skip and re.fullmatch(r"-\d{1,3}", a):
            out.append(f"--level={a[1:]}")
        else:
            out.append(a)
        skip = not skip and a in _VALUE_OPTIONS
    return out


def _level(text: str) -> int:
    from ..engine import MAX_LEVEL, MIN_LEVEL
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not MIN_LEVEL <= v <= MAX_LEVEL:
        raise argparse.ArgumentTypeError(f"level must be in {MIN_LEVEL}..{MAX_LEVEL}, got {v}")
    return v


def _threads(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError("threads must be >= 0 (0 = all cores)")
    return v


def _dtype(text: str) -> str:
    import numpy as np
    try:
        dt = np.dtype(text)
    except TypeError:
        raise argparse.ArgumentTypeError(f"unknown dtype {text!r} (examples: int32, uint16, float64)") from None
    if dt.kind not in "iuf":
        raise argparse.ArgumentTypeError(f"dtype must be an integer or float type, got {text!r}")
    return dt.name


def build_parser() -> argparse.ArgumentParser:
    from .. import detect
    subs = "\n".join(f"  {s.name:<8} {s.help}" for s in SUBCOMMANDS.values())
    p = CliParser(
        prog="cobol",
        usage="cobol [options] [FILE ...]\n       cobol SUBCOMMAND [options] ...",
        description=textwrap.fill(
            "Compress or decompress FILEs in the .cobl format (lossless, format-aware). "
            "With no FILE, or when FILE is -, read standard input and write standard output.", 78),
        epilog=(
            f"subcommands (cobol SUBCOMMAND --help for details):\n{subs}\n"
            "  A file named like a subcommand is given as ./NAME.\n\n"
            + textwrap.fill(
                "habits: like gzip, the input FILE is removed once FILE.cobl is complete (-k keeps it); "
                "compressed data is never written to a terminal (-f forces); an existing output is never "
                "overwritten without -f; output goes to a temporary file, renamed on success.", 78)
            + "\n\n"
            + EXIT_CODES_HELP),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    mode = p.add_argument_group("mode").add_mutually_exclusive_group()
    mode.add_argument("-z", "--compress", dest="mode", action="store_const", const="compress",
                      help="compress (the default)")
    mode.add_argument("-d", "--decompress", "--uncompress", dest="mode", action="store_const", const="decompress",
                      help="decompress FILE.cobl to FILE")
    mode.add_argument("-t", "--test", dest="mode", action="store_const", const="test",
                      help="decompress and verify every checksum; write nothing")
    mode.add_argument("--list", dest="mode", action="store_const", const="list",
                      help="print frame facts (blocks, sizes, ratio, checksum, plans; per block with -v)")
    p.set_defaults(mode="compress")

    out = p.add_argument_group("output")
    out.add_argument("-c", "--stdout", action="store_true", help="write to standard output; keep input files")
    out.add_argument("-o", "--output", metavar="FILE", help="write to FILE (one input only; - = stdout)")
    out.add_argument("-k", "--keep", action="store_true", help="keep (do not remove) input files")
    out.add_argument("-f", "--force", action="store_true",
                     help="overwrite outputs, write compressed data to a terminal, accept any input name")
    out.add_argument("--json", action="store_true",
                     help="machine-readable summary (of --list, -t, or of what was written) on stdout "
                          "(on stderr when stdout carries data)")
    out.add_argument("-q", "--quiet", action="count", default=0, help="no summaries, warnings or progress bar")
    out.add_argument("-v", "--verbose", action="count", default=0, help="a summary line per file; with --list, every block")
    out.add_argument("--no-progress", action="store_true", help="never show a progress bar")

    comp = p.add_argument_group("compression")
    comp.add_argument("-l", "--level", type=_level, default=None, metavar="N",
                      help="level 0..22 (default 3; 0 stores); also -0 .. -22 like zstd")
    comp.add_argument("-T", "--threads", type=_threads, default=0, metavar="N",
                      help="worker threads (default 0 = all cores)")
    comp.add_argument("--checksum", choices=("sha256", "xxh3", "crc32"), default="xxh3",
                      help="per-block checksum (default: xxh3)")
    comp.add_argument("--block-size", type=parse_size, metavar="SIZE",
                      help="bytes per independent block, e.g. 4M (default 8M)")
    comp.add_argument("--plan", default="auto", metavar="PLAN",
                      help="auto (default), store, zstd, or a transform name (see cobol info)")
    comp.add_argument("--format", choices=detect.FORMATS, metavar="FMT",
                      help="skip detection: treat every block as FMT (" + ", ".join(detect.FORMATS) + ")")
    comp.add_argument("--dtype", type=_dtype, help="numeric hint for arrays, e.g. int32, float64")
    comp.add_argument("--fast-decode", action="store_true",
                      help="never code streams with PPMd (levels 19+ otherwise may, where it is >= 3%% smaller: "
                           "~1.1-1.4x smaller text, but it decodes at ~10-20 MB/s instead of hundreds)")
    comp.add_argument("-D", "--dictionary", metavar="DICT",
                      help="shared dictionary from 'cobol train' (needed again to decompress)")
    p.add_argument("-V", "--version", action="version", version=f"cobol {__version__}")
    p.add_argument("files", nargs="*", metavar="FILE", help=argparse.SUPPRESS)
    return p


def _make_engine(args):
    from ..engine import DEFAULT_LEVEL, CobolEngine
    kwargs = dict(threads=args.threads or None)
    if getattr(args, "dictionary", None):
        from ..dictionary import load  # a bad file is a CobolError (exit 2) or an OSError (exit 3)
        kwargs["dictionary"] = load(args.dictionary)
    if args.mode == "compress":
        kwargs.update(level=DEFAULT_LEVEL if args.level is None else args.level, checksum=args.checksum,
                      block_size=args.block_size, plan=args.plan, fmt=args.format,
                      hints={"dtype": args.dtype} if args.dtype else None,
                      layers={"ppmd": False} if args.fast_decode else None)
    try:
        return CobolEngine(**kwargs)
    except CobolError as e:  # bad option value (unknown plan, block size out of range)
        raise CliError(EXIT_USAGE, str(e)) from None


class _AtomicOutput:
    """A temporary file beside ``path``, renamed onto it by :meth:`commit`;
    removed if the block exits without a commit."""

    def __init__(self, path: str, force: bool, stat_from: str | None):
        self.path = path
        self.force = force
        self.stat_from = stat_from
        folder = os.path.dirname(path) or "."
        fd, self.tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
        self.file = os.fdopen(fd, "wb")
        self.committed = False

    def commit(self) -> None:
        self.file.flush()
        self.file.close()
        if self.stat_from is not None:
            import shutil
            shutil.copystat(self.stat_from, self.tmp)  # mode and times, like gzip
        else:
            mask = os.umask(0)
            os.umask(mask)
            os.chmod(self.tmp, 0o666 & ~mask)
        if self.force:
            os.replace(self.tmp, self.path)
        else:
            try:  # link() refuses to clobber: no window between the check and the rename
                os.link(self.tmp, self.path)
                os.unlink(self.tmp)
            except FileExistsError:
                raise CliError(EXIT_REFUSED, "already exists (use -f to overwrite)", self.path) from None
            except OSError:  # file systems without hard links
                if os.path.lexists(self.path):
                    raise CliError(EXIT_REFUSED, "already exists (use -f to overwrite)", self.path) from None
                os.replace(self.tmp, self.path)
        self.committed = True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if not self.committed:
            try:
                self.file.close()
            finally:
                try:
                    os.unlink(self.tmp)
                except FileNotFoundError:
                    pass
        return False


@dataclass
class _Job:
    src: str          # path, or "-" for stdin
    display: str      # name in messages
    dst: str | None   # path, "-" for stdout, None when nothing is written


def _plan_job(name: str, args) -> _Job:
    """Where FILE's output goes, and the refusals that need no I/O beyond stat."""
    stdin = name == "-"
    display = "stdin" if stdin else name
    if not stdin:
        if os.path.isdir(name):
            raise CliError(EXIT_REFUSED, "is a directory -- ignored", name)
        if not os.path.lexists(name):
            raise CliError(EXIT_IO, "No such file or directory", name)
    if args.mode in ("test", "list"):
        return _Job(name, display, None)
    if args.stdout or (args.output in (None, "-") and stdin) or args.output == "-":
        return _Job(name, display, "-")
    if not stdin and os.path.islink(name) and not args.force:
        # gzip's rule: the link would be removed and its target left as it is
        raise CliError(EXIT_REFUSED, "is a symbolic link -- ignored (use -f or -c)", name)
    if args.output is not None:
        dst = args.output
    elif args.mode == "compress":
        if name.endswith(SUFFIX) and not args.force:
            raise CliError(EXIT_REFUSED, f"already has the {SUFFIX} suffix -- unchanged (use -f to compress it anyway)", name)
        dst = name + SUFFIX
    else:
        if not name.endswith(SUFFIX) or len(name) == len(SUFFIX) or name.endswith("/" + SUFFIX):
            raise CliError(EXIT_REFUSED, f"unknown suffix (not {SUFFIX}) -- ignored (use -o or -c)", name)
        dst = name[: -len(SUFFIX)]
    if not stdin and os.path.exists(dst) and os.path.samefile(name, dst):
        raise CliError(EXIT_REFUSED, "input and output are the same file", name)
    if os.path.lexists(dst) and not args.force:
        raise CliError(EXIT_REFUSED, "already exists (use -f to overwrite)", dst)
    return _Job(name, display, dst)


def _check_terminals(job: _Job, args) -> None:
    if job.dst == "-" and args.mode == "compress" and is_tty(sys.stdout) and not args.force:
        raise CliError(EXIT_REFUSED, "compressed data not written to a terminal (use -f to force, or redirect)",
                       job.display)
    if job.src == "-" and args.mode != "compress" and is_tty(sys.stdin):
        raise CliError(EXIT_REFUSED, "compressed data not read from a terminal", job.display)


def _run_job(job: _Job, args, engine, want_progress: bool) -> dict:
    """Compress / decompress / test one input; returns its summary (for -v and --json)."""
    t0 = time.perf_counter()
    src = sys.stdin.buffer if job.src == "-" else None
    try:
        if src is None:
            src = open(job.src, "rb")
            st = os.fstat(src.fileno())
            import stat as _stat
            regular = _stat.S_ISREG(st.st_mode)
            if not regular and not args.force and job.dst not in ("-", None):
                raise CliError(EXIT_REFUSED, "not a regular file -- ignored (use -f or -c)", job.display)
            size = st.st_size if regular else None
        else:
            regular, size = False, None
        show = want_progress and size is not None and size >= PROGRESS_MIN_BYTES
        verb = {"compress": "compressing", "decompress": "decompressing", "test": "testing"}[args.mode]
        with ProgressBar(show, size, f"{verb} {os.path.basename(job.display)}") as bar:
            if args.mode == "compress":
                step = bar.advance
                reader = src
            else:
                step = None
                reader = _CountingReader(src, bar.update) if show else src
            if job.dst is None:
                n_in, n_out = engine.decompress_stream(reader, _NullWriter(), progress=step)
            elif job.dst == "-":
                out = _FullWriter(sys.stdout.buffer)
                fn = engine.compress_stream if args.mode == "compress" else engine.decompress_stream
                n_in, n_out = fn(reader, out, progress=step)
                out.flush()
            else:
                with _AtomicOutput(job.dst, args.force, job.src if regular else None) as atomic:
                    fn = engine.compress_stream if args.mode == "compress" else engine.decompress_stream
                    n_in, n_out = fn(reader, _FullWriter(atomic.file), progress=step)
                    atomic.commit()
    finally:
        if src is not None and src is not sys.stdin.buffer:
            src.close()
    removed = False
    if job.dst not in (None, "-") and regular and not args.keep:
        os.unlink(job.src)
        removed = True
    seconds = time.perf_counter() - t0
    raw = n_in if args.mode == "compress" else n_out
    stored = n_out if args.mode == "compress" else n_in
    return {"file": job.display, "output": {"-": "stdout", None: None}.get(job.dst, job.dst),
            "mode": args.mode, "ok": True, "raw_size": raw, "compressed_size": stored,
            "ratio": round(raw / stored, 4) if stored else 0.0, "seconds": round(seconds, 4),
            "mb_per_s": round(raw / MB / seconds, 2) if seconds > 0 else 0.0, "removed_input": removed}


def _summary_line(s: dict) -> str:
    if s["mode"] == "test":
        return f"{s['file']}: OK ({human_size(s['compressed_size'])} -> {human_size(s['raw_size'])})"
    pct = 100.0 * s["compressed_size"] / s["raw_size"] if s["raw_size"] else 100.0
    arrow = "=>" if s["mode"] == "compress" else "<="
    return (f"{s['file']}: {pct:.2f}% ({human_size(s['raw_size'])} {arrow} {human_size(s['compressed_size'])}, "
            f"ratio {s['ratio']:.3f}, {s['mb_per_s']:.1f} MB/s) -> {s['output']}"
            + ("" if s["removed_input"] else " (input kept)" if s["output"] != "stdout" else ""))



def run_files(args) -> int:
    files = args.files or ["-"]
    if args.output is not None and len(files) > 1:
        raise CliError(EXIT_USAGE, "-o takes one input file; use -c to concatenate several")
    if args.output is not None and args.stdout:
        raise CliError(EXIT_USAGE, "-o and -c exclude each other")
    if args.mode in ("test", "list") and (args.output is not None or args.stdout):
        raise CliError(EXIT_USAGE, f"{'-t' if args.mode == 'test' else '--list'} writes no data; drop -o/-c")
    if files.count("-") > 1:
        raise CliError(EXIT_USAGE, "standard input can be given only once")
    engine = _make_engine(args) if args.mode != "list" else None
    data_to_stdout = args.mode in ("compress", "decompress") and (
        args.stdout or args.output == "-" or (args.output is None and "-" in files))
    report = sys.stderr if data_to_stdout else sys.stdout
    want_progress = is_tty(sys.stderr) and not args.quiet and not args.no_progress
    summaries = []
    listed = []
    worst = EXIT_OK
    for name in files:
        try:
            if args.mode == "list":
                job = _plan_job(name, args)
                _check_terminals(job, args)
                info = listing.list_one(name)
                listed.append(("stdin" if name == "-" else name, info))
                continue
            job = _plan_job(name, args)
            _check_terminals(job, args)
            s = _run_job(job, args, engine, want_progress)
            summaries.append(s)
            if not args.json and not args.quiet and (args.verbose or (is_tty(sys.stderr) and args.mode != "test")):
                print(_summary_line(s), file=sys.stderr)
        except KeyboardInterrupt:
            raise
        except BrokenPipeError:
            raise
        except Exception as e:  # one line per failure, then the next file
            if os.environ.get("COBOL_TRACEBACK") and code_for(e) == EXIT_INTERNAL:
                raise
            code = code_for(e)
            path = getattr(e, "path", None) or ("stdin" if name == "-" else name)
            if isinstance(e, OSError) and e.filename and not isinstance(e, CliError):
                path = e.filename
            say_error(path, message_for(e))
            worst = max(worst, code)
            summaries.append({"file": "stdin" if name == "-" else name, "mode": args.mode, "ok": False,
                              "exit_code": code, "error": message_for(e)})
    if args.mode == "list":
        if args.json:
            listing.print_json(listed, [s for s in summaries if not s["ok"]], args.verbose > 0)
        elif listed:
            listing.print_list(listed, args.verbose > 0)
    elif args.json:
        json.dump(summaries, report, indent=1)
        print(file=report)
    return worst


