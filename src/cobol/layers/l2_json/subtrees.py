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
from ..primitives import spans_equal, table_capacity
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


@njit(cache=True, nogil=True)
def _pow(m, e):
    r = np.int64(1)
    while e > 0:
        if e & 1:
            r = r * m
        m = m * m
        e >>= 1
    return r


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


@njit(cache=True, nogil=True)
def _span_hash(buf, i, e):
    """The polynomial hash of buf[i:e] (the same value the prefix hashes of
    :func:`_find_repeats_kernel` give for that span)."""
    return _hash_extend(np.int64(0), buf, i, e)


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

    Returns (entry of each subtree reference opener or -1, entry tokens, the
    matching closer of each opener or -1, the string reference tokens, their
    ordinal distances)."""
    ntok = kinds.size
    close = np.full(ntok, -1, np.int32)  # (int32 like the token starts: memory per token)
    stack = np.empty(ntok + 1, np.int32)
    sp = 0
    nopen = 0
    nstr = 0
    for t in range(ntok):
        k = kinds[t]
        if k == jt.OBJ_OPEN or k == jt.ARR_OPEN:
            stack[sp] = t
            sp += 1
            nopen += 1
        elif k == jt.OBJ_CLOSE or k == jt.ARR_CLOSE:
            if sp > 0:
                sp -= 1
                close[stack[sp]] = t
        elif k == jt.STRING and min_str > 0 and starts[t + 1] - starts[t] >= min_str:
            nstr += 1
    # only tokens lo..hi can be inside a span big enough to look up (record-shaped
    # data with small records has none: then nothing below touches the bytes)
    # the walk below visits only the candidates: subtrees big enough and (with
    # ``min_str``) long strings, in token order
    lo = ntok
    hi = -1
    ncand = 0
    cand = np.empty(nopen + nstr + 1, np.int32)
    for t in range(ntok):
        c = close[t]
        if c >= 0 and starts[c + 1] - starts[t] >= min_bytes:
            lo = min(lo, t)
            hi = max(hi, c + 1)
            cand[ncand] = t
            ncand += 1
        elif nstr > 0 and kinds[t] == jt.STRING and starts[t + 1] - starts[t] >= min_str:
            cand[ncand] = t
            ncand += 1
    ref_of = np.full(ntok, -1, np.int32)
    # the string references: their tokens and ordinal distances
    str_tok = np.empty(nstr + 1, np.int64)
    str_dist = np.empty(nstr + 1, np.int64)
    nsref = 0
    if ncand == 0:
        return ref_of, np.empty(0, np.int64), close, str_tok[:0], str_dist[:0]
    # polynomial hash of buf[starts[lo]:starts[t]] at every token start t in lo..hi
    ph = np.empty(ntok + 1, np.int64)
    h = np.int64(0)
    for t in range(lo, hi):
        ph[t] = h
        h = _hash_extend(h, buf, starts[t], starts[t + 1])
    if hi >= 0:
        ph[hi] = h
    cap = table_capacity(nopen + nstr + 8)
    mask = cap - 1
    table = np.full(cap, -1, np.int64)
    ent_tok = np.empty(nopen + nstr + 1, np.int64)
    ent_hash = np.empty(nopen + nstr + 1, np.int64)
    ent_len = np.empty(nopen + nstr + 1, np.int64)
    ent_ord = np.empty(nopen + nstr + 1, np.int64)  # a string entry's latest ordinal
    nent = 0
    nord = 0
    # byte compares are bounded: references are disjoint (their compares add up
    # to at most the block), so only crafted hash collisions (the hash is mod
    # 2**64, Thue-Morse strings collide) could use up the rest of the budget
    budget = 4 * np.int64(buf.size) + 4096
    skip_to = 0  # (the tokens inside a referenced subtree are not looked at)
    for j in range(ncand):
        t = np.int64(cand[j])
        if t < skip_to:
            continue
        k = kinds[t]
        c = close[t] if (k == jt.OBJ_OPEN or k == jt.ARR_OPEN) else -1
        a = starts[t]
        ln = -1
        hv = np.int64(0)
        if c >= 0:
            ln = starts[c + 1] - a
            if ln >= min_bytes:
                hv = ph[c + 1] - ph[t] * _pow(_HASH_MUL, ln)
            else:
                ln = -1
        elif k == jt.STRING and nstr > 0:
            ln = starts[t + 1] - a
            if ln >= min_str:
                hv = _span_hash(buf, a, a + ln)
                nord += 1
            else:
                ln = -1
        if ln > 0:
            slot = _mix(hv, ln) & mask
            found = -1
            empty = False
            for _ in range(cap):
                e = table[slot]
                if e < 0:
                    empty = True
                    break
                if ent_hash[e] == hv and ent_len[e] == ln:
                    # one compare at most: a hash collision (rare, or hostile)
                    # only costs the reference, never a second compare
                    if ln > budget:
                        break
                    budget -= ln
                    b = starts[ent_tok[e]]
                    if spans_equal(buf, a, a + ln, buf, b, b + ln):
                        found = e
                    break
                slot = (slot + 1) & mask
            if found >= 0 and c < 0:
                # a string: refer to its latest occurrence, which it now becomes
                str_tok[nsref] = t
                str_dist[nsref] = nord - 2 - ent_ord[found]
                nsref += 1
                ent_tok[found] = t
                ent_ord[found] = nord - 1
            elif found >= 0:
                ref_of[t] = found
                skip_to = c + 1
            elif empty:
                table[slot] = nent
                ent_tok[nent] = t
                ent_hash[nent] = hv
                ent_len[nent] = ln
                ent_ord[nent] = nord - 1
                nent += 1
    return ref_of, ent_tok[:nent], close, str_tok[:nsref], str_dist[:nsref]


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
    ref_of, ent_tok, close, str_tok, str_dist = _find_repeats_kernel(buf, kinds, starts, min_bytes, min_str)
    if str_tok.size and int((starts[str_tok + 1] - starts[str_tok]).sum()) < MIN_STRING_REF_SHARE * buf.size:
        # too few to pay (the subtree references and the ordinals do not depend on them)
        str_tok, str_dist = str_tok[:0], str_dist[:0]
    ref_tok = np.flatnonzero(ref_of >= 0)
    if ref_tok.size == 0 and str_tok.size == 0:
        return None
    used = np.zeros(ent_tok.size, bool)
    used[ref_of[ref_tok]] = True
    def_num = np.cumsum(used) - 1  # defs: referenced entries, in order of first appearance
    def_tok = ent_tok[used]
    def_start = starts[def_tok].astype(np.int64)
    def_len = starts[close[def_tok].astype(np.int64) + 1].astype(np.int64) - def_start
    ref_ids = def_num[ref_of[ref_tok]].astype(np.int64)
    # drop the tokens inside each reference: +1 after its opener, -1 after its closer
    mark = np.zeros(kinds.size + 1, np.int64)
    np.add.at(mark, ref_tok + 1, 1)
    np.add.at(mark, close[ref_tok] + 1, -1)
    keep = np.cumsum(mark[:-1]) == 0
    ref_close = np.zeros(kinds.size, np.uint8)
    ref_close[ref_tok] = kinds[close[ref_tok]]
    ref_close[str_tok] = jt.STRING
    new_starts = np.concatenate((starts[:-1][keep], starts[-1:]))
    return SubtreeRefs(kinds[keep], new_starts, ref_close[keep], def_start, def_len, ref_ids, str_dist)


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
