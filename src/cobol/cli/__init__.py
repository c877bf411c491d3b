"""The ``cobol`` command line: :func:`main` dispatches to a subcommand or to the
main command.

Layout (one idea per module):

- :mod:`.common`: exit codes, :class:`~.common.CliError`, the argument parser,
  the one-line error report, tables, progress bars and units (said once there);
- :mod:`.subcommands`: the table of subcommands, each imported lazily;
- :mod:`.files`: the main command (``cobol FILE``, ``-d``, ``-t``) and its
  file jobs; :mod:`.listing`: ``--list``;
- one module per subcommand: :mod:`.bench`, :mod:`.info`, :mod:`.profile`,
  :mod:`.stream` (serve, send), :mod:`.dataset` (compress-dir,
  decompress-dir), :mod:`.train`.

Subcommands are checked before anything else (``cobol bench ...``); a file
literally named like a subcommand is given as ``./bench``. Errors are one line,
``cobol: FILE: message``, on stderr; set COBOL_TRACEBACK=1 to see the traceback
of an internal error. The library (``cobol.engine``, ``cobol.stream``, ...)
never imports this package.
"""

from __future__ import annotations

import argparse
import os
import sys

from ..errors import CobolError
from .common import (
    EXIT_BROKEN_PIPE, EXIT_CODES_HELP, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_IO, CliError, CliParser, Verbosity,
    code_for, message_for, say_error,
)
from .subcommands import SUBCOMMANDS

__all__ = ["main"]


def main(argv=None) -> int:
    """Entry point of the ``cobol`` command; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    Verbosity.level = 2  # the main command lowers or raises it from -q / -v
    try:
        try:
            if argv and argv[0] in SUBCOMMANDS:
                sub = SUBCOMMANDS[argv[0]]
                parser = CliParser(prog=f"cobol {sub.name}", description=sub.help, allow_abbrev=False,
                                 epilog=EXIT_CODES_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
                run = sub.configure(parser)
                return run(parser.parse_args(argv[1:]))
            from .files import build_parser, expand_short_flags, run_files  # (not needed by subcommands)
            args = build_parser().parse_args(expand_short_flags(argv))
            return run_files(args)
        except CliError as e:
            say_error(e.path, str(e))
            return e.code
        except CobolError as e:
            say_error(None, str(e))
            return code_for(e)
        except OSError as e:
            if isinstance(e, BrokenPipeError):
                raise
            say_error(e.filename, message_for(e))
            return EXIT_IO
        except Exception as e:  # a bug: still one line, unless asked for the traceback
            if os.environ.get("COBOL_TRACEBACK"):
                raise
            say_error(None, message_for(e))
            return EXIT_INTERNAL
    except KeyboardInterrupt:
        print("cobol: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # the reader went away (cobol -dc x | head): quiet, like a SIGPIPE death
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except OSError:
            pass
        return EXIT_BROKEN_PIPE
