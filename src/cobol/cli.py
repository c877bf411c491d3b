"""The ``cobol`` command: gzip/zstd habits over .cobl frames, plus subcommands.

``cobol FILE...`` compresses each FILE to FILE.cobl and removes FILE once the
output is safely in place (gzip's habit; ``-k`` keeps it). ``-d`` undoes it.
Output goes to a temporary file in the target folder and is renamed over the
target only on success, so a failure or Ctrl-C never leaves a partial file.
Files are read and written through the engine's streaming methods, so memory
stays bounded (about threads x 2 blocks) whatever the file size.

Subcommands are checked before anything else (``cobol bench ...``); a file
literally named like a subcommand is given as ``./bench``. A subcommand is one
function registered in :data:`SUBCOMMANDS` with :func:`subcommand`: it receives
its own ``argparse`` parser, adds its arguments, and returns the function that
runs with the parsed arguments and returns an exit code. Issues that add
``profile``, ``serve``, ``send`` or ``train`` add one such function (importing
their module lazily inside it, so ``cobol FILE`` stays fast to start)::

    @subcommand("profile", "explain where time and bytes go")
    def _profile(p):
        p.add_argument("paths", nargs="+")
        def run(args):
            from .profile import cli as profile_cli
            return profile_cli.run(args)
        return run

Presentation: rich tables and progress bars only when the stream is a terminal;
plain aligned text (and ``--json``) otherwise. Errors are one line,
``cobol: FILE: message``, on stderr; set COBOL_TRACEBACK=1 to see the traceback
of an internal error.
"""

from __future__ import annotations

import argparse
import errno
import json
import mmap
import os
import re
import stat
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from typing import Callable

from . import __version__
from .errors import CobolError, EncodeError

SUFFIX = ".cobl"
#: inputs larger than this get a progress bar (when stderr is a terminal)
PROGRESS_MIN_BYTES = 8 << 20

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


class CliError(Exception):
    """A failure with its exit code; ``path`` prefixes the message."""

    def __init__(self, code: int, message: str, path: str | None = None):
        super().__init__(message)
        self.code = code
        self.path = path


class _Parser(argparse.ArgumentParser):
    """argparse with our usage-error exit code (1, not argparse's 2)."""

    def error(self, message):
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: {message}\nTry '{self.prog} --help' for more information.\n")


def _say_error(path: str | None, message: str) -> None:
    prefix = f"cobol: {path}: " if path else "cobol: "
    print(prefix + str(message).splitlines()[0] if message else prefix.rstrip(": "), file=sys.stderr)


def _code_for(exc: BaseException) -> int:
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


def _message_for(exc: BaseException) -> str:
    if isinstance(exc, OSError) and not isinstance(exc, CliError):
        return exc.strerror or str(exc)
    if isinstance(exc, (CliError, CobolError)):
        return str(exc)
    if isinstance(exc, MemoryError):
        return "out of memory: the input needs more memory than this process may use (corrupt or hostile input?)"
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


class _ProgressBar:
    """A rich progress bar on stderr, or nothing (when not wanted)."""

    def __init__(self, enabled: bool, total: int | None, label: str):
        self._progress = None
        if enabled:
            from rich.progress import (BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn,
                                       TransferSpeedColumn)
            from rich.console import Console
            self._progress = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                                      TransferSpeedColumn(), TimeRemainingColumn(),
                                      console=Console(file=sys.stderr), transient=True)
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


# ------------------------------------------------------------------ subcommands

@dataclass
class Subcommand:
    name: str
    help: str
    #: configure(parser) adds arguments and returns run(args) -> exit code
    configure: Callable


SUBCOMMANDS: dict[str, Subcommand] = {}


def subcommand(name: str, help: str):
    """Register ``configure(parser) -> run`` as ``cobol NAME`` (see the module docstring)."""
    def deco(configure):
        SUBCOMMANDS[name] = Subcommand(name, help, configure)
        return configure
    return deco


@subcommand("bench", "compare cobol with zstd, xz, brotli, lz4 and openzl on files or folders")
def _bench_command(p: argparse.ArgumentParser):
    from . import bench as b
    p.description = textwrap.fill(
        "lzbench-style comparison in one process: ratio, compress and decompress MB/s "
        "(median of interleaved repetitions; MB = 10^6 bytes), round trip verified for every codec. "
        "The category of a file is its parent folder's name. Default codecs: cobol at --levels, "
        f"{', '.join(b.ANCHORS)} (openzl: its generic graph, when the package is installed). "
        "cobol runs with one thread (like the others) unless --threads says otherwise.", 78)
    p.add_argument("paths", nargs="+", metavar="PATH", help="files, or folders to walk recursively")
    p.add_argument("--levels", default=",".join(map(str, b.DEFAULT_LEVELS)),
                   help="cobol levels, comma separated (default: %(default)s)")
    p.add_argument("--codecs", help="comma list of codecs, e.g. 'cobol,zstd-19,xz-9,lz4' "
                   "(a bare name: its default levels; known: " + ", ".join(b.FACTORIES) + ")")
    p.add_argument("--reps", type=int, default=3, help="timed repetitions per file and codec (default: 3)")
    p.add_argument("--max-bytes", type=parse_size, metavar="SIZE",
                   help="truncate each input to SIZE bytes (at a line end when possible)")
    p.add_argument("-T", "--threads", type=int, default=1, help="cobol's threads (default: 1)")
    p.add_argument("--no-dtype-hints", action="store_true",
                   help="do not take a numeric dtype from file suffixes (.i32, .f64, ...) as a hint")
    p.add_argument("--json", action="store_true", help="print the results as JSON (schema cobol-bench/1)")
    p.add_argument("-v", "--verbose", action="count", default=0,
                   help="also print one row per file and codec with its speeds")
    p.add_argument("-q", "--quiet", action="count", default=0, help="no progress bar")
    p.add_argument("--profile", action="store_true",
                   help="add cobol's per-layer time breakdown per file and level (one profiled run each)")

    def run(args) -> int:
        try:
            levels = [int(x) for x in args.levels.split(",") if x.strip()]
        except ValueError:
            raise CliError(EXIT_USAGE, f"--levels: bad list {args.levels!r}") from None
        if args.reps < 1:
            raise CliError(EXIT_USAGE, "--reps must be at least 1")
        notes = []
        try:
            codecs = b.parse_codecs(args.codecs, levels, args.threads, notes)
            inputs = b.collect_inputs(args.paths, args.max_bytes, dtype_hints=not args.no_dtype_hints)
        except b.BenchError as e:
            raise CliError(EXIT_USAGE, str(e)) from None
        except OSError as e:
            raise CliError(EXIT_IO, e.strerror or str(e), e.filename) from None
        steps = (args.reps + 1) * len(inputs) * len(codecs)
        show = is_tty(sys.stderr) and not args.quiet
        progress = None
        if show:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
            progress = Progress(TextColumn("{task.description:<48}"), BarColumn(), MofNCompleteColumn(),
                                TimeElapsedColumn(), console=Console(file=sys.stderr), transient=True)
            task = progress.add_task("bench", total=steps)
            progress.start()

        def on_step(name, label):
            if progress is not None:
                progress.update(task, advance=1, description=f"{os.path.basename(name)[:36]} {label}")

        try:
            result = b.run_bench(inputs, codecs, reps=args.reps, on_step=on_step)
        finally:
            if progress is not None:
                progress.stop()
        result.notes = notes
        breakdown = None
        if args.profile:
            from .profile import cli as profile_cli
            breakdown = profile_cli.bench_breakdown(inputs, levels, args.threads)
        if args.json:
            doc = result.to_json()
            if breakdown is not None:
                doc["layer_breakdown"] = breakdown
            json.dump(doc, sys.stdout, indent=1)
            print()
        else:
            _print_bench(result, inputs, args.verbose)
            if breakdown is not None:
                profile_cli.print_bench_breakdown(breakdown)
        for r in result.rows:
            if not r.verified:
                _say_error(r.file, f"{r.label}: {r.error}")
        return EXIT_OK if result.ok else EXIT_INTERNAL

    return run


def _print_bench(result, inputs, verbose: int) -> None:
    from . import bench as b
    labels = []
    for r in result.rows:
        if r.label not in labels:
            labels.append(r.label)
    by = {(r.file, r.label): r for r in result.rows}
    cols = [("file", "l"), ("category", "l"), ("size", "r")] + [(lab, "r") for lab in labels]
    rows = []
    for inp in inputs:
        row = [os.path.basename(inp.name), inp.category, human_size(len(inp.data))]
        row += [f"{by[inp.name, lab].ratio:.3f}" if by[inp.name, lab].verified else "FAIL" for lab in labels]
        rows.append(row)
    total = sum(len(i.data) for i in inputs)
    emit_table(cols, rows, title=f"Compression ratio per file ({len(inputs)} files, {human_size(total)})")
    if verbose:
        cols, rows = b.file_table(result)
        emit_table(cols, rows, title=f"Per file and codec (median of {result.reps} reps; MB = 10^6 bytes)")
    cols, rows = b.category_table(result)
    emit_table(cols, rows, title="Geometric mean ratio per category (folder name); last columns: cobol / zstd -19")
    cols, rows = b.speed_table(result)
    emit_table(cols, rows, title=f"Speed over all files (median of {result.reps} reps, one process; MB = 10^6 bytes)")
    for n in result.notes:
        print(f"note: {n}")


@subcommand("info", "print the version, registered transforms, codecs and formats")
def _info_command(p: argparse.ArgumentParser):
    p.add_argument("--json", action="store_true", help="machine-readable output")

    def run(args) -> int:
        import platform

        import numba
        import numpy
        import zstandard

        from . import accel, detect
        from .engine import DEFAULT_BLOCK_SIZE, DEFAULT_LEVEL, MAX_LEVEL, MIN_LEVEL, default_threads
        from .registry import _CODECS, all_transforms  # read-only view of the registry
        transforms = [{"id": t.id, "name": t.name, "formats": list(t.formats), "min_level": t.min_level}
                      for t in all_transforms()]
        codecs = [{"id": c.id, "name": c.name} for c in sorted(_CODECS.values(), key=lambda c: c.id)]
        info = {
            "version": __version__, "python": platform.python_version(),
            "libraries": {"numpy": numpy.__version__, "numba": numba.__version__,
                          "zstandard": zstandard.__version__, "zstd": ".".join(map(str, zstandard.ZSTD_VERSION))},
            "levels": [MIN_LEVEL, MAX_LEVEL], "default_level": DEFAULT_LEVEL,
            "default_block_size": DEFAULT_BLOCK_SIZE, "threads": default_threads(),
            "checksums": ["sha256", "xxh3", "crc32"], "formats": list(detect.FORMATS),
            "transforms": transforms, "codecs": codecs,
            "backends": accel.describe_backends(),
        }
        if args.json:
            json.dump(info, sys.stdout, indent=1)
            print()
            return EXIT_OK
        print(f"cobol {__version__} (python {info['python']}, numpy {numpy.__version__}, numba {numba.__version__}, "
              f"zstd {info['libraries']['zstd']})")
        print(f"levels {MIN_LEVEL}..{MAX_LEVEL} (default {DEFAULT_LEVEL}), block size {human_size(DEFAULT_BLOCK_SIZE)}, "
              f"{info['threads']} threads, checksums {', '.join(info['checksums'])}")
        print(f"formats: {', '.join(detect.FORMATS)}")
        print("backends (* = used; COBOL_BACKEND=cpu|opencl|cuda overrides):")
        print("\n".join(accel.format_backends(info["backends"])))
        print()
        emit_table([("id", "r"), ("transform", "l"), ("formats", "l"), ("min level", "r")],
                   [[str(t["id"]), t["name"], ",".join(t["formats"]) or "-", str(t["min_level"])] for t in transforms],
                   title="Transforms")
        emit_table([("id", "r"), ("codec", "l")], [[str(c["id"]), c["name"]] for c in codecs], title="Entropy codecs")
        return EXIT_OK

    return run


@subcommand("compress-dir", "compress a folder, glob or URL of files in parallel (local processes or Dask)")
def _compress_dir_command(p: argparse.ArgumentParser):
    from .dataset import cli as dataset_cli
    return dataset_cli.configure(p, decompress=False)


@subcommand("decompress-dir", "decompress a folder of .cobl files in parallel")
def _decompress_dir_command(p: argparse.ArgumentParser):
    from .dataset import cli as dataset_cli
    return dataset_cli.configure(p, decompress=True)


@subcommand("profile", "compress and decompress FILE under the profiler: where time and bytes go")
def _profile_command(p: argparse.ArgumentParser):
    from .profile import cli as profile_cli
    return profile_cli.configure(p)


@subcommand("serve", "receive files from 'cobol send' over TCP (127.0.0.1 unless --listen says otherwise)")
def _serve_command(p: argparse.ArgumentParser):
    from .stream import cli as stream_cli
    return stream_cli.configure_serve(p)


@subcommand("send", "send files to a 'cobol serve' receiver, resuming after dropped connections")
def _send_command(p: argparse.ArgumentParser):
    from .stream import cli as stream_cli
    return stream_cli.configure_send(p)


@subcommand("train", "train a shared dictionary for small messages from sample files (like zstd --train)")
def _train_command(p: argparse.ArgumentParser):
    from . import dictionary
    return dictionary.configure_train(p)


# ------------------------------------------------------------------ the main command

_VALUE_OPTIONS = {"-o", "--output", "-l", "--level", "-T", "--threads", "--checksum", "--block-size",
                  "--plan", "--format", "--dtype", "-D", "--dictionary"}


def _expand_level_flags(argv: list[str]) -> list[str]:
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
    from .engine import MAX_LEVEL, MIN_LEVEL
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
    from . import detect
    subs = "\n".join(f"  {s.name:<8} {s.help}" for s in SUBCOMMANDS.values())
    p = _Parser(
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
    comp.add_argument("--checksum", choices=("sha256", "xxh3", "crc32"), default="sha256",
                      help="per-block checksum (default: sha256)")
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
    from .engine import DEFAULT_LEVEL, CobolEngine
    kwargs = dict(threads=args.threads or None)
    if getattr(args, "dictionary", None):
        from .dictionary import load  # a bad file is a CobolError (exit 2) or an OSError (exit 3)
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
        refuse_non_regular(name)
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
        with _ProgressBar(show, size, f"{verb} {os.path.basename(job.display)}") as bar:
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
            "mb_per_s": round(raw / 1e6 / seconds, 2) if seconds > 0 else 0.0, "removed_input": removed}


def _summary_line(s: dict) -> str:
    if s["mode"] == "test":
        return f"{s['file']}: OK ({human_size(s['compressed_size'])} -> {human_size(s['raw_size'])})"
    pct = 100.0 * s["compressed_size"] / s["raw_size"] if s["raw_size"] else 100.0
    arrow = "=>" if s["mode"] == "compress" else "<="
    return (f"{s['file']}: {pct:.2f}% ({human_size(s['raw_size'])} {arrow} {human_size(s['compressed_size'])}, "
            f"ratio {s['ratio']:.3f}, {s['mb_per_s']:.1f} MB/s) -> {s['output']}"
            + ("" if s["removed_input"] else " (input kept)" if s["output"] != "stdout" else ""))


def _list_one(name: str, verbose: bool):
    from .info import frame_info
    if name == "-":
        return frame_info(sys.stdin.buffer.read())
    with open(name, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size == 0:
            return frame_info(b"")
        mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)  # headers only are touched
        try:
            return frame_info(mm)
        finally:
            try:
                mm.close()
            except BufferError:  # a view still alive; the mapping closes when it is collected
                pass


def _print_list(results: list, verbose: bool) -> None:
    cols = [("Frames", "r"), ("Blocks", "r"), ("Compressed", "r"), ("Uncompressed", "r"), ("Ratio", "r"),
            ("Check", "l"), ("Plans", "l"), ("Filename", "l")]
    rows = []
    for name, info in results:
        plans = " ".join(f"{k}:{v}" for k, v in sorted(info.plans.items())) or "-"
        rows.append([str(info.frames), str(info.blocks), human_size(info.compressed_size), human_size(info.raw_size),
                     f"{info.ratio:.3f}", info.checksum or "-", plans, name])
    if len(results) > 1:
        c = sum(i.compressed_size for _, i in results)
        r = sum(i.raw_size for _, i in results)
        rows.append([str(sum(i.frames for _, i in results)), str(sum(i.blocks for _, i in results)), human_size(c),
                     human_size(r), f"{r / c:.3f}" if c else "-", "", "", f"{len(results)} files"])
    emit_table(cols, rows)
    if not verbose:
        return
    for name, info in results:
        bcols = [("block", "r"), ("offset", "r"), ("raw", "r"), ("stored", "r"), ("ratio", "r"), ("plan", "l"),
                 ("streams (codec stored/decoded)", "l")]
        brows = []
        for b in info.block_list:
            streams = ", ".join(f"{s['codec']} {s['stored']}/{s['decoded']}" for s in b.streams)
            brows.append([str(b.seq), str(b.offset), str(b.raw_len), str(b.stored_len),
                          f"{b.raw_len / b.stored_len:.3f}" if b.stored_len else "-", b.plan, streams or "-"])
        emit_table(bcols, brows, title=f"{name}: block size {human_size(info.block_size)}, checksum {info.checksum}"
                   + (f", dictionary {info.dictionary_id:#010x}" if info.dictionary_id is not None else ""))


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
                info = _list_one(name, args.verbose > 0)
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
            if os.environ.get("COBOL_TRACEBACK") and _code_for(e) == EXIT_INTERNAL:
                raise
            code = _code_for(e)
            path = getattr(e, "path", None) or ("stdin" if name == "-" else name)
            if isinstance(e, OSError) and e.filename and not isinstance(e, CliError):
                path = e.filename
            _say_error(path, _message_for(e))
            worst = max(worst, code)
            summaries.append({"file": "stdin" if name == "-" else name, "mode": args.mode, "ok": False,
                              "exit_code": code, "error": _message_for(e)})
    if args.mode == "list":
        if args.json:
            json.dump([{"file": n, **i.to_dict(blocks=args.verbose > 0)} for n, i in listed]
                      + [s for s in summaries if not s["ok"]], sys.stdout, indent=1, default=_json_default)
            print()
        elif listed:
            _print_list(listed, args.verbose > 0)
    elif args.json:
        json.dump(summaries, report, indent=1)
        print(file=report)
    return worst


def _json_default(o):
    from dataclasses import asdict, is_dataclass
    if is_dataclass(o):
        return asdict(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def main(argv=None) -> int:
    """Entry point of the ``cobol`` command; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        try:
            if argv and argv[0] in SUBCOMMANDS:
                sub = SUBCOMMANDS[argv[0]]
                parser = _Parser(prog=f"cobol {sub.name}", description=sub.help,
                                 epilog=EXIT_CODES_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
                run = sub.configure(parser)
                return run(parser.parse_args(argv[1:]))
            args = build_parser().parse_args(_expand_level_flags(argv))
            return run_files(args)
        except CliError as e:
            _say_error(e.path, str(e))
            return e.code
        except CobolError as e:
            _say_error(None, str(e))
            return _code_for(e)
        except OSError as e:
            if isinstance(e, BrokenPipeError):
                raise
            _say_error(e.filename, _message_for(e))
            return EXIT_IO
        except Exception as e:  # a bug: still one line, unless asked for the traceback
            if os.environ.get("COBOL_TRACEBACK"):
                raise
            _say_error(None, _message_for(e))
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
