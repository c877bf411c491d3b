"""``cobol.open``: binary (and text) file objects over .cobl frames,
with the habits of ``gzip.open`` and ``zstandard.open``."""

from __future__ import annotations

import builtins
import io
import os

from .engine import CobolEngine, FrameReader, FrameWriter
from .errors import LimitError
from .format.frame import DataBlock


class _RawDecompressReader(io.RawIOBase):
    """Raw reader that decodes one block at a time (BufferedReader adds readline etc.).

    Seeking (when the underlying file can seek): within the decoded block it is
    free; forward it walks the records without decoding the blocks it passes;
    backward past the current block it rewinds to where the stream started and
    walks forward again, still decoding only the block that holds the target
    (gzip re-decompresses everything from the start instead).
    """

    def __init__(self, fileobj, engine: CobolEngine, max_output_size: int | None):
        self._fileobj = fileobj
        self._engine = engine
        self._max = max_output_size
        self._out = 0  # bytes decoded so far (what max_output_size bounds)
        try:
            self._origin = fileobj.tell() if fileobj.seekable() else None
        except (AttributeError, OSError):
            self._origin = None
        self._restart()

    def _restart(self) -> None:
        self._records = iter(FrameReader(self._fileobj, self._engine.limits))
        self._block = memoryview(b"")
        self._block_start = 0  # raw offset of self._block
        self._next_raw = 0  # raw offset of the next block the records will give
        self._offset = 0  # position inside self._block
        self._eof = False

    def readable(self):
        return True

    def seekable(self):
        return self._origin is not None

    def tell(self):
        return self._block_start + self._offset

    def _next_block(self):
        """The next data block record (not decoded) and its raw offset; None at the end."""
        while not self._eof:
            try:
                header, rec = next(self._records)
            except StopIteration:
                self._eof = True
                return None
            if isinstance(rec, DataBlock):
                start = self._next_raw
                self._next_raw += rec.raw_len
                return header, rec, start
        return None

    def _load(self, header, rec, start: int) -> None:
        if self._max is not None and self._out + rec.raw_len > self._max:
            raise LimitError(f"output would exceed max_output_size={self._max} at block {rec.seq}")
        self._block = memoryview(self._engine.decode_block(rec, header))
        self._out += rec.raw_len
        self._block_start = start
        self._offset = 0

    def readinto(self, b):
        while self._offset >= len(self._block):
            nxt = self._next_block()
            if nxt is None:
                return 0
            self._load(*nxt)
        n = min(len(b), len(self._block) - self._offset)
        b[:n] = self._block[self._offset:self._offset + n]
        self._offset += n
        return n

    def seek(self, offset, whence=io.SEEK_SET):
        if not self.seekable():
            raise io.UnsupportedOperation("the underlying file cannot seek")
        if whence == io.SEEK_CUR:
            offset += self.tell()
        elif whence == io.SEEK_END:
            while self._next_block() is not None:  # walk to the end, decoding nothing
                pass
            offset += self._next_raw
        elif whence != io.SEEK_SET:
            raise ValueError(f"invalid whence ({whence}, should be 0, 1 or 2)")
        if offset < 0:
            raise ValueError(f"negative seek position {offset}")
        if self._block_start <= offset <= self._block_start + len(self._block):
            self._offset = offset - self._block_start
            return offset
        if offset < self._next_raw:  # behind the records already walked (SEEK_END walks them all)
            self._fileobj.seek(self._origin)
            self._restart()
        while True:
            nxt = self._next_block()
            if nxt is None:  # past the end: positioned at EOF, as files are
                self._block, self._block_start, self._offset = memoryview(b""), self._next_raw, 0
                return self._next_raw
            _header, rec, start = nxt
            if offset < start + rec.raw_len:
                self._load(*nxt)
                self._offset = offset - start
                return offset


class CobolFile(io.BufferedIOBase):
    """A binary file object reading or writing one .cobl stream."""

    def __init__(self, filename=None, mode: str = "rb", *, fileobj=None, engine: CobolEngine | None = None,
                 max_output_size: int | None = None, **engine_kwargs):
        mode = mode.replace("b", "")
        if mode not in ("r", "w", "x", "a"):
            raise ValueError(f"invalid mode {mode!r}")
        self._mode = mode
        self._close_fileobj = fileobj is None
        if fileobj is None:
            fileobj = builtins.open(filename, mode + "b")
        self._fileobj = fileobj
        self.name = getattr(fileobj, "name", filename)
        self._engine = engine or CobolEngine(**engine_kwargs)
        if mode == "r":
            self._reader = io.BufferedReader(_RawDecompressReader(fileobj, self._engine, max_output_size),
                                             buffer_size=1 << 16)
            self._writer = None
        else:
            self._reader = None
            self._writer = FrameWriter(self._engine, fileobj)
            self._pending = bytearray()
            self._window = self._engine.block_size * max(1, self._engine.threads)

    # -- io plumbing
    def readable(self):
        return self._reader is not None

    def writable(self):
        return self._writer is not None

    def seekable(self):
        return self._reader is not None and not self.closed and self._reader.seekable()

    def tell(self):
        """The position in the uncompressed stream (bytes written so far when writing)."""
        if self.closed:
            raise ValueError("I/O operation on closed file")
        if self._reader is not None:
            return self._reader.tell()
        return self._writer.bytes_in + len(self._pending)

    def seek(self, offset, whence=io.SEEK_SET):
        """Move in the uncompressed stream (read mode, seekable underlying file):
        see :class:`_RawDecompressReader` for the cost of each direction."""
        self._check(True)
        if not self._reader.seekable():
            raise io.UnsupportedOperation("seek needs a seekable underlying file")
        return self._reader.seek(offset, whence)

    def _check(self, reading: bool):
        if self.closed:
            raise ValueError("I/O operation on closed file")
        if reading and self._reader is None:
            raise io.UnsupportedOperation("file not open for reading")
        if not reading and self._writer is None:
            raise io.UnsupportedOperation("file not open for writing")

    def read(self, size=-1):
        self._check(True)
        return self._reader.read(size)

    def read1(self, size=-1):
        self._check(True)
        return self._reader.read1(size)

    def readinto(self, b):
        self._check(True)
        return self._reader.readinto(b)

    def readline(self, size=-1):
        self._check(True)
        return self._reader.readline(size)

    def peek(self, n=0):
        self._check(True)
        return self._reader.peek(n)

    def write(self, data):
        self._check(False)
        mv = memoryview(data).cast("B")
        self._pending += mv
        if len(self._pending) >= self._window + self._engine.block_size:
            self._drain(final=False)
        return len(mv)

    def _drain(self, final: bool):
        from .engine import split_blocks
        bs = self._engine.block_size
        buf = bytes(self._pending)
        spans = split_blocks(buf, bs)
        ready = [sp for sp in spans if final or sp[0] + bs <= len(buf)]
        if ready:
            self._writer.write_blocks([buf[a:b] for a, b in ready])
            del self._pending[:ready[-1][1]]

    def flush(self):
        # Blocks are only cut when full (or at close) so that the output does not
        # depend on how the caller chunked its writes.
        if self._writer is not None and not self.closed and not self._fileobj.closed:
            self._fileobj.flush()

    def close(self):
        if self.closed:
            return
        try:
            if self._writer is not None:
                self._drain(final=True)
                self._writer.close()
                self._fileobj.flush()
        finally:
            try:
                if self._close_fileobj:
                    self._fileobj.close()
            finally:
                super().close()

    def fileno(self):
        return self._fileobj.fileno()


def open(filename, mode: str = "rb", *, encoding=None, errors=None, newline=None, **kwargs):
    """Open a .cobl file in binary ("rb", "wb", "xb", "ab") or text ("rt", "wt", ...) mode.

    ``filename`` may be a path or an existing binary file object. Keyword
    arguments go to :class:`CobolEngine` (level, threads, ...) or to
    ``max_output_size`` when reading. Appending adds a new frame; concatenated
    frames read back as one stream.
    """
    if "t" in mode:
        if "b" in mode:
            raise ValueError(f"invalid mode {mode!r}")
    elif encoding is not None or errors is not None or newline is not None:
        raise ValueError("encoding, errors and newline are for text mode only")
    bmode = mode.replace("t", "")
    if isinstance(filename, (str, bytes, os.PathLike)):
        f = CobolFile(filename, bmode, **kwargs)
    elif hasattr(filename, "read") or hasattr(filename, "write"):
        f = CobolFile(None, bmode, fileobj=filename, **kwargs)
    else:
        raise TypeError("filename must be a str, bytes or path object, or a file object")
    if "t" in mode:
        return io.TextIOWrapper(f, encoding, errors, newline)
    return f
