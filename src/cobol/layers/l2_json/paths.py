"""Path hashing shared by the encoder's and the decoder's token walks.

A value's column is a hash of its path (keys and array positions from the
root). Both walks keep the same stack of open containers and must compute
bit-identical hashes, so the path arithmetic of every stack step lives here:
a change to one walk's cannot drift from the other's.

The stack is seven parallel arrays indexed by depth (``kind``: 1 object, 2
array; ``hash``: path hash of the container; ``key``: component of the key
just read (``C_NOKEY`` after a comma); ``count``: children so far; ``k0``..
``k2``: the three most recent key components on the path). The helpers take
and return scalars only: numba reference-counts array arguments with atomic
operations, which cost the walks twice their time even in inlined helpers."""

from __future__ import annotations

import numpy as np
from numba import njit
from .symbols import C_ARR, C_NOKEY, C_ROOT, MAX_PATH_DEPTH, POSITIONAL



@njit(cache=True, nogil=True, inline="always")
def _mix(h, c):
    h = (h ^ c) * np.int64(-7046029254386353131)
    return h ^ (h >> 31)


@njit(cache=True, nogil=True)
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


# ---------------------------------------------------------------- the stack of open containers
# (scalars in, scalars out: the walks read and write the stack arrays themselves)
@njit(cache=True, nogil=True)
def _new_stack(cap):
    """Zeroed stack arrays for ``cap`` levels: kind, hash, key, count, k0, k1, k2."""
    return (np.zeros(cap, np.uint8), np.zeros(cap, np.int64), np.zeros(cap, np.int64),
            np.zeros(cap, np.int64), np.zeros(cap, np.int64), np.zeros(cap, np.int64),
            np.zeros(cap, np.int64))


@njit(cache=True, nogil=True, inline="always")
def _path_hash(depth, parent, comp):
    """Full-path hash of a child at ``depth`` (paths stop growing at MAX_PATH_DEPTH)."""
    return parent if depth >= MAX_PATH_DEPTH else _mix(parent, comp)


@njit(cache=True, nogil=True)
def _child_path(depth, kind, key, count, parent_hash, k0, k1, k2, scalar):
    """A new child (container or ``scalar`` value) of the top frame, whose fields
    are the other arguments (ignored at depth 0). Returns its path component,
    the parent's path hash, the parent's three most recent key components (all
    C_ROOT at the top level) and the top frame's new child count."""
    if depth == 0:
        return C_ROOT, C_ROOT, C_ROOT, C_ROOT, C_ROOT, count
    return _child_comp(depth, kind, key, count, scalar), parent_hash, k0, k1, k2, count + 1


@njit(cache=True, nogil=True)
def _open_frame(depth, is_object, comp, parent, p0, p1, p2):
    """The frame a container opens at ``depth`` with the values :func:`_child_path`
    returned: (kind, path hash, key, count, k0, k1, k2); generic array steps do
    not count as key components."""
    h = _path_hash(depth, parent, comp)
    kind = 1 if is_object else 2
    if comp == C_ARR:
        return kind, h, C_NOKEY, 0, p0, p1, p2
    return kind, h, C_NOKEY, 0, comp, p0, p1


@njit(cache=True, nogil=True, inline="always")
def _pop_container(depth, extra):
    """Close the top container; an unmatched closer eats into the block's base
    depth (``extra``) instead. Returns (depth, extra)."""
    if depth > 0:
        return depth - 1, extra
    if extra > 0:
        return depth, extra - 1
    return depth, extra
