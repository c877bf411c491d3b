"""Variables as references to recent ones (log params version 4): Numba kernels.

A version-4 log block stores its skeletons (the variables' texts, see
:mod:`.l2_log`) *move-to-front coded*: the ``refs`` stream holds one byte
per variable, in the skeletons' order. ``0`` means "a new skeleton: the
next item of the stored skeletons stream"; ``r`` in 1..MAX_REF means "the
skeleton at place ``r`` of the recency list". After each variable its
skeleton moves to (or, when new, is put at) the list's front; the list keeps
the MAX_REF most recent entries. Package names, hosts and user names that
come back a few variables later (dpkg's package and version on the lines of
one install) then cost a small rank instead of their text.

:func:`refs_of` is the encoder (exact ranks in one pass: a hash table of
each skeleton's last place and a Fenwick tree over the places that are some
skeleton's latest); :func:`expand_refs` the decoder's inverse, which checks
every rank and every bound (hostile streams). A reader without Numba
(``cobol grep``) has :func:`cobol.layers.log_format.expand_skeletons`, the same
decoding in Python.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .log_format import MAX_REF
from .log_kernels import _DEBRUIJN_INDEX, DEBRUIJN64
from .primitives import FNV64_OFFSET, copy_chunks, fnv1a64_step, spans_equal, table_capacity

NEWLINE = 10


@njit(cache=True, nogil=True)
def _item_hash(buf, a, b):
    h = FNV64_OFFSET
    for i in range(a, b):
        h = fnv1a64_step(h, buf[i])
    return h


@njit(cache=True, nogil=True)
def refs_of(buf, starts, ends, max_ref):
    """The refs of items ``buf[starts[i]:ends[i]]`` (newlines not included),
    in order: 0 for an item not among the ``max_ref`` most recent distinct
    items, else its place (1 = the latest) in that recency list.

    The place of an item last seen at ``j`` is the number of distinct items
    seen since, plus one: a Fenwick tree marks each distinct item's latest
    place, and the count of marks in (j, i) is that number. A hash collision
    between two different items codes the second as new, which keeps the
    count right (the first keeps its mark, as the decoder keeps its entry)."""
    n = starts.shape[0]
    refs = np.zeros(n, np.uint8)
    size = table_capacity(n)
    mask = size - 1
    keys = np.zeros(size, np.uint64)
    last = np.full(size, -1, np.int64)
    tree = np.zeros(n + 1, np.int64)
    for i in range(n):
        a, b = starts[i], ends[i]
        h = _item_hash(buf, a, b) | np.uint64(1)  # (0 marks an empty slot)
        s = np.int64(h & np.uint64(mask))
        while keys[s] != 0 and keys[s] != h:
            s = (s + 1) & mask
        j = last[s] if keys[s] == h else -1
        if j >= 0 and spans_equal(buf, starts[j], ends[j], buf, a, b):
            # marks in (j, i): prefix(i - 1) - prefix(j)
            cnt = 0
            k = i  # prefix over places 0..i-1 = tree indices 1..i
            while k > 0:
                cnt += tree[k]
                k -= k & -k
            k = j + 1
            while k > 0:
                cnt -= tree[k]
                k -= k & -k
            if cnt < max_ref:
                refs[i] = cnt + 1
            k = j + 1
            while k <= n:
                tree[k] -= 1
                k += k & -k
        keys[s] = h
        last[s] = i
        k = i + 1
        while k <= n:
            tree[k] += 1
            k += k & -k
    return refs


#: the recency list is a ring of this many slots (a power of two above
#: MAX_REF): a new skeleton moves the ring's head back one slot (the entry
#: that falls off the list is the one its slot held), a reference to place
#: r shifts only the r - 1 entries before it
_RING = 256


@njit(cache=True, nogil=True)
def item_ends(stored, newline_bits, cap):
    """Where the newlines of ``stored`` are, at most ``cap`` of them (the
    caller compares the count): the set bits of ``newline_bits``
    (:func:`.log_kernels.byte_bits`, ~0.2 ns a byte, where testing each byte
    took ~1), then the bytes after its last whole word."""
    ends = np.empty(cap, np.int64)
    n = 0
    db = _DEBRUIJN_INDEX
    mul = np.uint64(DEBRUIJN64)
    for w in range(newline_bits.shape[0]):
        m = newline_bits[w]
        base = w * 64
        while m:
            if n >= cap:
                return ends, n + 1
            low = m & (~m + np.uint64(1))
            ends[n] = base + db[(low * mul) >> np.uint64(58)]
            n += 1
            m ^= low
    for pos in range(newline_bits.shape[0] * 64, stored.shape[0]):
        if stored[pos] == NEWLINE:
            if n >= cap:
                return ends, n + 1
            ends[n] = pos
            n += 1
    return ends, n


@njit(cache=True, nogil=True)
def expand_refs(stored, item_end, refs, cap, out):
    """The skeletons stream of a version-4 block as versions 1-2 store it:
    each variable's skeleton ended by a newline, in order, written to
    ``out[:cap]``. ``stored``: the new skeletons, each ended by a newline,
    ``item_end``: where each one's newline is (:func:`item_ends`). Both
    ``stored`` and ``out`` keep COPY_SLACK bytes after them (16-byte moves).
    Returns the bytes written, or -1 when the streams do not agree (a rank
    beyond the recency list, stored items left over or missing, more than
    ``cap`` bytes)."""
    n_items = item_end.shape[0]
    ring = np.empty(_RING, np.int64)  # stored skeleton numbers, the latest at head
    mask = _RING - 1
    head = 0
    size = 0
    nxt = 0
    op = 0
    for i in range(refs.shape[0]):
        r = np.int64(refs[i])
        if r == 0:
            if nxt >= n_items:
                return -1
            item = nxt
            nxt += 1
            if size < MAX_REF:
                size += 1
            head = (head - 1) & mask
        else:
            if r > size:
                return -1
            item = ring[(head + r - 1) & mask]
            for k in range(r - 1, 0, -1):
                ring[(head + k) & mask] = ring[(head + k - 1) & mask]
        ring[head] = item
        a = item_end[item - 1] + 1 if item > 0 else 0
        ln = item_end[item] + 1 - a
        if op + ln > cap:
            return -1
        copy_chunks(out, op, stored, a, ln)
        op += ln
    if nxt != n_items:
        return -1
    return op
