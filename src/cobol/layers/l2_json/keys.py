"""Key interning and first-appearance numbering (exact, hash-table kernels)."""

from __future__ import annotations

import numpy as np
from numba import njit

from .. import json_tokenizer as jt
from .paths import _mix


@njit(cache=True, nogil=True, inline="always")
def _fnv(buf, a, b):
    """FNV-1a 64 on int64 with a final fold ``h ^ (h >> 29)`` (arithmetic
    shift): a different result from :func:`cobol.layers.primitives.fnv1a64`,
    kept as this layer's own key hash (the decode walk recomputes it inline
    while it unescapes keys)."""
    h = np.int64(-3750763034362895579)
    for i in range(a, b):
        h = (h ^ np.int64(buf[i])) * np.int64(1099511628211)
    return h ^ (h >> 29)


@njit(cache=True, nogil=True)
def _intern_spans_kernel(buf, a, b, grp, cap):
    """Exact interning of the byte strings buf[a[i]:b[i]] within groups grp[i].

    Returns (id per item, numbered in first-appearance order; per id: count,
    first item, FNV hash of the bytes (= :func:`_fnv`), group; the number of
    ids, -1 when more than cap / 2 turn up)."""
    n = a.size
    ids = np.empty(n, np.int64)
    table = np.full(cap, -1, np.int64)
    mask = cap - 1
    m = cap // 2
    ids_first = np.empty(m, np.int64)
    ids_hash = np.empty(m, np.int64)
    ids_grp = np.empty(m, np.int64)
    ids_count = np.zeros(m, np.int64)
    nid = 0
    for j in range(n):
        x = a[j]
        y = b[j]
        g = grp[j]
        h = _fnv(buf, x, y)
        slot = _mix(h, g) & mask
        found = -1
        for _ in range(cap):
            e = table[slot]
            if e < 0:
                if nid >= m:
                    return ids, ids_count, ids_first, ids_hash, ids_grp, -1
                table[slot] = nid
                ids_first[nid] = j
                ids_hash[nid] = h
                ids_grp[nid] = g
                found = nid
                nid += 1
                break
            if ids_hash[e] == h and ids_grp[e] == g:
                j0 = ids_first[e]
                x0 = a[j0]
                same = (b[j0] - x0) == (y - x)
                if same:
                    for q in range(y - x):
                        if buf[x0 + q] != buf[x + q]:
                            same = False
                            break
                if same:
                    found = e
                    break
            slot = (slot + 1) & mask
        ids[j] = found
        ids_count[found] += 1
    return ids, ids_count[:nid], ids_first[:nid], ids_hash[:nid], ids_grp[:nid], nid


def _intern_spans(buf, a, b, grp):
    """See :func:`_intern_spans_kernel` (retried with bigger tables as needed)."""
    for cap in _table_sizes(a.size):
        ids, count, first, hashes, groups, n = _intern_spans_kernel(buf, a, b, grp, cap)
        if n >= 0:
            return ids, count, first, hashes, groups
    raise AssertionError("unreachable: the last table holds every item")


def _intern_keys(buf, kinds, starts):
    """Key tokens and their exact interning (see :func:`_intern_spans`)."""
    ktok = np.flatnonzero(kinds == jt.KEY)
    a = starts[ktok].astype(np.int64) + 1
    b = starts[ktok + 1].astype(np.int64) - 1
    kid, count, first, khash, _ = _intern_spans(buf, a, b, np.zeros(ktok.size, np.int64))
    return ktok, kid, count, first, khash


@njit(cache=True, nogil=True)
def _first_appearance_kernel(h, cap):
    """Distinct ids of ``h`` numbered in order of first appearance, and counts;
    ``cap`` (a power of two) sizes the hash table: returns nd = -1 when more
    than cap / 2 distinct values turn up (the caller retries bigger)."""
    n = h.size
    mask = cap - 1
    keys = np.empty(cap, np.int64)
    vals = np.full(cap, -1, np.int64)
    ids = np.empty(n, np.int64)
    counts = np.zeros(cap // 2 + 1, np.int64)
    nd = 0
    for i in range(n):
        x = h[i]
        slot = (x ^ (x >> 17)) & mask
        for _ in range(cap):
            v = vals[slot]
            if v < 0:
                if nd >= cap // 2:
                    return ids, counts, -1
                keys[slot] = x
                vals[slot] = nd
                ids[i] = nd
                nd += 1
                break
            if keys[slot] == x:
                ids[i] = v
                break
            slot = (slot + 1) & mask
        counts[ids[i]] += 1
    return ids, counts[:nd], nd


def _table_sizes(n: int):
    """Hash table sizes to try for n items: small first (few distinct values is
    the common case, and a table sized for n would cost memory per item)."""
    full = 16
    while full < 2 * n + 16:
        full *= 2
    cap = min(1 << 16, full)
    while True:
        yield cap
        if cap >= full:
            return
        cap = min(cap * 16, full)


def _first_appearance(h):
    for cap in _table_sizes(h.size):
        ids, counts, nd = _first_appearance_kernel(h, cap)
        if nd >= 0:
            return ids, counts
    raise AssertionError("unreachable: the last table holds every value")


@njit(cache=True, nogil=True)
def _key_hashes(kdata, koff):
    n = koff.size - 1
    out = np.empty(n, np.int64)
    for i in range(n):
        out[i] = _fnv(kdata, koff[i], koff[i + 1])
    return out
