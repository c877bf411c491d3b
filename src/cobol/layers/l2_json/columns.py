"""Text columns: gathering spans with terminators, per-column scatter and the
stable column order."""

from __future__ import annotations

import numpy as np
from numba import njit
from .symbols import TEXT_TERM



@njit(cache=True, nogil=True)
def _gather_spans(buf, a, b, term):
    """Concatenate buf[a[i]:b[i]] each followed by ``term``."""
    total = 0
    for i in range(a.size):
        total += b[i] - a[i] + 1
    out = np.empty(total, np.uint8)
    p = 0
    for i in range(a.size):
        for q in range(a[i], b[i]):
            out[p] = buf[q]
            p += 1
        out[p] = term
        p += 1
    return out


@njit(cache=True, nogil=True)
def _scatter_text(buf, a, b, col, ncols):
    """Per-column concatenation (in order) of buf[a[i]:b[i]] + '"'; returns the
    buffer and ncols + 1 column offsets."""
    off = np.zeros(ncols + 1, np.int64)
    for i in range(a.size):
        off[col[i] + 1] += b[i] - a[i] + 1
    for c in range(ncols):
        off[c + 1] += off[c]
    cur = off[:-1].copy()
    out = np.empty(off[ncols], np.uint8)
    for i in range(a.size):
        p = cur[col[i]]
        for q in range(a[i], b[i]):
            out[p] = buf[q]
            p += 1
        out[p] = TEXT_TERM
        cur[col[i]] = p + 1
    return out, off


@njit(cache=True, nogil=True)
def _column_spaces(buf, a, b, col, ncols):
    """Per column: the spaces (0x20) in buf[a[i]:b[i]] over the items of that column."""
    spaces = np.zeros(ncols, np.int64)
    for i in range(a.size):
        n = 0
        for q in range(a[i], b[i]):
            n += buf[q] == 32
        spaces[col[i]] += n
    return spaces


@njit(cache=True, nogil=True)
def _group_order(col, ncols):
    """Stable counting sort: indices ordering ``col`` by column, and counts."""
    counts = np.zeros(ncols + 1, np.int64)
    for i in range(col.size):
        counts[col[i] + 1] += 1
    for c in range(ncols):
        counts[c + 1] += counts[c]
    cur = counts[:-1].copy()
    order = np.empty(col.size, np.int64)
    for i in range(col.size):
        c = col[i]
        order[cur[c]] = i
        cur[c] += 1
    return order, counts


def _drop_terms(lengths: np.ndarray) -> np.ndarray:
    """Mask that removes the terminator _gather_spans put after each span."""
    keep = np.ones(int(lengths.sum()) + lengths.size, bool)
    keep[np.cumsum(lengths + 1) - 1] = False
    return keep
