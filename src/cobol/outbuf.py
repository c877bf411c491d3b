"""Output buffers that decoders fill in place and hand back as ``bytes`` without a copy.

A block's decoder (the transform's kernel) writes the block straight into the
frame's output, as a writable uint8 NumPy array of the output's length plus
``slack`` spare bytes (the engine asks for ``registry.OUTPUT_SLACK``: the
kernels copy in 16-byte moves and may write up to 15 bytes past the end). Turning a NumPy array
into the ``bytes`` that ``decompress`` returns would copy it (8 MiB a block:
a memcpy and, as the allocator often hands back fresh pages, a page fault per
4 KiB of the copy, 17-21% of decode time on the dev corpus).

So on CPython the array is a view of a new ``bytes`` object: made with
``PyBytes_FromStringAndSize(NULL, n + slack)``, written through the view, then
shrunk to ``n`` with ``_PyBytes_Resize`` (both documented C API, called
through ``ctypes`` while the only reference to the object is this buffer's, as
a C extension builds its results). Nothing else sees the object before
:meth:`OutputBuffer.finish` returns it. Where that API is not there (PyPy) or
the self-check below fails, the buffer is a NumPy array and ``finish`` copies.

The buffers are not advised as transparent huge pages (cobol.layers.pages does
that for the encoder's scratch arrays, as NumPy does for its own): a block decoded
into fresh memory takes a page fault per 4 KiB it writes (5,035 for the 20 MB of
mdn-browser-compat-data, ~2.4 us each on a virtual machine), but with huge pages
the first large decode of a process paid for the kernel's direct compaction
(defrag=madvise, the default): 125-150 MB/s instead of 318 on 112 MB of corpus
files, later decodes 373 instead of 345.

>>> buf = OutputBuffer(5, slack=16)
>>> buf.array[:5] = 104, 101, 108, 108, 111
>>> buf.finish()
b'hello'
"""

from __future__ import annotations

import ctypes
import sys

import numpy as np



def _bind_c_api():
    """The four C functions, or None where ctypes.pythonapi does not offer them."""
    try:
        api = ctypes.pythonapi
        new = ctypes.PYFUNCTYPE(ctypes.c_void_p, ctypes.c_char_p, ctypes.c_ssize_t)(
            ("PyBytes_FromStringAndSize", api))
        data = ctypes.PYFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p)(("PyBytes_AsString", api))
        resize = ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_void_p), ctypes.c_ssize_t)(
            ("_PyBytes_Resize", api))
        decref = ctypes.PYFUNCTYPE(None, ctypes.c_void_p)(("Py_DecRef", api))
    except (AttributeError, OSError, ValueError):
        return None
    return new, data, resize, decref


_C_API = _bind_c_api() if sys.implementation.name == "cpython" else None

#: outputs shorter than this are a NumPy array copied out by ``finish``: the
#: copy costs less than the ~3 us of ctypes calls that building the bytes
#: object in place takes (a 32 KiB memcpy is ~3 us)
IN_PLACE_MIN = 32 << 10

class OutputBuffer:
    """``n`` bytes of output written in place through :attr:`array` (``n +
    slack`` writable bytes), then :meth:`finish` -> ``bytes`` of the first
    ``n``. Call :meth:`finish` or :meth:`abandon` once; drop every view
    of :attr:`array` before :meth:`finish` (it checks, and copies if one is
    left)."""

    __slots__ = ("n", "array", "_ptr", "_cbuf")

    def __init__(self, n: int, slack: int, in_place: bool = True):
        self.n = n
        self._ptr = None
        self._cbuf = None
        if in_place and _C_API is not None and n >= IN_PLACE_MIN:
            new, data, _, _ = _C_API
            ptr = new(None, n + slack)  # raises MemoryError when it cannot allocate
            if ptr:
                body = _Body(data(ptr), n + slack)
                # not advised as huge pages (layers.pages): with the kernel's default
                # defrag=madvise the first 112 MB decode in a process ran at 125-150
                # MB/s instead of 318 (direct compaction), later ones 373 instead of 345
                self._ptr, self._cbuf = ptr, body
                self.array = np.asarray(body)
                return
        self.array = np.empty(n + slack, np.uint8)

    def finish(self) -> bytes:
        """The first ``n`` bytes, as a bytes object (the buffer is spent)."""
        arr, self.array = self.array, None
        if self._ptr is None:
            return arr[:self.n].tobytes()
        del arr
        cbuf, self._cbuf = self._cbuf, None
        ptr, self._ptr = self._ptr, None
        _, _, resize, decref = _C_API
        if sys.getrefcount(cbuf) > 2:
            # an array still views the body (every NumPy view of the array keeps
            # it, and so cbuf, alive): the body must not move; copy it out
            out = ctypes.string_at(cbuf.address, self.n)
            cbuf.owner = _own(ptr, decref)
            return out
        holder = ctypes.c_void_p(ptr)
        resize(ctypes.byref(holder), self.n)  # frees the object and raises MemoryError on failure
        return _own(holder.value, decref)

    def abandon(self) -> None:
        """Give up the buffer (a decode failed): the bytes object goes to
        Python's care, kept alive as long as any view of the array is."""
        self.array = None
        if self._ptr is not None:
            self._cbuf.owner = _own(self._ptr, _C_API[3])
            self._ptr = self._cbuf = None


def build(n: int, slack: int, fill) -> bytes:
    """``n`` bytes made by ``fill(array)`` writing them into an OutputBuffer's
    array (``n + slack`` bytes); the buffer is abandoned if ``fill`` raises."""
    buf = OutputBuffer(n, slack)
    try:
        fill(buf.array)
    except BaseException:
        buf.abandon()
        raise
    return buf.finish()


class _Body:
    """The writable memory of a bytes object under construction, as NumPy sees
    it (``np.asarray`` makes an array whose base is this object, so every view
    keeps it alive; ``owner`` then keeps the bytes object alive, see abandon)."""

    __slots__ = ("address", "__array_interface__", "owner")

    def __init__(self, address: int, size: int):
        self.address = address
        self.__array_interface__ = {"data": (address, False), "shape": (size,), "typestr": "|u1", "version": 3}
        self.owner = None


def _own(ptr: int, decref):
    """The Python object at ``ptr``, taking over the reference held as a raw pointer."""
    holder = ctypes.c_void_p(ptr)
    obj = ctypes.py_object.from_address(ctypes.addressof(holder)).value
    decref(ptr)
    return obj


def _self_check() -> bool:
    """Whether in-place bytes work here: one small buffer written and finished."""
    try:
        buf = OutputBuffer(3, 16)
        buf.array[:] = np.arange(3 + 16, dtype=np.uint8) + 97
        out = buf.finish()
        return type(out) is bytes and out == b"abc" and sys.getrefcount(out) == 2
    except Exception:  # pragma: no cover - an interpreter without the C API: copy instead
        return False


if _C_API is not None and not _self_check():  # pragma: no cover
    _C_API = None
