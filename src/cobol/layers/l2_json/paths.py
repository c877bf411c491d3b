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

from .symbols import C_ARR, C_NOKEY, C_ROOT, MAX_PATH_DEPTH, POSITIONAL


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


# ---------------------------------------------------------------- the stack of open containers
@njit(cache=True, nogil=True, inline="always")
def _new_stack(cap):
    """Empty stack arrays for ``cap`` levels: kind, hash, key, count, k0, k1, k2."""
    return (np.empty(cap, np.uint8), np.empty(cap, np.int64), np.empty(cap, np.int64),
            np.empty(cap, np.int64), np.empty(cap, np.int64), np.empty(cap, np.int64),
            np.empty(cap, np.int64))


@njit(cache=True, nogil=True, inline="always")
def _path_hash(depth, parent, comp):
    """Full-path hash of a child at ``depth`` (paths stop growing at MAX_PATH_DEPTH)."""
    return parent if depth >= MAX_PATH_DEPTH else _mix(parent, comp)


@njit(cache=True, nogil=True, inline="always")
def _enter_child(depth, st_kind, st_hash, st_key, st_count, st_k0, st_k1, st_k2, scalar):
    """A new child (container or ``scalar`` value) of the top container: counts
    it there; returns its path component, the parent's path hash and the
    parent's three most recent key components (all C_ROOT at the top level)."""
    if depth > 0:
        top = depth - 1
        comp = _child_comp(depth, st_kind[top], st_key[top], st_count[top], scalar)
        st_count[top] += 1
        return comp, st_hash[top], st_k0[top], st_k1[top], st_k2[top]
    return C_ROOT, C_ROOT, C_ROOT, C_ROOT, C_ROOT


@njit(cache=True, nogil=True, inline="always")
def _push_container(depth, is_object, comp, parent, p0, p1, p2,
                    st_kind, st_hash, st_key, st_count, st_k0, st_k1, st_k2):
    """Open a container at ``depth`` (the values :func:`_enter_child` returned;
    generic array steps do not count as key components). Returns the new depth."""
    st_kind[depth] = 1 if is_object else 2
    st_hash[depth] = _path_hash(depth, parent, comp)
    st_key[depth] = C_NOKEY
    st_count[depth] = 0
    if comp == C_ARR:
        st_k0[depth] = p0
        st_k1[depth] = p1
        st_k2[depth] = p2
    else:
        st_k0[depth] = comp
        st_k1[depth] = p0
        st_k2[depth] = p1
    return depth + 1


@njit(cache=True, nogil=True, inline="always")
def _pop_container(depth, extra):
    """Close the top container; an unmatched closer eats into the block's base
    depth (``extra``) instead. Returns (depth, extra)."""
    if depth > 0:
        return depth - 1, extra
    if extra > 0:
        return depth, extra - 1
    return depth, extra


@njit(cache=True, nogil=True, inline="always")
def _after_comma(depth, st_key):
    """A comma ends the member: the next value of an object needs a new key."""
    if depth > 0:
        st_key[depth - 1] = C_NOKEY


@njit(cache=True, nogil=True, inline="always")
def _set_key(depth, st_kind, st_key, comp):
    """A key read inside an object becomes the component of its next value."""
    if depth > 0 and st_kind[depth - 1] == 1:
        st_key[depth - 1] = comp


@njit(cache=True, nogil=True, inline="always")
def _count_literal(depth, st_count):
    """true/false/null: counted as a child (array positions) but never a column."""
    if depth > 0:
        st_count[depth - 1] += 1
