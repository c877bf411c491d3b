"""Path hashing shared by the encoder's and the decoder's token walks.

A value's column is a hash of its path (keys and array positions from the
root). Both walks keep the same stack of open containers and must compute
bit-identical hashes, so every stack step they share lives here: a change to
one walk's path arithmetic cannot drift from the other's.

The stack is seven parallel arrays indexed by depth (``kind``: 1 object, 2
array; ``hash``: path hash of the container; ``key``: component of the key
just read (``C_NOKEY`` after a comma); ``count``: children so far; ``k0``..
``k2``: the three most recent key components on the path). The helpers are
``inline="always"``, so the hot loops still make no call that takes an array
(numba reference-counts array arguments with atomic operations)."""

from __future__ import annotations

import numpy as np
from numba import njit

from .symbols import C_ARR, C_ROOT, POSITIONAL

@njit(cache=True, nogil=True, inline="always")
def _mix(h, c):
    h = (h ^ c) * np.int64(-7046029254386353131)
    return h ^ (h >> 31)


@njit(cache=True, nogil=True, inline="always")
def _child_comp(depth, top_kind, top_key, top_count, scalar):
    """Path component of a child of the open container (scalars only: the
    arguments are the top-of-stack fields, so no array crosses a call)."""
    if depth == 0:
        return C_ROOT
    if top_kind == 1:
        return top_key
    if scalar and top_count < POSITIONAL:
        return C_ARR + 1 + top_count
    return C_ARR


@njit(cache=True, nogil=True, inline="always")
def _h32(h):
    """Column hashes are kept as 32 bits (a collision only merges two columns)."""
    return (h ^ (h >> 32)) & np.int64(0xFFFFFFFF)


@njit(cache=True, nogil=True, inline="always")
def _suffix_hash(comp, p0, p1, p2, mode):
    """Column hash of a scalar for suffix mode 1..4: its own component, then the
    parent's three most recent key components (generic array steps skipped)."""
    h = _mix(C_ROOT, comp)
    if mode >= 2:
        h = _mix(h, p0)
    if mode >= 3:
        h = _mix(h, p1)
    if mode >= 4:
        h = _mix(h, p2)
    return h
