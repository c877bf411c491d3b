"""``cobol [options] FILE...``: the main command, zstd's habits over .cobl frames.

``cobol FILE...`` compresses each FILE to FILE.cobl and keeps FILE, as zstd
does (``--rm`` removes it once the output is safely in place; ``-k`` is
accepted and is the default). ``-d`` undoes it, ``-t`` tests, ``-l/--list``
prints frame facts (:mod:`cobol.cli.listing`), ``-r`` walks folders.
Output goes to a temporary file in the target folder and is renamed over the
target only on success, so a failure or Ctrl-C never leaves a partial file.
Files are read and written through the engine's streaming methods, so memory
stays bounded (about threads x 2 blocks compressing, up to threads x 4 decoded
blocks waiting to be written) whatever the file size.

Short flags combine as zstd's do: ``-19kf``, ``-kT2f``, ``-dcf``, ``-oOUT``
(:func:`expand_short_flags` rewrites them for argparse, whose prefix
matching of long options is off: ``--fast`` is not ``--fast-decode``).
"""

from __future__ import annotations

import argparse
import errno
import gc
import os
import sys
import textwrap
import time

from .. import __version__
from ..errors import CobolError, TruncatedError
from .common import (
    EXIT_CODES_HELP, EXIT_CORRUPT, EXIT_INTERNAL, EXIT_IO, EXIT_OK, EXIT_REFUSED, EXIT_USAGE, MB, CliError,
    CliParser, ProgressLine, Verbosity, code_for, is_tty, message_for, parse_size, refuse_non_regular, say_error,
    short_size, warn,
)
from .subcommands import SUBCOMMANDS

SUFFIX = ".cobl"
#: inputs at least this large get a progress line when stderr is a terminal (``--progress``: any size)
PROGRESS_MIN_BYTES = 1 << 20
#: seconds between two redraws of the progress line
PROGRESS_INTERVAL = 0.2
#: the largest level reachable without --ultra, and with it (zstd's 19 and 22)
MAX_PLAIN_LEVEL, MAX_ULTRA_LEVEL = 19, 22
#: --long with no number: blocks of 2^26 = 64 MiB, the largest a default decoder accepts
LONG_DEFAULT_LOG, LONG_MIN_LOG, LONG_MAX_LOG = 26, 10, 26
#: suffixes --exclude-compressed skips (zstd's list, plus ours)
COMPRESSED_SUFFIXES = (".cobl", ".zst", ".tzst", ".gz", ".tgz", ".xz", ".txz", ".lzma", ".bz2", ".tbz2", ".lz4",
                       ".br", ".zip", ".7z", ".rar", ".sz", ".lz", ".z", ".Z")
#: first bytes (at most 4: what is read to tell a .cobl frame) of formats people confuse with .cobl
_MAGICS = ((b"\x28\xb5\x2f\xfd", "zstd"), (b"\x1f\x8b", "gzip"), (b"\xfd7zX", "xz"), (b"BZh", "bzip2"),
           (b"\x04\x22\x4d\x18", "lz4"), (b"PK\x03\x04", "zip"), (b"7z\xbc\xaf", "7-zip"),
           (b"\x5d\x00\x00", "lzma"), (b"\x89PNG", "PNG"), (b"%PDF", "PDF"))
_MAGIC = b"COBL"


class _Counter:
    """Wraps a binary file object; calls ``on_bytes(n)`` for each read or write."""

    def __init__(self, f, on_bytes):
        self._f = f
        self._on_bytes = on_bytes

    def read(self, n=-1):
        b = self._f.read(n)
        self._on_bytes(len(b))
        return b

    def write(self, b):
        n = self._f.write(b)
        self._on_bytes(len(b) if n is None else n)
        return n

    def flush(self):
        self._f.flush()


class _Prefixed:
    """A reader that returns ``head`` (bytes already read to sniff the format)
    before the rest of ``f``."""

    def __init__(self, head: bytes, f):
        self._head = head
        self._f = f

    def read(self, n=-1):
        if self._head:
            if n is None or n < 0:
                b, self._head = self._head + self._f.read(), b""
                return b
            b, self._head = self._head[:n], self._head[n:]
            return b
        return self._f.read(n)


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

    def flush(self):
        pass


def _read_head(f, n: int) -> bytes:
    parts, got = [], 0
    while got < n:
        b = f.read(n - got)
        if not b:
            break
        parts.append(b)
        got += len(b)
    return b"".join(parts)


def looks_like(head: bytes) -> str:
    """What the first bytes of a file that is not a .cobl frame look like."""
    for magic, name in _MAGICS:
        if head.startswith(magic):
            return f"looks like {name}"
    if not head:
        return "empty"
    try:
        text = head.decode("utf-8")
        if text.isprintable() or all(c.isprintable() or c in "\t\r\n" for c in text):
            return "looks like text"
    except UnicodeDecodeError:
        pass
    return "starts with " + head[:4].hex(" ")


def not_cobl_error(head: bytes, path: str | None) -> CliError:
    return CliError(EXIT_CORRUPT, f"not a .cobl file ({looks_like(head)})", path)


def explain_truncation(path: str, exc: TruncatedError) -> CliError:
    """A TruncatedError says the reader ran out of bytes. That is a truncated
    file only if the file does not end with an intact end marker: a damaged
    length field also sends the reader past the end. The end marker carries a
    CRC32, so an intact one at the end means the file is whole and corrupt."""
    from ..format.frame import BlockKind, read_block, FrameHeader
    from ..format.wire import Reader
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            f.seek(max(0, size - 32))
            tail = f.read()
    except OSError:
        return CliError(EXIT_CORRUPT, str(exc), path)
    for k in range(7, min(len(tail), 25) + 1):
        if tail[-k] != BlockKind.END:
            continue
        try:
            r = Reader(tail[-k:])
            read_block(r, FrameHeader())
            r.expect_end("end marker")
        except CobolError:
            continue
        return CliError(EXIT_CORRUPT, f"corrupt, not truncated: {exc} (the file ends with an intact end marker, "
                        "so a length field inside it is damaged)", path)
    return CliError(EXIT_CORRUPT, f"truncated: {exc} (no end marker at the end of the file)", path)


# ------------------------------------------------------------------ the main command

#: options that take a value (the next argument, or ``=VALUE``)
_VALUE_OPTIONS = {"-o", "--output", "--level", "-T", "--threads", "--checksum", "--block-size", "--plan",
                  "--format", "--dtype", "-D", "--dictionary", "--output-dir-flat"}
#: options whose value is optional and given only as --OPT=N (a bare one gets its default here, so
#: that argparse does not take the next FILE as its value)
_OPTIONAL_VALUE = {"--long": str(LONG_DEFAULT_LOG), "--fast": "1"}
#: short options whose value may be glued on (``-oOUT``, ``-T2``, ``-DDICT``)
_SHORT_WITH_VALUE = {"o", "T", "D"}


def expand_short_flags(argv: list[str]) -> list[str]:
    """zstd's short-flag spellings to argparse's: ``-19`` to ``--level=19``, and
    combined flags with numbers split (``-19kf`` -> ``--level=19 -k -f``,
    ``-kT2f`` -> ``-k --threads=2 -f``, ``-dcf`` -> ``-d -c -f``, ``-oX`` ->
    ``-o X``, ``--long`` -> ``--long=26``). A token after an option that takes a value, or after ``--``, is
    left alone."""
    out = []
    skip = False
    for i, a in enumerate(argv):
        if a == "--":
            out += argv[i:]
            break
        if not skip and a in _OPTIONAL_VALUE:
            out.append(f"{a}={_OPTIONAL_VALUE[a]}")  # zstd's --long[=N]: the value only ever after '='
            continue
        if skip or a.startswith("--") or not a.startswith("-") or a == "-":
            out.append(a)
            skip = not skip and a in _VALUE_OPTIONS
            continue
        j = 1
        while j < len(a):
            c = a[j]
            if c.isdigit():
                k = j
                while k < len(a) and a[k].isdigit():
                    k += 1
                out.append(f"--level={a[j:k]}")
                j = k
            elif c == "T" and j + 1 < len(a) and a[j + 1].isdigit():
                k = j + 1
                while k < len(a) and a[k].isdigit():
                    k += 1
                out.append(f"--threads={a[j + 1:k]}")
                j = k
            elif c in _SHORT_WITH_VALUE:
                out.append("-" + c)
                if j + 1 < len(a):
                    out.append(a[j + 1:])
                else:
                    skip = True
                break
            else:
                out.append("-" + c)
                j += 1
    return out


#: the name the tests and earlier callers know
expand_level_flags = expand_short_flags


def _int(what: str, lo: int):
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if v < lo:
            raise argparse.ArgumentTypeError(f"{what} must be >= {lo}, got {v}")
        return v
    return parse


def _long(text: str) -> int:
    v = _int("--long", LONG_MIN_LOG)(text)
    if v > LONG_MAX_LOG:
        raise argparse.ArgumentTypeError(
            f"--long={v}: at most {LONG_MAX_LOG} (2^{LONG_MAX_LOG} = 64 MiB blocks, the largest a default decoder accepts)")
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
    subs = "\n".join(f"  {s.name:<14} {s.help}" for s in SUBCOMMANDS.values())
    p = CliParser(
        prog="cobol",
        usage="cobol [options] [FILE ...]\n       cobol SUBCOMMAND [options] ...",
        allow_abbrev=False,
        description=textwrap.fill(
            "Compress or decompress FILEs in the .cobl format (lossless, format-aware), with zstd's habits. "
            "With no FILE, or when FILE is -, read standard input and write standard output.", 78),
        epilog=(
            f"subcommands (cobol SUBCOMMAND --help for details):\n{subs}\n"
            "  A file named like a subcommand is given as ./NAME.\n\n"
            + textwrap.fill(
                "habits (zstd's): the input FILE is kept (--rm removes it once FILE.cobl is complete); "
                "short flags combine (-19kf, -kT2f, -dcf); compressed data is never written to a terminal "
                "(-f forces); an existing output is never overwritten without -f (on a terminal, cobol asks); "
                "output goes to a temporary file, renamed on success. Sizes and speeds are binary: "
                "KiB, MiB, MiB/s (1 MiB = 2^20 bytes). Differences from zstd: -0 stores (zstd: default "
                "level); no negative levels (--fast = level 1); exit codes 2/3/4 tell failures apart "
                "(zstd: 1 for all).", 78)
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
                      help="decompress and verify every checksum; write nothing ('FILE : OK' per file)")
    mode.add_argument("-l", "--list", dest="mode", action="store_const", const="list",
                      help="print frame facts (blocks, sizes, ratio, checksum, dictionary, plans; "
                           "per block and metadata with -v)")
    p.set_defaults(mode="compress")

    out = p.add_argument_group("files and output")
    out.add_argument("-c", "--stdout", action="store_true", help="write to standard output; keep input files")
    out.add_argument("-o", "--output", metavar="FILE", help="write to FILE (one input only; - = stdout)")
    out.add_argument("-k", "--keep", dest="remove", action="store_const", const=False,
                     help="keep input files (the default; accepted for gzip/zstd habits)")
    out.add_argument("--rm", dest="remove", action="store_const", const=True,
                     help="remove each input once its output is complete (not with -c; the last of -k/--rm wins)")
    p.set_defaults(remove=False)
    out.add_argument("-f", "--force", action="store_true",
                     help="overwrite outputs, write compressed data to a terminal, read a terminal, accept any "
                          "input name; with -dc, pass input that is not .cobl through unchanged (zstd -dcf)")
    out.add_argument("-r", "--recursive", action="store_true",
                     help="operate on every file under each folder given, in place (FILE -> FILE.cobl beside it; "
                          "with -d, the .cobl files); 'cobol compress-dir' mirrors a tree into another folder")
    out.add_argument("--output-dir-flat", metavar="DIR",
                     help="write every output into DIR (created if missing), named after its input's basename")
    out.add_argument("--exclude-compressed", action="store_true",
                     help="skip inputs that are already compressed (.cobl .zst .gz .xz .bz2 .lz4 .br .zip .7z ...)")
    out.add_argument("--json", action="store_true",
                     help="machine-readable summary (of --list, -t, or of what was written) on stdout "
                          "(on stderr when stdout carries data)")
    out.add_argument("-q", "--quiet", action="count", default=0,
                     help="no summaries, warnings or progress; -qq: no error messages either (exit codes still tell)")
    out.add_argument("-v", "--verbose", action="count", default=0,
                     help="summaries even with -c, speeds, a total line for several files; "
                          "with --list, every block and metadata record")
    prog = out.add_mutually_exclusive_group()
    prog.add_argument("--progress", dest="progress", action="store_const", const=True,
                      help="show the progress line even when stderr is not a terminal, and for small files")
    prog.add_argument("--no-progress", dest="progress", action="store_const", const=False,
                      help="never show the progress line")
    p.set_defaults(progress=None)

    comp = p.add_argument_group("compression")
    comp.add_argument("--level", type=_int("level", 0), default=None, metavar="N",
                      help=f"level 0..{MAX_PLAIN_LEVEL} (default 3; 0 stores); also -0 .. -{MAX_PLAIN_LEVEL} as "
                           f"in zstd; above {MAX_PLAIN_LEVEL} needs --ultra; too high is reduced, with a warning. "
                           "1-2: fastest (brotli 6, 8 on small structured files); 3-5: brotli 6 with brotli 10 on "
                           "small blocks; 6-18: PPMd on prose, html and json lines (slow decode); 19-22: brotli 11 "
                           "and PPMd except on json/xml (README, Levels)")
    comp.add_argument("--ultra", action="store_true",
                      help=f"allow levels {MAX_PLAIN_LEVEL + 1}..{MAX_ULTRA_LEVEL} (slower; more memory)")
    comp.add_argument("--fast", nargs="?", const=1, type=_int("--fast", 1), metavar="N",
                      help="fastest compressing level (level 1); cobol has no negative levels, so N is accepted "
                           "and means the same")
    comp.add_argument("-T", "--threads", type=_int("threads", 0), default=0, metavar="N",
                      help="worker threads (default 0 = all cores); also -T2")
    comp.add_argument("--long", nargs="?", const=LONG_DEFAULT_LOG, type=_long, metavar="LOG",
                      help=f"long-range mode as in zstd: bigger independent blocks, 2^LOG bytes (default "
                           f"{LONG_DEFAULT_LOG} = 64 MiB; {LONG_MIN_LOG}..{LONG_MAX_LOG}), so matches reach further "
                           "back (needs about threads x 2 blocks of memory)")
    comp.add_argument("--checksum", choices=("sha256", "xxh3", "crc32"), default=None,
                      help="the checksum of every block's raw bytes (default xxh3, and crc32 for an input of at "
                           "most 64 KiB, 4 bytes less; sha256 is a cryptographic hash, crc32 the cheapest)")
    comp.add_argument("-C", "--no-check", dest="no_check", action="store_true",
                      help="the cheapest block checksum: crc32 (the format has no 'none'; every block keeps "
                           "one, so corruption is still caught)")
    comp.add_argument("--check", dest="no_check", action="store_false", help="a checksum per block (the default)")
    comp.add_argument("--block-size", type=parse_size, metavar="SIZE",
                      help="bytes per independent block, e.g. 4M (default 8M)")
    comp.add_argument("--no-search-index", dest="search_index", action="store_false",
                      help="write no search index records (by default each log or text block of 1 MiB or more "
                           "of a multi-block file gets one: a gram bitmap of 0.3-2%% of the block that lets "
                           "'cobol grep' skip it undecoded)")
    comp.add_argument("--plan", default="auto", metavar="PLAN",
                      help="auto (default), store, zstd, or a transform name (see cobol info)")
    comp.add_argument("--format", choices=detect.FORMATS, metavar="FMT",
                      help="skip detection: treat every block as FMT (" + ", ".join(detect.FORMATS) + ")")
    comp.add_argument("--dtype", type=_dtype, help="numeric hint for arrays, e.g. int32, float64")
    comp.add_argument("--fast-decode", action="store_true",
                      help="never code streams with PPMd (levels 19+ otherwise may, except on json/xml, 6-18 on prose, "
                           "html and json lines, where it is >= 3%% smaller: "
                           "~1.1-1.4x smaller text, but it decodes at ~10-20 MB/s instead of hundreds)")
    comp.add_argument("-D", "--dictionary", metavar="DICT",
                      help="shared dictionary from 'cobol train' (needed again to decompress)")
    p.add_argument("-V", "--version", action="version", version=f"cobol {__version__}")
    p.add_argument("files", nargs="*", metavar="FILE", help=argparse.SUPPRESS)
    return p


def resolve_level(args) -> int | None:
    """zstd's rules: above 19 needs --ultra, else it is reduced to 19; above 22
    it is reduced to 22; both with a warning. --fast means level 1."""
    if args.fast is not None:
        if args.level is not None:
            raise CliError(EXIT_USAGE, "--fast and a level exclude each other")
        return 1
    level = args.level
    if level is None:
        return None
    top = MAX_ULTRA_LEVEL if args.ultra else MAX_PLAIN_LEVEL
    if level > top:
        warn(f"compression level {level} higher than max, reduced to {top}"
             + ("" if args.ultra or level <= MAX_PLAIN_LEVEL else " (levels above 19 need --ultra)"))
        level = top
    return level


def _make_engine(args):
    from ..engine import DEFAULT_LEVEL, CobolEngine
    # NumPy and Numba leave ~110,000 tracked objects that live as long as the
    # process: frozen, a full collection skips them (45-50 ms each otherwise,
    # landing on whichever file it hits). The CLI owns its process; the
    # library itself leaves the host's collector alone.
    gc.freeze()
    kwargs = dict(threads=args.threads or None)
    if getattr(args, "dictionary", None):
        from ..dictionary import load  # a bad file is a CobolError (exit 2) or an OSError (exit 3)
        kwargs["dictionary"] = load(args.dictionary)
    if args.mode == "compress":
        if args.block_size is not None and args.long is not None:
            raise CliError(EXIT_USAGE, "--long and --block-size exclude each other")
        checksum = args.checksum or ("crc32" if args.no_check else None)
        if args.checksum and args.no_check and args.checksum != "crc32":
            raise CliError(EXIT_USAGE, f"--no-check and --checksum {args.checksum} exclude each other")
        level = args.level
        kwargs.update(level=DEFAULT_LEVEL if level is None else level, checksum=checksum,
                      block_size=(1 << args.long) if args.long is not None else args.block_size,
                      plan=args.plan, fmt=args.format,
                      hints={"dtype": args.dtype} if args.dtype else None,
                      layers={"ppmd": False} if args.fast_decode else None,
                      search_index=getattr(args, "search_index", True))
    try:
        return CobolEngine(**kwargs)
    except CobolError as e:  # bad option value (unknown plan, block size out of range)
        raise CliError(EXIT_USAGE, str(e)) from None


class _AtomicOutput:
    """A temporary file beside ``path``, renamed onto it by :meth:`commit`;
    removed if the block exits without a commit. Errors name ``path`` (what the
    user gave), never the hidden temporary name."""

    def __init__(self, path: str, force: bool, stat_from: str | None):
        self.path = path
        self.force = force
        self.stat_from = stat_from
        folder = os.path.dirname(path) or "."
        try:
            import tempfile  # here: cobol --help need not load it
            fd, self.tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
        except OSError as e:
            why = e.strerror or str(e)
            if isinstance(e, FileNotFoundError):
                why = f"cannot write here: folder {folder} does not exist"
            raise CliError(EXIT_IO, why, path) from None
        self.file = os.fdopen(fd, "wb")
        self.committed = False

    def commit(self) -> None:
        try:
            self._commit()
        except OSError as e:
            if isinstance(e, CliError):
                raise
            raise CliError(EXIT_IO, e.strerror or str(e), self.path) from None

    def _commit(self) -> None:
        self.file.flush()
        self.file.close()
        if self.stat_from is not None:
            import shutil
            shutil.copystat(self.stat_from, self.tmp)  # mode and times, like gzip and zstd
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


class _Job:
    """One input and where its output goes (a plain class: dataclasses, with the
    inspect module it imports, was a tenth of ``cobol --help``'s start-up)."""

    __slots__ = ("src", "display", "dst", "force")

    def __init__(self, src: str, display: str, dst: str | None, force: bool = False):
        self.src = src  # path, or "-" for stdin
        self.display = display  # name in messages
        self.dst = dst  # path, "-" for stdout, None when nothing is written
        self.force = force  # overwrite dst (-f, or the user said yes at the prompt)


class _Skip(Exception):
    """An input left alone on purpose (declined prompt, excluded); carries its exit code."""

    def __init__(self, code: int, message: str | None = None):
        super().__init__(message or "")
        self.code = code


def _ask_overwrite(dst: str) -> bool:
    """zstd's prompt: ``cobol: DST already exists; overwrite (y/n) ?`` on stderr,
    the answer read from the terminal on stdin."""
    sys.stderr.write(f"cobol: {dst} already exists; overwrite (y/n) ? ")
    sys.stderr.flush()
    answer = sys.stdin.readline().strip().lower()
    if answer.startswith("y"):
        return True
    print("    not overwritten", file=sys.stderr)
    return False


def _plan_job(name: str, args) -> _Job:
    """Where FILE's output goes, and the refusals that need no I/O beyond stat."""
    stdin = name == "-"
    display = "stdin" if stdin else name
    if not stdin:
        if os.path.isdir(name):
            raise CliError(EXIT_REFUSED, "is a directory -- ignored (use -r to work on the files under it, "
                           "or 'cobol compress-dir' to mirror it into another folder)", name)
        if not os.path.lexists(name):
            raise CliError(EXIT_IO, "No such file or directory", name)
        refuse_non_regular(name)
    if args.mode in ("test", "list"):
        return _Job(name, display, None)
    if args.stdout or (args.output in (None, "-") and stdin and not args.output_dir_flat) or args.output == "-":
        return _Job(name, display, "-")
    if not stdin and os.path.islink(name) and not args.force:
        # zstd's (and gzip's) rule: FILE.cobl would hold the target's data under the link's name
        raise CliError(EXIT_REFUSED, "is a symbolic link -- ignored (use -f or -c)", name)
    if args.output is not None:
        dst = args.output
    elif args.mode == "compress":
        if name.endswith(SUFFIX) and not args.force and not stdin:
            raise CliError(EXIT_REFUSED, f"already has the {SUFFIX} suffix -- unchanged (use -f to compress it anyway)", name)
        dst = ("stdin" if stdin else name) + SUFFIX
    else:
        if not name.endswith(SUFFIX) or len(name) == len(SUFFIX) or name.endswith("/" + SUFFIX):
            raise CliError(EXIT_REFUSED, f"unknown suffix (not {SUFFIX}) -- ignored (use -o or -c)", name)
        dst = name[: -len(SUFFIX)]
    if args.output_dir_flat:
        os.makedirs(args.output_dir_flat, exist_ok=True)
        dst = os.path.join(args.output_dir_flat, os.path.basename(dst))
    if not stdin and os.path.exists(dst) and os.path.samefile(name, dst):
        raise CliError(EXIT_REFUSED, "input and output are the same file", name)
    force = args.force
    if os.path.lexists(dst) and not force:
        if not stdin and is_tty(sys.stdin) and is_tty(sys.stderr) and Verbosity.level >= 2:
            if not _ask_overwrite(dst):
                raise _Skip(EXIT_USAGE)  # zstd: 1 when the user says no
            force = True
        else:
            raise CliError(EXIT_REFUSED, "already exists (use -f to overwrite)", dst)
    return _Job(name, display, dst, force)


def _check_terminals(job: _Job, args) -> None:
    if job.dst == "-" and args.mode == "compress" and is_tty(sys.stdout) and not args.force:
        raise CliError(EXIT_REFUSED, "stdout is a terminal: compressed data not written to it (use -f to force, "
                       "or redirect)", job.display)
    if job.src == "-" and is_tty(sys.stdin) and not args.force:
        if args.mode == "compress":
            raise CliError(EXIT_REFUSED, "stdin is a console, aborting (give a FILE, pipe data in, or -f)", path="")
        raise CliError(EXIT_REFUSED, "stdin is a console: compressed data not read from it", job.display)


def _expand_inputs(args) -> list[str]:
    """The inputs, with folders walked under -r (sorted; symbolic links not followed)
    and already-compressed ones dropped under --exclude-compressed."""
    names = []
    for name in args.files or ["-"]:
        if args.recursive and name != "-" and os.path.isdir(name):
            for root, dirs, files in os.walk(name):
                dirs.sort()
                for f in sorted(files):
                    path = os.path.join(root, f)
                    if os.path.islink(path) or not os.path.isfile(path):
                        continue
                    if (args.mode == "decompress") != path.endswith(SUFFIX) and args.mode != "test" \
                            and args.mode != "list":
                        continue  # -r: compress what is not .cobl, decompress what is
                    if args.mode in ("test", "list") and not path.endswith(SUFFIX):
                        continue
                    names.append(path)
        else:
            names.append(name)
    if args.exclude_compressed and args.mode == "compress":
        kept = []
        for n in names:
            if n != "-" and n.lower().endswith(COMPRESSED_SUFFIXES):
                if Verbosity.level >= 3:
                    print(f"cobol: {n}: already compressed -- ignored (--exclude-compressed)", file=sys.stderr)
            else:
                kept.append(n)
        names = kept
    return names


def _open_input(job: _Job, args):
    """(file object, is regular, size or None)."""
    if job.src == "-":
        return sys.stdin.buffer, False, None
    import stat as _stat
    src = open(job.src, "rb")
    st = os.fstat(src.fileno())
    regular = _stat.S_ISREG(st.st_mode)
    if not regular and not args.force and job.dst not in ("-", None):
        src.close()
        raise CliError(EXIT_REFUSED, "not a regular file -- ignored (use -f or -c)", job.display)
    return src, regular, (st.st_size if regular else None)


def _run_job(job: _Job, args, engine, want_progress: bool | None) -> dict:
    """Compress / decompress / test one input; returns its summary. The clock
    starts here, at this file's own work."""
    t0 = time.perf_counter()
    src, regular, size = _open_input(job, args)
    compressing = args.mode == "compress"
    passed_through = False
    try:
        show = bool(want_progress) and (args.progress or (size is not None and size >= PROGRESS_MIN_BYTES))
        line = ProgressLine(show, size, os.path.basename(job.display), compressing, interval=PROGRESS_INTERVAL,
                            block_size=engine.block_size if compressing else None)
        reader = src
        if not compressing:
            head = _read_head(src, len(_MAGIC))
            if not head.startswith(_MAGIC) and not (head == b"" and job.src == "-"):
                if job.dst == "-" and args.force and args.mode == "decompress":
                    passed_through = True  # zstd -dcf: what is not ours goes through as it is
                else:
                    raise not_cobl_error(head, job.display)
            reader = _Prefixed(head, src)
            if show:
                reader = _Counter(reader, line.done_stored)
        step = line.done_raw if show else None

        def work(dst_file):
            out = _Counter(dst_file, line.done_stored) if show and compressing else dst_file
            if passed_through:
                import shutil
                n = 0
                while True:
                    b = reader.read(1 << 20)
                    if not b:
                        return n, n
                    out.write(b)
                    n += len(b)
            if compressing:
                return engine.compress_stream(reader, out, progress=step)
            try:
                return engine.decompress_stream(reader, out, progress=step)
            except TruncatedError as e:
                if regular:
                    raise explain_truncation(job.src, e) from None
                raise
        try:
            if job.dst is None:
                n_in, n_out = work(_NullWriter())
            elif job.dst == "-":
                out = _FullWriter(sys.stdout.buffer)
                n_in, n_out = work(out)
                out.flush()
            else:
                with _AtomicOutput(job.dst, job.force, job.src if regular else None) as atomic:
                    n_in, n_out = work(_FullWriter(atomic.file))
                    atomic.commit()
        finally:
            line.close()
    finally:
        if src is not sys.stdin.buffer:
            src.close()
    removed = False
    if job.dst not in (None, "-") and args.remove and job.src != "-":
        os.unlink(job.src)
        removed = True
    seconds = time.perf_counter() - t0
    raw = n_in if compressing else n_out
    stored = n_out if compressing else n_in
    return {"file": job.display, "output": {"-": "stdout", None: None}.get(job.dst, job.dst),
            "mode": args.mode, "ok": True, "raw_size": raw, "compressed_size": stored,
            "ratio": round(raw / stored, 4) if stored else 0.0, "seconds": round(seconds, 4),
            "mib_per_s": round(raw / MB / seconds, 2) if seconds > 0 else 0.0, "removed_input": removed,
            "passed_through": passed_through}


#: bytes of the first input compressed once before the clocks start (see _warm_up)
WARM_UP_BYTES = 64 << 10


def _warm_up(engine, names) -> None:
    """Compress the start of the first regular input once, untimed, so that the
    one-time loading of modules and compiled kernels (about 1-2 s for the first
    block of a format) is not counted in the first file's speed. Only when
    speeds are shown (-v, --json); the output is thrown away."""
    for name in names:
        if name != "-" and os.path.isfile(name) and not os.path.islink(name):
            t0 = time.perf_counter()
            try:
                with open(name, "rb") as f:
                    engine.compress(f.read(WARM_UP_BYTES))
            except (OSError, CobolError):
                return  # the real run reports it
            if Verbosity.level >= 4:
                print(f"cobol: warm-up (modules, compiled kernels): {time.perf_counter() - t0:.2f} s, "
                      "not counted in the per-file speeds", file=sys.stderr)
            return


def _speed(s: dict) -> str:
    return f", {s['seconds']:.2f} s, {s['mib_per_s']:.1f} MiB/s" if Verbosity.level >= 3 else ""


def summary_line(s: dict) -> str:
    """zstd's line: ``FILE : 23.45%   (  1.00 MiB =>   240 KiB, FILE.cobl)`` for
    compression, ``FILE : N bytes`` for decompression, ``FILE : OK (...)`` for -t."""
    name = f"{s['file']:<20} :"
    if s["mode"] == "test":
        return f"{name} OK ({short_size(s['compressed_size'])} => {short_size(s['raw_size'])}{_speed(s)})"
    if s["mode"] == "decompress":
        note = " (not .cobl: passed through)" if s.get("passed_through") else ""
        return f"{name} {s['raw_size']} bytes{note}" + (f" ({_speed(s)[2:]})" if _speed(s) else "")
    pct = 100.0 * s["compressed_size"] / s["raw_size"] if s["raw_size"] else 100.0
    return (f"{name} {pct:.2f}%   ({short_size(s['raw_size']):>9} => {short_size(s['compressed_size']):>9}, "
            f"{s['output']}{_speed(s)})")


def total_line(done: list, mode: str) -> str:
    n = len(done)
    raw = sum(s["raw_size"] for s in done)
    stored = sum(s["compressed_size"] for s in done)
    if mode == "compress":
        pct = 100.0 * stored / raw if raw else 100.0
        return f"{n:3d} files compressed : {pct:.2f}% ({short_size(raw):>9} => {short_size(stored):>9})"
    if mode == "test":
        return f"{n} files tested OK : {raw} bytes total"
    return f"{n} files decompressed : {raw} bytes total"


def run_files(args) -> int:
    level = args.verbose - args.quiet + 2
    data_to_stdout = args.mode in ("compress", "decompress") and (
        args.stdout or args.output == "-" or (args.output is None and not args.output_dir_flat
                                              and (not args.files or "-" in args.files)))
    if data_to_stdout and args.verbose == 0 and level >= 2:
        level = 1  # zstd: with data on stdout, only errors unless -v
    Verbosity.level = level
    if args.mode == "compress":
        args.level = resolve_level(args)
    files = _expand_inputs(args)
    if args.output is not None and len(files) > 1:
        raise CliError(EXIT_USAGE, "-o takes one input file; use -c to concatenate several")
    if args.output is not None and args.stdout:
        raise CliError(EXIT_USAGE, "-o and -c exclude each other")
    if args.output_dir_flat and (args.output is not None or args.stdout):
        raise CliError(EXIT_USAGE, "--output-dir-flat and -o/-c exclude each other")
    if args.mode in ("test", "list") and (args.output is not None or args.stdout):
        raise CliError(EXIT_USAGE, f"{'-t' if args.mode == 'test' else '--list'} writes no data; drop -o/-c")
    if files.count("-") > 1:
        raise CliError(EXIT_USAGE, "standard input can be given only once")
    engine = _make_engine(args) if args.mode != "list" else None
    if args.mode == "compress" and (Verbosity.level >= 3 or args.json):
        _warm_up(engine, files)
    report = sys.stderr if data_to_stdout else sys.stdout
    want_progress = Verbosity.level >= 2 and args.progress is not False and (args.progress or is_tty(sys.stderr))
    summaries = []
    listed = []
    worst = EXIT_OK
    for name in files:
        try:
            if args.mode == "list":
                job = _plan_job(name, args)
                _check_terminals(job, args)
                from . import listing  # frame facts: cobol.info and the checksums
                info = listing.list_one(name)
                listed.append(("stdin" if name == "-" else name, info))
                continue
            job = _plan_job(name, args)
            _check_terminals(job, args)
            s = _run_job(job, args, engine, want_progress)
            summaries.append(s)
            if not args.json and Verbosity.level >= 2:
                print(summary_line(s), file=sys.stderr)
        except KeyboardInterrupt:
            raise
        except BrokenPipeError:
            raise
        except _Skip as e:
            worst = max(worst, e.code)
        except Exception as e:  # one line per failure, then the next file
            if os.environ.get("COBOL_TRACEBACK") and code_for(e) == EXIT_INTERNAL:
                raise
            if args.mode == "list" and isinstance(e, CobolError) and name != "-":
                e = _explain_list_error(name, e)
            code = code_for(e)
            path = getattr(e, "path", None)  # "" = a message about no file in particular
            if path is None:
                path = "stdin" if name == "-" else name
            if isinstance(e, OSError) and e.filename and not isinstance(e, CliError):
                path = e.filename
            say_error(path, message_for(e))
            worst = max(worst, code)
            summaries.append({"file": "stdin" if name == "-" else name, "mode": args.mode, "ok": False,
                              "exit_code": code, "error": message_for(e)})
    done = [s for s in summaries if s.get("ok")]
    if args.mode == "list":
        from . import listing
        if args.json:
            listing.print_json(listed, [s for s in summaries if not s["ok"]], args.verbose > 0)
        elif listed:
            listing.print_list(listed, args.verbose > 0)
    elif args.json:
        import json
        json.dump(summaries, report, indent=1)
        print(file=report)
    elif len(done) > 1 and Verbosity.level >= 2:
        print(total_line(done, args.mode), file=sys.stderr)
    return worst


def _explain_list_error(name: str, e: CobolError):
    """--list reads the file through frame_info: put the same words on its failures."""
    try:
        with open(name, "rb") as f:
            head = f.read(len(_MAGIC))
    except OSError:
        return e
    if not head.startswith(_MAGIC):
        return not_cobl_error(head, name)
    if isinstance(e, TruncatedError):
        return explain_truncation(name, e)
    return e
