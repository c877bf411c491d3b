"""Sources for the sender that can stall (pipes, terminals, sockets).

A regular file never stalls: a read returns what was asked for or the end.
A pipe returns when its writer writes, which may be much later; the sender
must still cut and send what it has once ``StreamingConfig.max_delay`` has
passed, so that an interactive stream (a log being written line by line)
reaches the receiver promptly. :class:`StallingSource` reads on a thread of
its own -- the shell's thread, not the sans-IO core's -- and hands the bytes
over through a bounded queue, so the sender can wait with a timeout.
"""

from __future__ import annotations

import os
import queue
import stat
import threading

#: bytes one read on the thread asks for (a pipe returns what it has, up to this)
CHUNK = 256 * 1024
#: reads queued ahead of the sender at most (bounds the memory: QUEUE_DEPTH x CHUNK)
QUEUE_DEPTH = 16
_EOF = b""


def can_stall(source) -> bool:
    """Whether reading ``source`` may block for a while with data pending: true
    for pipes, FIFOs, terminals and sockets; false for regular files and
    in-memory objects."""
    try:
        mode = os.fstat(source.fileno()).st_mode
    except (AttributeError, OSError, ValueError):
        return False  # BytesIO and the like: everything is already there
    return not stat.S_ISREG(mode) and not stat.S_ISBLK(mode)


class StallingSource:
    """Wraps a binary file object that may stall: ``read_timeout(n, timeout)``
    returns up to ``n`` bytes, b"" at the end, or None when nothing arrived
    within ``timeout`` seconds (None: wait as long as it takes)."""

    def __init__(self, raw):
        self.raw = raw
        self._queue: queue.Queue = queue.Queue(maxsize=QUEUE_DEPTH)
        self._left = b""
        self._eof = False
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._pull, name="cobol-source", daemon=True)
        self._thread.start()

    def _pull(self) -> None:
        read = getattr(self.raw, "read1", None) or self.raw.read
        try:
            while True:
                b = read(CHUNK)
                self._queue.put(bytes(b) if b else _EOF)
                if not b:
                    return
        except BaseException as exc:  # handed to the reader
            self._queue.put(exc)

    def _take(self, item) -> bytes:
        if isinstance(item, BaseException):
            self._eof = True
            raise item
        if not item:
            self._eof = True
        return item

    def read_timeout(self, n: int, timeout: float | None):
        if self._left:
            out, self._left = self._left[:n], self._left[n:]
            return out
        if self._eof:
            return b""
        try:
            first = self._take(self._queue.get(timeout=timeout))
        except queue.Empty:
            return None
        parts, size = [first], len(first)
        while first and size < n:  # whatever else has arrived, without waiting
            try:
                b = self._take(self._queue.get_nowait())
            except queue.Empty:
                break
            if not b:
                break
            parts.append(b)
            size += len(b)
        data = b"".join(parts)
        out, self._left = data[:n], data[n:]
        return out

    def read(self, n: int = -1) -> bytes:
        """Blocking read (for code that does not know about timeouts)."""
        out = self.read_timeout(CHUNK if n is None or n < 0 else n, None)
        return out if out is not None else b""

    def seekable(self) -> bool:
        return False
