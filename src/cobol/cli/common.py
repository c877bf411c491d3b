"""What every ``cobol`` subcommand shares: exit codes, :class:`CliError`, the
argument parser, the one-line error report, and presentation (tables, progress
bars, units).

Units, said once for the whole command line: binary, everywhere. Sizes people
type (:func:`parse_size`: ``64K`` = 65,536 bytes, ``4M`` = ``4MiB`` = 4 x 2^20),
sizes printed (:func:`human_size`, :func:`short_size`: KiB, MiB, GiB, as zstd's
summaries print them) and speeds printed (MiB/s, :data:`MB` = 2^20 bytes) in
summaries, progress lines, ``compress-dir`` and ``send`` reports.

Presentation: rich tables and progress bars only when the stream is a terminal;
plain aligned text (and ``--json``) otherwise. Errors are one line,
``cobol: FILE: message``, on stderr.
"""

from __future__ import annotations

import argparse
import os
import re
import stat
import sys
import threading

from ..errors import CobolError, EncodeError

#: bytes in the MiB of every MiB/s the command line prints (binary units everywhere)
MB = 1 << 20

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
  2    invalid or corrupt compressed input (not a .cobl frame, checksum mismatch, truncated,
       over a decoding limit, or more memory than the process may use)
  3    I/O error (no such file, permission denied, disk full)
  4    refused: the output exists (use -f), compressed data to/from a terminal,
       unknown suffix with -d (use -o or -c), input already ends in .cobl,
       input is a directory, a symbolic link or not a regular file (a FIFO, device
       or socket is refused before it is opened; read it through standard input)
  5    internal error, or a round trip that failed to verify (cobol bench): a bug
  130  interrupted (Ctrl-C)
  141  stdout closed early (broken pipe)
With several files, cobol goes on after a failure and exits with the highest code seen."""


class Verbosity:
    """zstd's display levels, set once per command by the main command:
    0 = nothing (``-qq``, errors too), 1 = errors only (``-q``; also the default
    when data goes to stdout), 2 = the default (summaries, warnings),
    3+ = ``-v`` (totals, speeds, notes)."""

    level = 2


def warn(message: str) -> None:
    """A warning line on stderr (shown from display level 2)."""
    if Verbosity.level >= 2:
        print(f"cobol: warning: {message}", file=sys.stderr)


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
    if Verbosity.level < 1:  # -qq: not even errors, as zstd -qq
        return
    prefix = f"cobol: {path}: " if path else "cobol: "
    print(prefix + str(message).splitlines()[0] if message else prefix.rstrip(": "), file=sys.stderr)


def code_for(exc: BaseException) -> int:
    if isinstance(exc, CliError):
        return exc.code
    if isinstance(exc, MemoryError):
        # the decoders' bound holds for any input (docs/FORMAT.md "Memory bound"): an
        # allocation that fails anyway is input too big for this machine's limits
        return EXIT_CORRUPT
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
    if isinstance(exc, MemoryError):
        return "out of memory: the input needs more memory than this process may use (corrupt or hostile input?)"
    return f"internal error: {type(exc).__name__}: {exc}"



def refuse_non_regular(name: str) -> None:
    """Refuse a FIFO, device or socket *before* opening it: open() on a FIFO
    without a writer blocks forever, and a device or a socket never ends (or
    never starts). Standard input ("-") is not checked: a pipe is its normal case."""
    try:
        mode = os.stat(name).st_mode  # follows links: what open() would open
    except OSError:
        return  # a dangling link or a race: open() reports it with its errno
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return
    kind = ("a FIFO" if stat.S_ISFIFO(mode) else "a character device" if stat.S_ISCHR(mode)
            else "a block device" if stat.S_ISBLK(mode) else "a socket" if stat.S_ISSOCK(mode) else "special")
    raise CliError(EXIT_REFUSED, f"not a regular file ({kind}) -- ignored (read it through standard input)", name)


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


def short_size(n: float) -> str:
    """zstd's summary spelling: three significant digits, binary units
    (``575 KiB``, ``72.3 KiB``, ``1.12 MiB``, ``310 B``)."""
    if n < 1024:
        return f"{n:.0f} B"
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        n /= 1024
        if n < 1024 or unit == "TiB":
            break
    return f"{n:.0f} {unit}" if n >= 100 else f"{n:.1f} {unit}" if n >= 10 else f"{n:.2f} {unit}"


def human_time(seconds: float) -> str:
    seconds = max(0, int(seconds + 0.5))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 \
        else f"{seconds // 60}:{seconds % 60:02d}"


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
    return Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(binary_units=True),
                    TransferSpeedColumn(),
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


class ProgressLine:
    """One progress line on stderr, redrawn in place (``\\r``) at most every
    ``interval`` seconds, as zstd draws its own: bytes read of the total, bytes
    written, ratio so far, speed and time left, measured from this file's start.
    The engine calls :meth:`done_in` after each block it encodes or decodes;
    a counting writer or reader calls :meth:`done_out` / :meth:`read`.
    Nothing is drawn unless ``enabled``; the line is erased by :meth:`close`.
    A ticker thread redraws it every :data:`TICK` seconds between blocks."""

    TICK = 0.5

    def __init__(self, enabled: bool, total: int | None, label: str, compressing: bool, file=None,
                 interval: float = 0.2, block_size: int | None = None):
        import time
        self.enabled = enabled
        self.total = total
        self.label = label
        self.compressing = compressing
        self.file = sys.stderr if file is None else file
        self.interval = interval
        self.t0 = time.perf_counter()
        self._clock = time.perf_counter
        self._last = float("-inf")
        self._width = 0
        self.block_size = block_size
        self.blocks = 0   # blocks done (one done_raw call each)
        self.raw = 0      # raw bytes done (encoded, or decoded)
        self.stored = 0   # compressed bytes done (written, or read)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker = None
        if enabled:
            # between two blocks (seconds apart for 8 MiB blocks) the clock, speed and ETA still move
            self._ticker = threading.Thread(target=self._tick, name="cobol-progress", daemon=True)
            self._ticker.start()

    def _tick(self) -> None:
        while not self._stop.wait(self.TICK):
            self.draw(force=True)

    def done_raw(self, n: int) -> None:
        self.blocks += 1
        self.raw += n
        self.draw()

    def done_stored(self, n: int) -> None:
        self.stored += n
        self.draw()

    def text(self) -> str:
        elapsed = self._clock() - self.t0
        read, written = (self.raw, self.stored) if self.compressing else (self.stored, self.raw)
        parts = [f"{self.label}: read {short_size(read)}"
                 + (f" / {short_size(self.total)} ({100 * read / self.total:.0f}%)" if self.total else "")]
        if self.block_size and self.total:
            # blocks are the unit of work: with 8 MiB blocks the bytes move seldom, this says why
            parts.append(f"block {self.blocks} of ~{-(-self.total // self.block_size)} done")
        parts.append(f"written {short_size(written)}")
        if self.raw and self.stored:
            parts.append(f"ratio {self.raw / self.stored:.2f}")
        speed = read / elapsed if elapsed > 0 else 0.0
        parts.append(f"{speed / MB:.1f} MiB/s")
        if self.total and speed > 0 and read:
            parts.append(f"ETA {human_time((self.total - read) / speed)}")
        else:
            parts.append("ETA --")
        parts.append(f"{human_time(elapsed)} elapsed")
        return ", ".join(parts)

    def draw(self, force: bool = False) -> None:
        if not self.enabled:
            return
        with self._lock:
            now = self._clock()
            if self._stop.is_set() or (not force and now - self._last < self.interval):
                return
            self._last = now
            line = self.text()
            self.file.write("\r" + line.ljust(self._width))
            self._width = len(line)
            self.file.flush()

    def close(self) -> None:
        if self._ticker is not None:
            self._stop.set()
            self._ticker.join()
        with self._lock:
            if self.enabled and self._width:
                self.file.write("\r" + " " * self._width + "\r")
                self.file.flush()
            self._width = 0
