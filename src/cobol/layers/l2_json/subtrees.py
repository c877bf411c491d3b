"""Repeated subtrees: found before the per-path split, coded as references.

Record-shaped JSON often pastes whole objects into many records (a webhook's
repository and sender, an SBOM component that is the dependant in one event
and the dependency in the next). Plain LZ codes such a repeat as one match;
split into columns it costs a little in every column it touches, and the same
object under two different paths lands in different columns altogether
(measured: the transform's streams 15-45% larger than the raw block with the
same coder, bench/bench_json_unseen.py). So before the split, every object or
array of at least ``min_bytes`` bytes whose exact bytes appeared earlier in the
block (and was not itself inside a repeat) is cut out of the token stream and
replaced by one skeleton symbol (``S_REF_OBJ``/``S_REF_ARR``) and the id of the
earlier occurrence: the decoder copies those bytes from its own output.

Streams (both :mod:`cobol.layers.intcodec` int streams, params version 2):

``subtrees``
    ``2 * ndefs`` ints: the gaps between the output offsets at which the
    referenced subtrees start (first minus 0, then each minus the previous;
    offsets count from the first byte the skeleton writes, after the string
    tail), then their lengths. Defs are numbered in order of first appearance.
``refs``
    one def id per ``S_REF_*`` symbol, in skeleton order.

A reference may only copy bytes already written (def start + length <= the
output position); anything else is a :class:`~cobol.errors.FormatError`.

String values of at least ``min_string`` bytes (quotes included) that repeat
an earlier string value are references too (``S_REF_STR``, params version 3),
found by the same lookup but coded without defs: both sides number the string
values of ``min_string``+ bytes they write (outside referenced subtrees) in
order, and the third stream ``strrefs`` (an int stream) holds, per
``S_REF_STR``, how many such strings lie between it and the one it repeats
(0: the one just before). The encoder refers to the latest occurrence.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .. import json_tokenizer as jt
from ...errors import FormatError
from ..intcodec import decode_ints, encode_ints
from ..primitives import bytes_equal_words, load_u64, table_capacity
from .paths import _mix

#: smallest object/array (in bytes, brackets included) worth a reference: a
#: reference costs a skeleton symbol and an id (2-3 bytes before entropy
#: coding) plus, once per def, an offset and a length; smaller subtrees are
#: cheap in the columns already (measured on bench_json_unseen and the dev
#: corpus: 128 was best of 32, 64, 128, 256 on balance).
MIN_SUBTREE_BYTES = 128
#: smallest string value (in bytes, quotes included) worth a reference (params
#: version 3). The text streams end in brotli, which codes a long repeat of a
#: nearby string in 1-2 bytes; a reference costs about as much (its ordinal
#: distance and a skeleton symbol that breaks the records' identical skeleton
#: runs). Measured at level 3 on 32 JSON / JSON lines files (docs/transforms/
#: json.md "String references"): 64 took 4-13% off CycloneDX SBOMs and
#: 0.4-0.75% off botocore shapes, mdn-browser-compat-data and a CLI tree, no
#: file larger; 48 cost a GeoJSON 0.8%, 32 and below cost botocore shapes.
MIN_STRING_REF_BYTES = 64
#: the smallest floor a block may name: the decoder keeps (start, length) of every
#: string of at least the floor, so this bounds that memory (2 int64 per 8 bytes)
MIN_STRING_REF_FLOOR = 8
#: ... and only when the repeated strings add up to at least this share of the
#: block: a few references do not pay for the skeleton runs they break (with
#: 0.5%, botocore IAM shapes and BigQuery schemas lost 0.1-0.25%)
MIN_STRING_REF_SHARE = 0.02

_HASH_MUL = np.int64(0x100000001B3)


@njit(cache=True, nogil=True, inline="always")
def _hash_extend(h, buf, i, e):
    """The polynomial hash ``h`` extended by buf[i:e], four bytes per step
    (one multiply on the dependency chain instead of four)."""
    m2 = _HASH_MUL * _HASH_MUL
    m3 = m2 * _HASH_MUL
    m4 = m3 * _HASH_MUL
    while i + 4 <= e:
        h = (h * m4 + (np.int64(buf[i]) + 1) * m3 + (np.int64(buf[i + 1]) + 1) * m2
             + (np.int64(buf[i + 2]) + 1) * _HASH_MUL + np.int64(buf[i + 3]) + 1)
        i += 4
    while i < e:
        h = h * _HASH_MUL + np.int64(buf[i]) + 1
        i += 1
    return h


#: powers of _HASH_MUL up to 2**(2 * POW_BITS) come from two tables of 2**POW_BITS
POW_BITS = 12


@njit(cache=True, nogil=True)
def _pow_tables(n):
    """(low, high): _HASH_MUL ** k == low[k & mask] * high[k >> POW_BITS] for
    0 <= k < max(n, 1) (mod 2**64), with tables sized for n."""
    lo_n = 1 << POW_BITS
    low = np.empty(lo_n, np.int64)
    p = np.int64(1)
    for k in range(lo_n):
        low[k] = p
        p = p * _HASH_MUL
    hi_n = (max(n, 1) >> POW_BITS) + 1
    high = np.empty(hi_n, np.int64)
    q = np.int64(1)
    for k in range(hi_n):
        high[k] = q
        q = q * p  # p = _HASH_MUL ** lo_n here
    return low, high


@njit(cache=True, nogil=True, inline="always")
def _mul_pow(low, high, k):
    return low[k & ((1 << POW_BITS) - 1)] * high[k >> POW_BITS]


@njit(cache=True, nogil=True)
def _word_powers():
    """pw[r, j] = _HASH_MUL ** (r - 1 - j) for j < r, else 0 (0 <= r <= 8): the
    polynomial hash of the first r bytes of a little-endian word is
    :func:`_word_hash` with row r."""
    pw = np.zeros((9, 8), np.int64)
    for r in range(9):
        p = np.int64(1)
        for j in range(r - 1, -1, -1):
            pw[r, j] = p
            p = p * _HASH_MUL
    return pw


@njit(cache=True, nogil=True, inline="always")
def _word_hash(v, pw, r):
    """sum over j < r of (byte j of ``v`` + 1) * _HASH_MUL ** (r - 1 - j): eight
    independent multiplies (the rows of ``pw`` are 0 past r)."""
    return ((np.int64(v & 0xFF) + 1) * pw[r, 0] + (np.int64((v >> 8) & 0xFF) + 1) * pw[r, 1]
            + (np.int64((v >> 16) & 0xFF) + 1) * pw[r, 2] + (np.int64((v >> 24) & 0xFF) + 1) * pw[r, 3]
            + (np.int64((v >> 32) & 0xFF) + 1) * pw[r, 4] + (np.int64((v >> 40) & 0xFF) + 1) * pw[r, 5]
            + (np.int64((v >> 48) & 0xFF) + 1) * pw[r, 6] + (np.int64(v >> 56) + 1) * pw[r, 7])


@njit(cache=True, nogil=True, inline="always")
def _hash_on(h, buf, x, e, pw):
    """The polynomial hash ``h`` extended by buf[x:e], a word at a time."""
    m8 = pw[8, 0] * _HASH_MUL
    while x + 8 <= e:
        h = h * m8 + _word_hash(load_u64(buf, x), pw, 8)
        x += 8
    return _hash_extend(h, buf, x, e)


@njit(cache=True, nogil=True)
def _find_repeats_kernel(buf, kinds, starts, min_bytes, min_str):
    """One pass over the tokens, outermost first: every object/array span of at
    least ``min_bytes`` bytes, and (``min_str`` > 0) every string value of at
    least ``min_str`` bytes (quotes included), is looked up (polynomial hash of
    its bytes, then an exact byte compare) among the earlier spans; a hit is a
    reference (the inside of a subtree is skipped), a miss is remembered.

    Strings are numbered in walk order (ordinals: every string of ``min_str``+
    bytes outside a referenced subtree, hit or miss, as the decoder numbers the
    ones it writes); a repeated one refers to the latest earlier occurrence by
    ordinal distance (0: the long string just before it).

    A span's hash is that of its bytes (the same value whatever the block),
    from the prefix hashes at its two ends. The candidates' starts come in
    token order and their ends in the order their closers do, both by
    increasing offset, so one sweep over the candidates' range, a word at a
    time, takes the prefix hash at every start and end: hashing on from every
    token start instead cost a third of this kernel, and an array of those
    hashes per token as much again in memory traffic; a table of them every
    16 bytes, hashed on to each end when looked up, missed the cache twice a
    candidate. The lookup table holds each entry's hash and length beside
    its number (one cache line per probe).

    Returns (subtree reference openers, in token order; the entry each refers
    to; the matching closer of each; entry tokens; the matching closer of each
    entry that is a subtree (-1 for strings); the string reference tokens;
    their ordinal distances)."""
    ntok = kinds.size
    # the candidates: openers whose spans are big enough and, with ``min_str``,
    # the long strings; per candidate (written at its token) the rank of its end
    # among the candidates' ends, which come in increasing offset order here
    rank = np.empty(ntok, np.int32)
    is_cand = np.zeros(ntok, np.uint8)
    end_pos = np.empty(ntok + 1, np.int64)  # (the first nend entries are written)
    end_closer = np.empty(ntok + 1, np.int32)
    stack = np.empty(ntok + 1, np.int32)
    sp = 0
    nend = 0
    nstr = 0
    for t in range(ntok):
        k = kinds[t]
        if k == jt.OBJ_OPEN or k == jt.ARR_OPEN:
            stack[sp] = t
            sp += 1
        elif k == jt.OBJ_CLOSE or k == jt.ARR_CLOSE:
            if sp > 0:
                sp -= 1
                o = stack[sp]
                e = np.int64(starts[t + 1])
                if e - starts[o] >= min_bytes:
                    is_cand[o] = 1
                    rank[o] = nend
                    end_pos[nend] = e
                    end_closer[nend] = t
                    nend += 1
        elif k == jt.STRING and min_str > 0 and starts[t + 1] - starts[t] >= min_str:
            is_cand[t] = 2
            rank[t] = nend
            end_pos[nend] = starts[t + 1]
            end_closer[nend] = -1
            nend += 1
            nstr += 1
    ncand = nend
    ref_tok = np.empty(ncand, np.int64)
    ref_ent = np.empty(ncand, np.int64)
    nref = 0
    str_tok = np.empty(nstr, np.int64)
    str_dist = np.empty(nstr, np.int64)
    nsref = 0
    ent_tok = np.empty(ncand, np.int64)
    ent_close = np.empty(ncand, np.int64)
    if ncand == 0:
        return ref_tok, ref_ent, ref_tok, ent_tok, ent_close, str_tok, str_dist
    # the candidates in token order: token, start offset, end rank
    cand = np.empty(ncand, np.int32)
    cand_a = np.empty(ncand, np.int64)
    cand_rank = np.empty(ncand, np.int64)
    j = 0
    for t in range(ntok):
        if is_cand[t] != 0:
            cand[j] = t
            cand_a[j] = starts[t]
            cand_rank[j] = rank[t]
            j += 1
    # one sweep: the prefix hash (from the first start) at every start and end
    pw = _word_powers()
    at_start = np.empty(ncand, np.int64)
    at_end = np.empty(ncand, np.int64)
    h = np.int64(0)
    x = cand_a[0]
    j = 0
    k = 0
    while k < ncand:
        if j < ncand and cand_a[j] <= end_pos[k]:
            h = _hash_on(h, buf, x, cand_a[j], pw)
            x = cand_a[j]
            at_start[j] = h
            j += 1
        else:
            h = _hash_on(h, buf, x, end_pos[k], pw)
            x = end_pos[k]
            at_end[k] = h
            k += 1
    low, high = _pow_tables(end_pos[ncand - 1] - cand_a[0] + 1)
    cap = table_capacity(ncand + 8)
    mask = cap - 1
    # per slot: the hash, then (length << 32 | entry + 1); 0 is an empty slot
    table = np.zeros(2 * cap, np.int64)
    ent_start = np.empty(ncand, np.int64)
    ent_ord = np.empty(ncand, np.int64)  # a string entry's latest ordinal
    nent = 0
    nord = 0
    # byte compares are bounded: references are disjoint (their compares add up
    # to at most the block), so only crafted hash collisions (the hash is mod
    # 2**64, Thue-Morse strings collide) could use up the rest of the budget
    budget = 4 * np.int64(buf.size) + 4096
    skip_to = np.int64(0)  # (candidates starting inside a referenced subtree are not looked at)
    for j in range(ncand):
        a = cand_a[j]
        if a < skip_to:
            continue
        t = np.int64(cand[j])
        r = cand_rank[j]
        c = np.int64(end_closer[r])
        sub = c >= 0
        e = end_pos[r]
        ln = e - a
        if not sub:
            nord += 1
        hv = at_end[r] - at_start[j] * _mul_pow(low, high, ln)
        slot = _mix(hv, ln) & mask
        found = -1
        empty = False
        for _ in range(cap):
            tag = table[2 * slot + 1]
            if tag == 0:
                empty = True
                break
            if table[2 * slot] == hv and (tag >> 32) == ln:
                # one compare at most: a hash collision (rare, or hostile)
                # only costs the reference, never a second compare
                if ln > budget:
                    break
                budget -= ln
                en = (tag & 0xFFFFFFFF) - 1
                if bytes_equal_words(buf, a, ent_start[en], ln):
                    found = en
                break
            slot = (slot + 1) & mask
        if found >= 0 and not sub:
            # a string: refer to its latest occurrence, which it now becomes
            str_tok[nsref] = t
            str_dist[nsref] = nord - 2 - ent_ord[found]
            nsref += 1
            ent_tok[found] = t
            ent_start[found] = a
            ent_ord[found] = nord - 1
        elif found >= 0:
            ref_tok[nref] = t
            ref_ent[nref] = found
            nref += 1
            skip_to = e
        elif empty:
            table[2 * slot] = hv
            table[2 * slot + 1] = (ln << 32) | (nent + 1)
            ent_tok[nent] = t
            ent_close[nent] = c
            ent_start[nent] = a
            ent_ord[nent] = nord - 1
            nent += 1
    ref_close = np.empty(nref, np.int64)
    for i in range(nref):
        ref_close[i] = end_closer[rank[ref_tok[i]]]
    return ref_tok[:nref], ref_ent[:nref], ref_close, ent_tok[:nent], ent_close[:nent], str_tok[:nsref], \
        str_dist[:nsref]


@njit(cache=True, nogil=True)
def _collapse(kinds, starts, ref_tok, ref_close, str_tok):
    """The token tiling with the tokens inside each referenced subtree dropped
    (its opener's span then covers it whole): (kinds, starts, ref_close of the
    kept tokens: the referenced subtree's closing kind, jt.STRING for a string
    reference, else 0). ``ref_tok``/``ref_close`` and ``str_tok`` are in token
    order, the subtrees disjoint and no string reference inside one."""
    ntok = kinds.size
    drop = 0
    for i in range(ref_tok.size):
        drop += ref_close[i] - ref_tok[i]
    n = ntok - drop
    new_kinds = np.empty(n, kinds.dtype)
    new_starts = np.empty(n + 1, starts.dtype)
    new_close = np.zeros(n, np.uint8)
    o = 0
    t = 0
    si = 0
    for i in range(ref_tok.size + 1):
        stop = ref_tok[i] if i < ref_tok.size else ntok
        while t < stop:
            new_kinds[o] = kinds[t]
            new_starts[o] = starts[t]
            if si < str_tok.size and str_tok[si] == t:
                new_close[o] = jt.STRING
                si += 1
            o += 1
            t += 1
        if i < ref_tok.size:
            new_kinds[o] = kinds[t]
            new_starts[o] = starts[t]
            new_close[o] = kinds[ref_close[i]]
            o += 1
            t = ref_close[i] + 1
    new_starts[n] = starts[ntok]
    return new_kinds, new_starts, new_close


class SubtreeRefs:
    """The encoder's view of a block's repeated subtrees and strings (see the
    module docstring).

    ``kinds``/``starts``: the token tiling with every referenced subtree collapsed
    into its opener token (whose span then covers the whole subtree); ``ref_close``:
    per token of that tiling, 0 or the token kind of the referenced subtree's
    closer (STRING for a string reference); ``str_dists``: the ordinal distance
    of each string reference, in token order; ``streams``: the ``subtrees`` and
    ``refs`` stream bytes, then ``strrefs`` when there are string references."""

    def __init__(self, kinds, starts, ref_close, def_start, def_len, ref_ids, str_dists=None):
        self.kinds = kinds
        self.starts = starts
        self.ref_close = ref_close
        self.def_start = def_start
        self.def_len = def_len
        self.ref_ids = ref_ids
        self.str_dists = np.zeros(0, np.int64) if str_dists is None else str_dists

    @property
    def count(self) -> int:
        """Subtree references."""
        return int(self.ref_ids.size)

    @property
    def string_refs(self) -> int:
        """String references (params version 3 when > 0)."""
        return int(self.str_dists.size)

    def streams(self) -> list[bytes]:
        gaps = np.diff(self.def_start, prepend=0)
        out = [encode_ints(np.concatenate((gaps, self.def_len))), encode_ints(self.ref_ids)]
        if self.string_refs:
            out.append(encode_ints(self.str_dists))
        return out


def find_repeated_subtrees(buf, kinds, starts, min_bytes: int = MIN_SUBTREE_BYTES,
                           min_str: int = 0) -> SubtreeRefs | None:
    """References for the repeated subtrees (and, ``min_str`` > 0, the repeated
    string values of at least that many bytes, quotes included, when they add
    up to MIN_STRING_REF_SHARE of the block) of a tokenized block, or None if
    none repeats."""
    ref_tok, ref_ent, ref_close, ent_tok, ent_close, str_tok, str_dist = _find_repeats_kernel(
        buf, kinds, starts, min_bytes, min_str)
    if str_tok.size and int((starts[str_tok + 1] - starts[str_tok]).sum()) < MIN_STRING_REF_SHARE * buf.size:
        # too few to pay (the subtree references and the ordinals do not depend on them)
        str_tok, str_dist = str_tok[:0], str_dist[:0]
    if ref_tok.size == 0 and str_tok.size == 0:
        return None
    used = np.zeros(ent_tok.size, bool)
    used[ref_ent] = True
    def_num = np.cumsum(used) - 1  # defs: referenced entries, in order of first appearance
    def_start = starts[ent_tok[used]].astype(np.int64)
    def_len = starts[ent_close[used] + 1].astype(np.int64) - def_start
    ref_ids = def_num[ref_ent].astype(np.int64)
    new_kinds, new_starts, new_close = _collapse(kinds, starts, ref_tok, ref_close, str_tok)
    return SubtreeRefs(new_kinds, new_starts, new_close, def_start, def_len, ref_ids, str_dist)


def decode_subtree_streams(defs_raw, refs_raw, raw_len: int):
    """(def starts, def lengths, ref ids) from the two streams, bounds checked."""
    vals = decode_ints(defs_raw, 2 * raw_len)
    if vals.size % 2:
        raise FormatError("json subtrees: odd number of ints")
    n = vals.size // 2
    gaps, lens = vals[:n], vals[n:]
    if n and (gaps.min() < 0 or lens.min() < 1 or gaps.max() > raw_len or lens.max() > raw_len):
        raise FormatError("json subtrees: offset or length out of range")
    def_start = np.cumsum(gaps)
    if n and int(def_start[-1]) > raw_len:
        raise FormatError("json subtrees: offset out of range")
    ids = decode_ints(refs_raw, raw_len)
    if ids.size and (ids.min() < 0 or ids.max() >= n):
        raise FormatError("json refs: subtree id out of range")
    return def_start.astype(np.int64), lens.astype(np.int64), ids.astype(np.int64)
