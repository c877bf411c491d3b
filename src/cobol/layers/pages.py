"""Transparent huge pages for large buffers (Linux).

A large buffer fresh from the kernel takes a page fault per 4 KiB when first
written: ~2.4 us each on the shared virtual machine this was measured on, a
fifth of a JSON lines compress and a quarter of a 20 MB decode. Advised with
``madvise(MADV_HUGEPAGE)`` before it is written, it takes one per 2 MiB
(where the kernel's transparent huge pages are in ``madvise`` or ``always``
mode). NumPy advises its own arrays of 4 MiB and up the same way; this module
does it for buffers NumPy does not make (the ``bytes`` a decode returns) and
for arrays between HUGEPAGE_SCRATCH_MIN and NumPy's threshold (:func:`empty`).
Only an advice: where huge pages are off, or the call fails, nothing changes.
"""

from __future__ import annotations

import ctypes
import sys

import numpy as np

#: buffers of at least this many bytes are advised (NumPy's threshold for its arrays)
HUGEPAGE_MIN = 4 << 20
#: :func:`empty` advises arrays from this size (a 2 MiB-aligned huge page fits
#: inside one of 4 MiB less a page whatever its alignment; from 2 MiB on, half the time)
HUGEPAGE_SCRATCH_MIN = 2 << 20
_MADV_HUGEPAGE = 14  # (Linux, every architecture)
_PAGE = 4096


def _bind_madvise():
    """libc's madvise, or None (not Linux, or not found)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn = ctypes.CDLL(None, use_errno=True).madvise
    except (AttributeError, OSError):
        return None
    fn.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
    fn.restype = ctypes.c_int
    return fn


_MADVISE = _bind_madvise()


def advise_huge_pages(address: int, size: int, min_size: int = HUGEPAGE_MIN) -> None:
    """Advise the whole pages inside ``size`` bytes at ``address`` as
    transparent huge pages, when ``size`` >= ``min_size``; errors are ignored."""
    if _MADVISE is None or size < min_size:
        return
    start = -(-address // _PAGE) * _PAGE
    end = (address + size) // _PAGE * _PAGE
    if end > start:
        _MADVISE(start, end - start, _MADV_HUGEPAGE)


def empty(shape, dtype) -> np.ndarray:
    """``np.empty(shape, dtype)``, advised as huge pages from
    HUGEPAGE_SCRATCH_MIN bytes (for a kernel's large outputs: arrays a kernel
    allocates itself come from Numba's allocator, which never advises)."""
    a = np.empty(shape, dtype)
    if a.nbytes < HUGEPAGE_MIN:
        advise_huge_pages(a.ctypes.data, a.nbytes, HUGEPAGE_SCRATCH_MIN)
    return a
