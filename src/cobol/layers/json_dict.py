"""JSON records against a shared dictionary (transform ``json-dict``, id 31).

A 1 KB message of JSON lines holds a handful of records. Coded on its own,
every record pays for its keys and punctuation, and every value for its
spelling; zstd with a trained dictionary matches the keys against the
dictionary but still pays a few bytes per match and per literal run, plus its
block and table headers. This transform moves everything that repeats from
message to message into the dictionary's section for transform 31, built by
:meth:`JsonDictTransform.train_dictionary_section`, and codes what is left
with a static-model range coder whose frequencies come from that section:

- a **line** (bytes up to and including ``\\n``, or the message's last bytes)
  is cut by the JSON tokenizer into *literal* text (keys, punctuation,
  whitespace, anything not a value) and *values* (string, number, ``true``,
  ``false``, ``null`` tokens, quotes included); the literals, values replaced
  by slots, are the line's **template** (its skeleton). A line whose template
  is in the section costs one template symbol, then one symbol per value;
  any other line is coded byte by byte (an *escape line*), so every byte
  string round-trips;
- each template slot belongs to a **column** (training names columns by the
  key in front of the slot, so templates share them); per column the section
  holds a **value dictionary** (spellings seen at least twice in training, most
  frequent first) and frequencies for: *escape* (the value spelled: how many
  bytes it shares with the start of the column's previous value, then the
  rest byte by byte with the column's own byte model), *repeat* (the same
  value as the column's previous one in this message: a date or a category
  shared by neighbouring records, a sorted timestamp), and each dictionary
  entry.

So a record that matches costs a few bits per value and nothing for its keys;
no per-message tables or headers are stored. The frame's checksum covers the
output as always.

Section (varints unless noted; zstd-compressed as one zstd frame with its
content size, at most ``MAX_MODEL`` bytes decompressed)::

    u8 version (1)
    n_templates, then per template: n_slots; n_slots + 1 literals (bytes);
        n_slots column ids (< n_columns)
    n_columns, then per column: n_entries; n_entries spellings (bytes, not
        empty, distinct); counts: escape, repeat, n_entries entries;
        byte model (below); prefix model (the same sparse layout over 64
        symbols: shared-prefix lengths 0..63)
    template counts: escape line, n_templates templates
    escape-line byte model

A byte model is sparse counts over 257 symbols (bytes, and 256 = end of
value): n_pairs, then n_pairs (symbol gap, count) with symbols strictly
increasing (the first gap is the symbol itself, each next one is added to
the last symbol + 1). Counts become 16-bit frequency tables by
:func:`quantize` (integer arithmetic, every symbol at least 1), identically
on both sides.

Block: params empty, one stream: the range coder's bytes (LZMA-style carry
range coder, 16-bit totals; its always-zero first byte dropped, trailing zero
bytes dropped and read back as zeros). Symbols, in order, per line: the
template model (0 = escape line, t + 1 = template t); for an escape line its
bytes then end with the escape-line byte model; for a template, per slot its
column's value model (0 = escape: the shared-prefix length with the
column's prefix model -- at most the length of the column's previous value
in this message, 0 when there is none -- then the value's other bytes and
end with the column's byte model; 1 = repeat; 2 + e = entry e). Models are
numbered: 0 templates, 1 escape-line bytes, then per column c: 2 + 3c value,
3 + 3c bytes, 4 + 3c prefix. The decoder stops when it
has produced ``raw_len`` bytes; a line must produce at least one byte, a
value at least one, and nothing may go past ``raw_len``.

The transform is a candidate only for blocks of at most ``MAX_BLOCK`` bytes
with a dictionary holding its section (it returns None otherwise): the model
is made for small messages, and its per-line work is Python.
"""

from __future__ import annotations

import functools
import re
from collections import Counter, defaultdict

import numpy as np
import zstandard
from numba import njit

from ..errors import CobolError, FormatError, LimitError
from ..format.wire import Reader, put_bytes, put_varint
from ..registry import DecodeContext, Encoded, EncodeContext, Transform, register_transform
from . import json_tokenizer as jt

TRANSFORM_ID = 31
SECTION_VERSION = 1
#: blocks larger than this are left to the json transform
MAX_BLOCK = 64 << 10
#: bound on the section once decompressed
MAX_MODEL = 64 << 20
TOTAL_BITS = 16
TOTAL = 1 << TOTAL_BITS
MAX_TEMPLATES = 8192
MAX_COLUMNS = 4096
MAX_SLOTS = 4096
MAX_ENTRIES = 16384
BYTE_SYMBOLS = 257
END = 256
#: an escaped value first says how many bytes it shares with the column's
#: previous value (0..MAX_PREFIX): a date after a date, a sorted timestamp
MAX_PREFIX = 63
PREFIX_SYMBOLS = MAX_PREFIX + 1
#: a template or a dictionary value must be seen this often in training
MIN_COUNT = 2

_VALUE_KINDS = np.zeros(32, np.bool_)
for _k in (jt.STRING, jt.NUMBER, jt.TRUE, jt.FALSE, jt.NULL):
    _VALUE_KINDS[_k] = True
_KEY_BEFORE_SLOT = re.compile(rb'"((?:[^"\\]|\\.)*)"\s*:\s*$')


# ---------------------------------------------------------------- parsing lines

def split_lines(data: bytes) -> list:
    """[(literals tuple, values list)] per line: the template and its values."""
    buf = jt.as_u8(data)
    tok = jt.tokenize(data)
    is_val = _VALUE_KINDS[tok.kinds]
    vstart = tok.starts[:-1][is_val]
    vend = tok.starts[1:][is_val]
    nl = np.flatnonzero(buf == 10) + 1
    ends = nl if nl.size and nl[-1] == len(data) else np.append(nl, len(data))
    first = np.searchsorted(vstart, np.concatenate(([0], ends[:-1])))
    last = np.searchsorted(vstart, ends)
    vstart, vend = vstart.tolist(), vend.tolist()
    out = []
    a = 0
    for e, i, j in zip(ends.tolist(), first.tolist(), last.tolist()):
        lits, vals = [], []
        p = a
        for k in range(i, j):
            lits.append(data[p:vstart[k]])
            vals.append(data[vstart[k]:vend[k]])
            p = vend[k]
        lits.append(data[p:e])
        out.append((tuple(lits), vals))
        a = e
    return out


# ---------------------------------------------------------------- frequency tables

def quantize(counts) -> np.ndarray:
    """Counts of n symbols (n <= TOTAL) -> cumulative frequencies (n + 1 values,
    0 .. TOTAL), every symbol at least 1; integer arithmetic only."""
    c = np.asarray(counts, np.int64)
    n = c.size
    if n == 0 or n > TOTAL:
        raise FormatError(f"json-dict: a model of {n} symbols")
    total = int(c.sum())
    spare = TOTAL - n
    f = np.ones(n, np.int64)
    if total > 0:
        f += (c * spare) // total
    f[int(np.argmax(c))] += TOTAL - int(f.sum())
    cum = np.zeros(n + 1, np.int64)
    np.cumsum(f, out=cum[1:])
    return cum


class Model:
    """The parsed section: arrays for the kernels, dicts for the encoder."""

    def __init__(self, templates, columns, template_counts, line_bytes):
        # templates: [(literals, column ids)]; columns: [(entries, counts[2+n], byte counts[257])]
        self.templates = templates
        self.columns = columns
        self.template_ids = {lits: i for i, (lits, _) in enumerate(templates)}
        self.entry_ids = [{v: i for i, v in enumerate(ents)} for ents, _, _, _ in columns]
        cums = [quantize(template_counts), quantize(line_bytes)]
        for ents, counts, bcounts, pcounts in columns:
            cums += [quantize(counts), quantize(bcounts), quantize(pcounts)]
        self.moff = np.zeros(len(cums) + 1, np.int64)
        np.cumsum([c.size for c in cums], out=self.moff[1:])
        self.cum = np.concatenate(cums).astype(np.int64)
        lits = [lit for t, _ in templates for lit in t]
        self.tlit_off = np.zeros(len(lits) + 1, np.int64)
        np.cumsum([len(x) for x in lits], out=self.tlit_off[1:])
        self.tlit = np.frombuffer(b"".join(lits), np.uint8) if lits else np.zeros(0, np.uint8)
        self.tslot_off = np.zeros(len(templates) + 1, np.int64)
        np.cumsum([len(cols) for _, cols in templates], out=self.tslot_off[1:])
        self.tslot_col = np.array([c for _, cols in templates for c in cols], np.int64)
        ents = [e for es, _, _, _ in columns for e in es]
        self.ent_off = np.zeros(len(ents) + 1, np.int64)
        np.cumsum([len(x) for x in ents], out=self.ent_off[1:])
        self.ent = np.frombuffer(b"".join(ents), np.uint8) if ents else np.zeros(0, np.uint8)
        self.col_ent_base = np.zeros(len(columns) + 1, np.int64)
        np.cumsum([len(es) for es, _, _, _ in columns], out=self.col_ent_base[1:])


def _put_byte_model(out: bytearray, counts) -> None:
    nz = [(s, int(c)) for s, c in enumerate(counts) if c]
    put_varint(out, len(nz))
    last = -1
    for s, c in nz:
        put_varint(out, s - last - 1)
        put_varint(out, c)
        last = s


def _read_byte_model(r: Reader, n_symbols: int = BYTE_SYMBOLS) -> np.ndarray:
    counts = np.zeros(n_symbols, np.int64)
    n = r.varint("byte model size", n_symbols)
    s = -1
    for _ in range(n):
        s += 1 + r.varint("byte model symbol", n_symbols)
        if s >= n_symbols:
            raise FormatError(f"json-dict: model symbol beyond {n_symbols - 1}")
        counts[s] = r.varint("byte model count", 1 << 40)
    return counts


def serialize(templates, columns, template_counts, line_bytes) -> bytes:
    out = bytearray([SECTION_VERSION])
    put_varint(out, len(templates))
    for lits, cols in templates:
        put_varint(out, len(cols))
        for lit in lits:
            put_bytes(out, lit)
        for c in cols:
            put_varint(out, c)
    put_varint(out, len(columns))
    for ents, counts, bcounts, pcounts in columns:
        put_varint(out, len(ents))
        for e in ents:
            put_bytes(out, e)
        for c in counts:
            put_varint(out, int(c))
        _put_byte_model(out, bcounts)
        _put_byte_model(out, pcounts)
    for c in template_counts:
        put_varint(out, int(c))
    _put_byte_model(out, line_bytes)
    return zstandard.ZstdCompressor(level=19).compress(bytes(out))


@functools.lru_cache(maxsize=8)
def load_model(section: bytes) -> Model:
    """Parse a section (hostile input: a dictionary file is user-supplied)."""
    try:
        raw = zstandard.ZstdDecompressor().decompress(section, max_output_size=MAX_MODEL)
    except zstandard.ZstdError as e:
        raise FormatError(f"json-dict: dictionary section is not a zstd frame with its size ({e})") from None
    r = Reader(raw, what="json-dict dictionary section")
    if r.u8("version") != SECTION_VERSION:
        raise FormatError("json-dict: unknown dictionary section version")
    n_t = r.varint("template count", MAX_TEMPLATES)
    pending = []
    seen = set()
    for _ in range(n_t):
        ns = r.varint("slot count", MAX_SLOTS)
        lits = tuple(r.bytes_field("template literal", MAX_MODEL) for _ in range(ns + 1))
        cols = [r.varint("slot column", MAX_COLUMNS) for _ in range(ns)]
        if lits in seen:
            raise FormatError("json-dict: a template appears twice")
        if not any(lits):
            raise FormatError("json-dict: a template without literal text")
        seen.add(lits)
        pending.append((lits, cols))
    n_c = r.varint("column count", MAX_COLUMNS)
    if any(c >= n_c for _, cols in pending for c in cols):
        raise FormatError("json-dict: a slot names a column beyond the column count")
    columns = []
    for _ in range(n_c):
        ne = r.varint("entry count", MAX_ENTRIES)
        ents = [r.bytes_field("value entry", MAX_MODEL) for _ in range(ne)]
        if len(set(ents)) != ne or not all(ents):
            raise FormatError("json-dict: value entries must be distinct and not empty")
        counts = [r.varint("value count", 1 << 40) for _ in range(ne + 2)]
        columns.append((ents, counts, _read_byte_model(r), _read_byte_model(r, PREFIX_SYMBOLS)))
    tcounts = [r.varint("template count", 1 << 40) for _ in range(n_t + 1)]
    line_bytes = _read_byte_model(r)
    r.expect_end("the section")
    return Model(pending, columns, tcounts, line_bytes)


# ---------------------------------------------------------------- training

def _column_name(lits, slot: int):
    m = _KEY_BEFORE_SLOT.search(lits[slot])
    return m.group(1) if m else (lits, slot)


def train_section(samples, budget: int) -> bytes | None:
    """The section for ``samples`` (messages), at most ``budget`` bytes; None
    when no template repeats."""
    lines = [split_lines(s) for s in samples]
    tcount = Counter(lits for msg in lines for lits, _ in msg)
    tmpl = [t for t, c in tcount.most_common(MAX_TEMPLATES) if c >= MIN_COUNT and any(t)]
    if not tmpl:
        return None
    col_of = {}
    for lits in tmpl:
        for s in range(len(lits) - 1):
            col_of.setdefault(_column_name(lits, s), len(col_of))
    if len(col_of) > MAX_COLUMNS or max(len(t) for t in tmpl) - 1 > MAX_SLOTS:
        return None
    tcols = {lits: [col_of[_column_name(lits, s)] for s in range(len(lits) - 1)] for lits in tmpl}
    # values that are not repeats of the column's last value in the message
    vcount = [Counter() for _ in col_of]
    for msg in lines:
        last = {}
        for lits, vals in msg:
            cols = tcols.get(lits)
            if cols is None:
                continue
            for c, v in zip(cols, vals):
                if last.get(c) != v:
                    vcount[c][v] += 1
                last[c] = v
    cap = MAX_ENTRIES
    while True:
        entries = [[v for v, n in vc.most_common(cap) if n >= MIN_COUNT] for vc in vcount]
        sec = _build(lines, tmpl, tcols, entries)
        if len(sec) <= budget or cap <= 1:
            return sec if len(sec) <= budget else None
        # too big: keep the most frequent entries only
        cap = min(cap, max(len(e) for e in entries)) * 3 // 4


def _build(lines, tmpl, tcols, entries) -> bytes:
    tid = {t: i for i, t in enumerate(tmpl)}
    eid = [{v: i for i, v in enumerate(es)} for es in entries]
    vcounts = [np.zeros(2 + len(es), np.int64) for es in entries]
    bcounts = [np.zeros(BYTE_SYMBOLS, np.int64) for _ in entries]
    pcounts = [np.zeros(PREFIX_SYMBOLS, np.int64) for _ in entries]
    tcounts = np.zeros(len(tmpl) + 1, np.int64)
    line_bytes = np.zeros(BYTE_SYMBOLS, np.int64)
    for msg in lines:
        last = {}
        for lits, vals in msg:
            t = tid.get(lits)
            if t is None:
                tcounts[0] += 1
                line = b"".join(x for pair in zip(lits, vals + [b""]) for x in pair)
                line_bytes += np.bincount(np.frombuffer(line, np.uint8), minlength=BYTE_SYMBOLS)
                line_bytes[END] += 1
                continue
            tcounts[t + 1] += 1
            for c, v in zip(tcols[lits], vals):
                if last.get(c) == v:
                    vcounts[c][1] += 1
                elif v in eid[c]:
                    vcounts[c][2 + eid[c][v]] += 1
                else:
                    vcounts[c][0] += 1
                    p = _shared_prefix(last.get(c, b""), v)
                    pcounts[c][p] += 1
                    bcounts[c] += np.bincount(np.frombuffer(v[p:], np.uint8), minlength=BYTE_SYMBOLS)
                    bcounts[c][END] += 1
                last[c] = v
    return serialize([(t, tcols[t]) for t in tmpl], list(zip(entries, vcounts, bcounts, pcounts)), tcounts,
                     line_bytes)


def _shared_prefix(a: bytes, b: bytes) -> int:
    """Bytes ``b`` shares at its start with ``a`` (at most MAX_PREFIX)."""
    n = min(len(a), len(b), MAX_PREFIX)
    i = 0
    while i < n and a[i] == b[i]:  # at most 63 steps, escaped values only
        i += 1
    return i


# ---------------------------------------------------------------- range coder

@njit(cache=True, nogil=True)
def _rc_encode(models, syms, cum, moff, out):
    """Range-code symbol syms[i] of model models[i]; returns the bytes written
    to ``out`` (capacity >= 5 * len + 16), first (always zero) byte dropped."""
    low = np.int64(0)
    rng = np.int64(0xFFFFFFFF)
    cache = np.int64(0)
    cache_size = np.int64(1)
    n = 0
    for i in range(models.size):
        base = moff[models[i]]
        start = cum[base + syms[i]]
        freq = cum[base + syms[i] + 1] - start
        r = rng >> TOTAL_BITS
        low += r * start
        rng = r * freq
        while rng < (1 << 24):
            rng <<= 8
            # shift_low
            if low < 0xFF000000 or low >= (1 << 32):
                carry = low >> 32
                temp = cache
                while True:
                    out[n] = (temp + carry) & 0xFF
                    n += 1
                    temp = 0xFF
                    cache_size -= 1
                    if cache_size == 0:
                        break
                cache = (low >> 24) & 0xFF
            cache_size += 1
            low = (low & 0x00FFFFFF) << 8
    # flush: the value in [low, low + rng) with the most trailing zero bits
    for k in range(32, -1, -1):
        mask = (np.int64(1) << k) - 1
        v = (low + mask) & ~mask
        if v < low + rng:
            low = v
            break
    for _ in range(5):
        if low < 0xFF000000 or low >= (1 << 32):
            carry = low >> 32
            temp = cache
            while True:
                out[n] = (temp + carry) & 0xFF
                n += 1
                temp = 0xFF
                cache_size -= 1
                if cache_size == 0:
                    break
            cache = (low >> 24) & 0xFF
        cache_size += 1
        low = (low & 0x00FFFFFF) << 8
    return n


@njit(cache=True, nogil=True, inline="always")
def _next_byte(src, pos):
    return np.int64(src[pos]) if pos < src.size else np.int64(0)


@njit(cache=True, nogil=True, inline="always")
def _decode_symbol(src, cum, base, nsym, code, rng, pos):
    """One symbol of the model whose cumulative frequencies are cum[base:base + nsym + 1]:
    (symbol, or -1 when the coder's value is out of range, code, rng, pos)."""
    r = rng >> TOTAL_BITS
    v = code // r
    if v >= TOTAL:
        return -1, code, rng, pos
    lo, hi = 0, nsym - 1
    while lo < hi:
        mid = (lo + hi + 1) >> 1
        if cum[base + mid] <= v:
            lo = mid
        else:
            hi = mid - 1
    code -= r * cum[base + lo]
    rng = r * (cum[base + lo + 1] - cum[base + lo])
    while rng < (1 << 24):
        code = ((code << 8) | _next_byte(src, pos)) & 0xFFFFFFFF
        pos += 1
        rng <<= 8
    return lo, code, rng, pos


@njit(cache=True, nogil=True)
def _decode_kernel(src, cum, moff, tlit, tlit_off, tslot_off, tslot_col, ent, ent_off, col_ent_base, out, end):
    """Decode a block into ``out`` (exactly its size); returns 0 or an error code < 0.
    ``end``: the stream bytes the range coder read (the stored stream plus the
    zero bytes the encoder stripped from its end), its final code and range."""
    n_out = out.size
    n_cols = col_ent_base.size - 1
    last_a = np.full(max(n_cols, 1), -1, np.int64)
    last_b = np.zeros(max(n_cols, 1), np.int64)
    code = np.int64(0)
    rng = np.int64(0xFFFFFFFF)
    for i in range(4):  # the encoder's first byte (always 0) is not stored
        code = (code << 8) | _next_byte(src, i)
    pos = 4
    o = 0
    while o < n_out:
        line_start = o
        # ---- template symbol (model 0)
        base = moff[0]
        nsym = moff[1] - base - 1
        t, code, rng, pos = _decode_symbol(src, cum, base, nsym, code, rng, pos)
        if t < 0:
            return -1
        if t == 0:
            # ---- escape line: bytes until END (model 1)
            base = moff[1]
            while True:
                lo, code, rng, pos = _decode_symbol(src, cum, base, BYTE_SYMBOLS, code, rng, pos)
                if lo < 0:
                    return -1
                if lo == END:
                    break
                if o >= n_out:
                    return -2
                out[o] = lo
                o += 1
        else:
            t -= 1
            s0 = tslot_off[t]
            ns = tslot_off[t + 1] - s0
            lit0 = s0 + t  # literals of template t start here
            for k in range(ns + 1):
                a = tlit_off[lit0 + k]
                b = tlit_off[lit0 + k + 1]
                if o + (b - a) > n_out:
                    return -2
                for i in range(a, b):
                    out[o] = tlit[i]
                    o += 1
                if k == ns:
                    break
                c = tslot_col[s0 + k]
                m = 2 + 3 * c
                base = moff[m]
                nsym = moff[m + 1] - base - 1
                sym, code, rng, pos = _decode_symbol(src, cum, base, nsym, code, rng, pos)
                if sym < 0:
                    return -1
                vstart = o
                if sym == 1:
                    if last_a[c] < 0:
                        return -3
                    ln = last_b[c]
                    if o + ln > n_out:
                        return -2
                    pa = last_a[c]
                    for i in range(ln):
                        out[o + i] = out[pa + i]
                    o += ln
                elif sym >= 2:
                    e = col_ent_base[c] + sym - 2
                    a = ent_off[e]
                    b = ent_off[e + 1]
                    if o + (b - a) > n_out:
                        return -2
                    for i in range(a, b):
                        out[o] = ent[i]
                        o += 1
                else:
                    # shared prefix with the column's last value, then bytes until END
                    base = moff[m + 2]
                    lo, code, rng, pos = _decode_symbol(src, cum, base, PREFIX_SYMBOLS, code, rng, pos)
                    if lo < 0:
                        return -1
                    if lo > 0:
                        if last_a[c] < 0 or lo > last_b[c]:
                            return -3
                        if o + lo > n_out:
                            return -2
                        pa = last_a[c]
                        for i in range(lo):
                            out[o + i] = out[pa + i]
                        o += lo
                    base = moff[m + 1]
                    while True:
                        lo, code, rng, pos = _decode_symbol(src, cum, base, BYTE_SYMBOLS, code, rng, pos)
                        if lo < 0:
                            return -1
                        if lo == END:
                            break
                        if o >= n_out:
                            return -2
                        out[o] = lo
                        o += 1
                if o == vstart:
                    return -4
                last_a[c] = vstart
                last_b[c] = o - vstart
        if o == line_start:
            return -4
    end[0] = pos
    end[1] = code
    end[2] = rng
    return 0


_ERRORS = {-1: "range coder value out of range", -2: "output longer than the block",
           -3: "a repeat or prefix beyond the column's last value", -4: "an empty line or value"}


# ---------------------------------------------------------------- encoding

def encode_symbols(data: bytes, model: Model):
    """(model ids, symbols) for ``data``: int64 arrays."""
    mids, syms = [], []
    last = {}
    for lits, vals in split_lines(data):
        t = model.template_ids.get(lits)
        if t is None:
            line = b"".join(x for pair in zip(lits, vals + [b""]) for x in pair)
            mids += [0] + [1] * (len(line) + 1)
            syms += [0] + list(line) + [END]
            continue
        mids.append(0)
        syms.append(t + 1)
        for c, v in zip(model.templates[t][1], vals):
            m = 2 + 3 * c
            if last.get(c) == v:
                mids.append(m)
                syms.append(1)
            else:
                e = model.entry_ids[c].get(v)
                if e is not None:
                    mids.append(m)
                    syms.append(2 + e)
                else:
                    p = _shared_prefix(last.get(c, b""), v)
                    mids += [m, m + 2] + [m + 1] * (len(v) - p + 1)
                    syms += [0, p] + list(v[p:]) + [END]
            last[c] = v
    return np.array(mids, np.int64), np.array(syms, np.int64)


def encode_with(data: bytes, model: Model) -> bytes:
    mids, syms = encode_symbols(data, model)
    out = np.zeros(5 * mids.size + 16, np.uint8)
    n = _rc_encode(mids, syms, model.cum, model.moff, out)
    coded = out[1:n].tobytes()  # the first byte is always 0
    return coded.rstrip(b"\0")


def decode_with(stream, raw_len: int, model: Model) -> bytes:
    out = np.zeros(raw_len, np.uint8)
    src = np.frombuffer(bytes(stream), np.uint8)
    end = np.zeros(3, np.int64)
    err = _decode_kernel(src, model.cum, model.moff, model.tlit, model.tlit_off, model.tslot_off,
                         model.tslot_col, model.ent, model.ent_off, model.col_ent_base, out, end)
    if err:
        raise FormatError(f"json-dict: {_ERRORS.get(err, 'corrupt stream')}")
    _check_stream_end(src, int(end[0]), int(end[1]), int(end[2]))
    return out.tobytes()


def _check_stream_end(src, pos: int, code: int, rng: int) -> None:
    """A valid stream is exactly what encode_with writes: the coder's bytes up to
    the flushed value, which has the most trailing zero bits in [low, low + rng),
    with its trailing zero bytes stripped. The decoder read ``pos`` bytes (those
    past the stored ones are zeros); the last 4 hold the flushed value, and
    ``code`` = value - low, so low and the one canonical value follow."""
    if src.size > pos:
        raise FormatError(f"json-dict: {src.size - pos} bytes after the coded records")
    if src.size and src[-1] == 0:
        raise FormatError("json-dict: the stream ends in a zero byte (the encoder strips those)")
    last = bytes(src[max(0, pos - 4):min(pos, src.size)])
    value = int.from_bytes(last + bytes(4 - len(last)), "big") if pos - 4 < src.size else 0
    low = (value - code) & 0xFFFFFFFF
    for k in range(32, -1, -1):
        mask = (1 << k) - 1
        canonical = (low + mask) & ~mask
        if canonical < low + rng:
            break
    if canonical & 0xFFFFFFFF != value:
        raise FormatError("json-dict: the stream does not end with the coder's flushed value (bytes appended?)")


@register_transform
class JsonDictTransform(Transform):
    """JSON records coded against the templates and value dictionaries of a shared dictionary."""

    id = TRANSFORM_ID
    name = "json-dict"
    max_streams = 1
    expansion = 4
    formats = ("json", "jsonl")
    min_level = 1
    needs_layers = frozenset({"l2"})
    priority = 20
    needs_dictionary = True

    def train_dictionary_section(self, samples: list, level: int, budget: int = 1 << 20) -> bytes | None:
        small = [s for s in samples if len(s) <= MAX_BLOCK]
        return train_section(small, budget) if small else None

    @staticmethod
    def _model(dictionary) -> Model | None:
        section = None if dictionary is None else dictionary.section(TRANSFORM_ID)
        return None if section is None else load_model(bytes(section))

    def encode(self, data, ctx: EncodeContext) -> Encoded | None:
        if not 0 < len(data) <= MAX_BLOCK:
            return None
        model = self._model(ctx.dictionary)
        if model is None:
            return None
        return Encoded(params=b"", streams=[encode_with(bytes(data), model)], stream_names=["coded"])

    def decode(self, streams, params, raw_len, ctx: DecodeContext) -> bytes:
        if params or len(streams) != 1:
            raise FormatError("json-dict: expects no params and one stream")
        if raw_len > MAX_BLOCK:
            raise LimitError(f"json-dict: block of {raw_len} bytes (at most {MAX_BLOCK})")
        model = self._model(ctx.dictionary)
        if model is None:
            raise FormatError("json-dict: the dictionary has no json-dict section")
        return decode_with(streams[0], raw_len, model)
