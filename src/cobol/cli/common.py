"""What every ``cobol`` subcommand shares: exit codes, :class:`CliError`, the
argument parser, the one-line error report, and presentation (tables, progress
bars, units).

Units, said once for the whole command line: sizes are binary, both the ones
people type (:func:`parse_size`: ``64K`` = 65,536 bytes, ``4M`` = ``4MiB`` =
4 x 2^20) and the ones printed (:func:`human_size`: KiB, MiB, GiB). Speeds are
MB/s with MB = 10^6 bytes (:data:`MB`), as zstd and lzbench print them.

Presentation: rich tables and progress bars only when the stream is a terminal;
plain aligned text (and ``--json``) otherwise. Errors are one line,
``cobol: FILE: message``, on stderr.
"""

from __future__ import annotations

import argparse
import re
import sys

from ..errors import CobolError, EncodeError

#: bytes in the MB of every MB/s the command line prints
MB = 10**6

# Exit codes (documented in EXIT_CODES_HELP).
EXIT_OK = 0
EXIT_USAGE = 1
EXIT_CORRUPT = 2
EXIT_IO = 3
EXIT_REFUSED = 4
EXIT_INTERNAL = 5
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141

EXIT_CODES_HELP = """\
exit codes:
  0    success
  1    usage error (bad option, bad value, bad combination of options)
  2    invalid or corrupt compressed input (not a .cobl frame, checksum mismatch, truncated)
  3    I/O error (no such file, permission denied, disk full)
  4    refused: the output exists (use -f), compressed data to/from a terminal,
       unknown suffix with -d (use -o or -c), input already ends in .cobl,
       input is a directory, a symbolic link or not a regular file
  5    internal error, or a round trip that failed to verify (cobol bench): a bug
  130  interrupted (Ctrl-C)
  141  stdout closed early (broken pipe)
With several files, cobol goes on after a failure and exits with the highest code seen."""


class CliError(Exception):
    """A failure with its exit code; ``path`` prefixes the message."""

    def __init__(self, code: int, message: str, path: str | None = None):
        super().__init__(message)
        self.code = code
        self.path = path


class CliParser(argparse.ArgumentParser):
    """argparse with our usage-error exit code (1, not argparse's 2)."""

    def error(self, message):
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: {message}\nTry '{self.prog} --help' for more information.\n")


def say_error(path: str | None, message: str) -> None:
    prefix = f"cobol: {path}: " if path else "cobol: "
    print(prefix + str(message).splitlines()[0] if message else prefix.rstrip(": "), file=sys.stderr)


def code_for(exc: BaseException) -> int:
    if isinstance(exc, CliError):
        return exc.code
    if isinstance(exc, EncodeError):
        return EXIT_USAGE
    if isinstance(exc, CobolError):
        return EXIT_CORRUPT
    if isinstance(exc, OSError):
        return EXIT_IO
    return EXIT_INTERNAL


def message_for(exc: BaseException) -> str:
    if isinstance(exc, OSError) and not isinstance(exc, CliError):
        return exc.strerror or str(exc)
    if isinstance(exc, (CliError, CobolError)):
        return str(exc)
    return f"internal error: {type(exc).__name__}: {exc}"



# ------------------------------------------------------------------ presentation

def is_tty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def human_size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.2f} {unit}"
        n /= 1024
    return f"{n} B"


def parse_size(text: str) -> int:
    """'65536', '64K', '4M', '4MiB', '1G' -> bytes (binary multiples)."""
    m = re.fullmatch(r"\s*(\d+)\s*([kmgt]?)(i?b)?\s*", text, re.I)
    if not m:
        raise argparse.ArgumentTypeError(f"bad size {text!r} (examples: 65536, 64K, 4M)")
    return int(m.group(1)) << (10 * " kmgt".index(m.group(2).lower() or " "))


def emit_table(columns, rows, *, title: str | None = None, file=None) -> None:
    """Print a table: rich when ``file`` is a terminal, plain aligned text otherwise.
    ``columns`` are (title, "l"|"r") pairs; rows are lists of strings."""
    file = sys.stdout if file is None else file
    if is_tty(file):
        from rich import box
        from rich.console import Console
        from rich.table import Table
        table = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left", title_style="bold")
        for name, align in columns:
            table.add_column(name, justify="right" if align == "r" else "left", no_wrap=True)
        for row in rows:
            table.add_row(*row)
        Console(file=file, soft_wrap=True).print(table)
        return
    widths = [len(c[0]) for c in columns]
    for row in rows:
        widths = [max(w, len(v)) for w, v in zip(widths, row)]

    def line(vals):
        cells = [v.rjust(w) if a == "r" else v.ljust(w) for v, w, (_, a) in zip(vals, widths, columns)]
        return "  ".join(cells).rstrip()

    if title:
        print(title, file=file)
    print(line([c[0] for c in columns]), file=file)
    print("  ".join("-" * w for w in widths), file=file)
    for row in rows:
        print(line(row), file=file)
    print(file=file)


def transfer_progress(transient: bool):
    """A rich progress display on stderr for bytes moved: label, bar, bytes done
    of total, speed, time left (one task per file). Not started."""
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn
    return Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                    TimeRemainingColumn(), console=Console(file=sys.stderr), transient=transient)


def steps_progress(label_width: int):
    """A transient rich progress display on stderr counting steps: label (padded
    to ``label_width``), bar, steps done of total, time elapsed. Not started."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    return Progress(TextColumn(f"{{task.description:<{label_width}}}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=Console(file=sys.stderr), transient=True)


def items_progress():
    """A transient rich progress display with rich's default columns and console
    (``cobol compress-dir``: one step per file, no total). Not started."""
    from rich.progress import Progress
    return Progress(transient=True)


class ProgressBar:
    """A transfer progress bar on stderr, or nothing (when not wanted)."""

    def __init__(self, enabled: bool, total: int | None, label: str):
        self._progress = None
        if enabled:
            self._progress = transfer_progress(transient=True)
            self._task = self._progress.add_task(label, total=total)

    def __enter__(self):
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *exc):
        if self._progress is not None:
            self._progress.stop()

    def advance(self, n: int) -> None:
        if self._progress is not None:
            self._progress.advance(self._task, n)

    def update(self, completed: int) -> None:
        if self._progress is not None:
            self._progress.update(self._task, completed=completed)

