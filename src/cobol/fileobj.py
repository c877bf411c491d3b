"""``cobol.open``: binary (and text) file objects over .cobl frames,
with the habits of ``gzip.open`` and ``zstandard.open``."""

from __future__ import annotations

import builtins
import io
import os

from .engine import CobolEngine, FrameReader, FrameWriter
from .format.frame import DataBlock


class _RawDecompressReader(io.RawIOBase):
    """Raw reader that decodes one block at a time (BufferedReader adds readline etc.)."""

    def __init__(self, fileobj, engine: CobolEngine, max_output_size: int | None):
        self._records = iter(FrameReader(fileobj, engine.limits))
        self._engine = engine
        self._buf = memoryview(b"")
        self._max = max_output_size
        self._out = 0

    def readable(self):
        return True

    def readinto(self, b):
        while not len(self._buf):
            try:
                header, rec = next(self._records)
            except StopIteration:
                return 0
            if isinstance(rec, DataBlock):
                if self._max is not None and self._out + rec.raw_len > self._max:
                    from .errors import LimitError
                    raise LimitError(f"output would exceed max_output_size={self._max} at block {rec.seq}")
                self._buf = memoryview(self._engine.decode_block(rec, header))
                self._out += rec.raw_len
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n


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
        return False

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
