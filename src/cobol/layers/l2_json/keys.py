"""Key interning and first-appearance numbering (exact, hash-table kernels)."""

from __future__ import annotations

import numpy as np
from numba import njit

from .. import json_tokenizer as jt
from ..primitives import bytes_equal_words, load_u64
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


@njit(cache=True, nogil=True, inline="always")
def _span_word_hash(buf, x, y):
    """A quick hash of buf[x:y] from 8-byte words: the bytes themselves (zero
    padded) for spans of up to 8 bytes not at the block's end, so that equal
    word and length mean equal bytes."""
    ln = y - x
    if ln <= 8:
        if x + 8 <= buf.size:
            w = load_u64(buf, x)
            if ln < 8:
                w &= (np.uint64(1) << np.uint64(8 * ln)) - np.uint64(1)
            return np.int64(w)
        w = np.uint64(0)
        for q in range(ln):
            w |= np.uint64(buf[x + q]) << np.uint64(8 * q)
        return np.int64(w)
    h = np.int64(ln)
    k = x
    while k + 8 < y:
        h = _mix(h, np.int64(load_u64(buf, k)))
        k += 8
    return _mix(h, np.int64(load_u64(buf, y - 8)))  # (the last word overlaps the one before)


@njit(cache=True, nogil=True)
def _intern_spans_kernel(buf, a, b, grp, cap):
    """Exact interning of the byte strings buf[a[i]:b[i]] within groups grp[i].

    Returns (id per item, numbered in first-appearance order; per id: count,
    first item, FNV hash of the bytes (= :func:`_fnv`), group; the number of
    ids, -1 when more than cap / 2 turn up).

    The table is keyed by a quick hash of 8-byte words (:func:`_span_word_hash`;
    spans of up to 8 bytes need no byte compare) and holds it, the length and
    the group beside each id (one cache line per probe); the FNV hash, a
    multiply per byte, is computed once per id (hashing every item with it
    took most of this kernel's time on JSON lines keys)."""
    n = a.size
    ids = np.empty(n, np.int64)
    # per slot: quick hash, (length << 32 | id + 1) (0: empty), group
    table = np.zeros(3 * cap, np.int64)
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
        ln = y - x
        qh = _span_word_hash(buf, x, y)
        slot = _mix(_mix(qh, ln), g) & mask
        found = -1
        for _ in range(cap):
            tag = table[3 * slot + 1]
            if tag == 0:
                if nid >= m:
                    return ids, ids_count, ids_first, ids_hash, ids_grp, -1
                table[3 * slot] = qh
                table[3 * slot + 1] = (ln << 32) | (nid + 1)
                table[3 * slot + 2] = g
                ids_first[nid] = j
                ids_hash[nid] = _fnv(buf, x, y)
                ids_grp[nid] = g
                found = nid
                nid += 1
                break
            if table[3 * slot] == qh and (tag >> 32) == ln and table[3 * slot + 2] == g:
                e = (tag & 0xFFFFFFFF) - 1
                if ln <= 8 or bytes_equal_words(buf, x, a[ids_first[e]], ln):
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


@njit(cache=True, nogil=True)
def _key_spans(kinds, starts):
    """(key tokens, the start and end of each key's content between its quotes)."""
    n = 0
    for t in range(kinds.size):
        n += kinds[t] == jt.KEY
    ktok = np.empty(n, np.int64)
    a = np.empty(n, np.int64)
    b = np.empty(n, np.int64)
    j = 0
    for t in range(kinds.size):
        if kinds[t] == jt.KEY:
            ktok[j] = t
            a[j] = np.int64(starts[t]) + 1
            b[j] = np.int64(starts[t + 1]) - 1
            j += 1
    return ktok, a, b


def _intern_keys(buf, kinds, starts):
    """Key tokens and their exact interning (see :func:`_intern_spans`)."""
    ktok, a, b = _key_spans(kinds, starts)
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
        x = np.int64(h[i])  # (h may be any integer array, strided: a column of the walk's hashes)
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
