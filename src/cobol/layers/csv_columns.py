"""Column codecs of the CSV transform: one column of field contents <-> streams.

A column is the list of its field contents (quotes stripped), given as spans
into the block. Each column picks one kind:

- ``STR``: the values joined by a separator byte that none of them contains
  (LF when possible, so the stream reads like a text file to zstd), or, if every
  byte occurs, a lengths stream plus the concatenated bytes; at high levels
  sorted names may be front coded (shared-prefix lengths + the rest) when a
  trial says it pays;
- ``DICT``: few distinct values: a dictionary (a nested STR) plus an ids stream;
- ``NUM``: decimal numbers ``-?digits(.digits)?`` as integers scaled to the
  column's largest scale; per-value scales when they vary; integer parts may be
  zero-padded to a column width (zip codes); every value that would not print
  back byte-exact (``+1``, ``1e3``, ``-0``, ``.5``, empty, text) is an
  *exception*: its position plus its verbatim text in a nested text column;
  a column printed from float32 (``1438.359985`` is ``float32(1438.36)`` with
  ``%.6f``) stores the shortest decimals instead (``143836``), printed back
  through float32 with exact arithmetic; a column may be predicted from other
  columns (see :func:`choose_references`) and stores the residual;
- ``TPL``: values of one shape, digit runs between fixed literals (dates, times,
  versions: ``2010-01-01T01:00:00``): one integer stream per digit run, the
  literals in the params, exceptions as for NUM.

Integer streams go through :mod:`cobol.layers.intcodec` (short ones, up to
SMALL_INTS values, as tagged varints); the engine then runs zstd on every
stream. Decoding treats params and streams as hostile.

What was measured on the dev corpus (zstd -19 on every stream): numbers with
noise digits code no better as integers than as text, so the typed kinds win
through structure (deltas, templates, float32 decimals, references), not by
themselves.
"""

from __future__ import annotations

import bisect
import threading

import numpy as np
import xxhash

from ..entropy import thread_compressor
from ..errors import FormatError
from ..format.wire import Reader, put_bytes, put_varint
from . import csv_kernels as K
from .intcodec import PLANES as INTCODEC_PLANES
from .intcodec import decode_ints as _intcodec_decode
from .intcodec import encode_ints as _intcodec_encode
from .csv_tokenizer import (NUM_ECOUNT, NUM_ESTART, NUM_FIELDS, NUM_MAX_SCALE, NUM_SSTART, NUM_VCOUNT, NUM_VSTART,
                            NUM_WIDTH)
from .primitives import spans_byte_histogram

STR, DICT, NUM, TPL = 0, 1, 2, 3
KIND_NAMES = {STR: "str", DICT: "dict", NUM: "num", TPL: "tpl"}

STR_SEP, STR_LENGTHS, STR_FRONT = 0, 1, 2
#: front coding is tried when values share this many leading bytes on average
FRONT_MIN_PREFIX = 4
SCALE_CONST, SCALE_RAW, SCALE_EXTRA = 0, 1, 2
REP_DECIMAL, REP_F32 = 0, 1
REF_NONE, REF_COPY, REF_PAIR = 0, 1, 2
OP_ADD, OP_SUB, OP_MUL = 0, 1, 2
#: a derived-column candidate (a + b, a - b, a * b) is tried when it is exact on
#: this share of the first PAIR_SAMPLE values
PAIR_SAMPLE = 256
PAIR_MIN_EXACT = 0.9
#: reference candidates come from columns at most this far apart
COPY_WINDOW = 24
PAIR_WINDOW = 16
#: tables with more numeric columns than this only try near copies
WIDE_TABLE = 64
#: columns with fewer values than this are not worth a reference
MIN_REF_VALUES = 32
#: reference costs are estimated on this many values
REF_SAMPLE = 2048
#: pass as ``refs`` to get NUM columns back as plans
DEFER = object()
MAX_COLUMNS_REF = 1 << 16

#: a typed kind (NUM/TPL) needs at least this share of values that fit it
TYPED_MIN_SHARE = 0.6
#: a column is searched for a template (TPL) only when, on TEMPLATE_SAMPLE
#: evenly spaced values, the most common shape covers TEMPLATE_SCREEN times
#: TYPED_MIN_SHARE of them (a screen: TPL needs TYPED_MIN_SHARE of all values)
TEMPLATE_SAMPLE = 1024
TEMPLATE_SCREEN = 0.5
#: zstd level of the trials that choose between numbers and text
TRIAL_LEVEL = 3
#: dictionaries this small store their ids as bytes
DICT_BYTE_IDS = 256
#: DICT when the distinct values are at most this share of the values
DICT_MAX_SHARE = 0.25
#: separators to try for STR, best first (then any byte that does not occur)
SEP_PREFERENCE = (10, 0, 9, 1)


#: int streams this short skip intcodec's trials: a few varints
SMALL_INTS = 64
INTS_CODEC, INTS_SMALL = 0, 1


def encode_ints(values: np.ndarray) -> bytes:
    """An int64 array as bytes: a tag, then intcodec's format or, for short
    arrays (exception positions, tiny columns), plain zigzag varints.

    A constant array (a flag or uncertainty column, a column of zeros) goes
    straight to intcodec's PLANES layout: the layout its trials pick for it
    anyway (no residual bytes, the shortest header), without the trials of
    the others (tests pin that the bytes are the same)."""
    v = np.ascontiguousarray(values, dtype=np.int64).ravel()
    if v.shape[0] > SMALL_INTS:
        if v[0] == v.min() == v.max():
            return bytes([INTS_CODEC]) + _intcodec_encode(v, (INTCODEC_PLANES,))
        return bytes([INTS_CODEC]) + _intcodec_encode(v)
    out = bytearray([INTS_SMALL])
    put_varint(out, v.shape[0])
    out += K.zigzag_varints(v).tobytes()
    return bytes(out)


def decode_ints(buf, max_count: int, out: np.ndarray | None = None) -> np.ndarray:
    """The int64 values of an :func:`encode_ints` stream (at most
    ``max_count``); with ``out`` (int64, exactly as many values as the stream
    must hold) written there and ``out`` returned."""
    if len(buf) < 1:
        raise FormatError("csv: empty int stream")
    if buf[0] == INTS_CODEC:
        return _intcodec_decode(memoryview(buf)[1:], max_count, out=out)
    if buf[0] != INTS_SMALL:
        raise FormatError("csv: unknown int stream tag")
    r = Reader(buf, pos=1, what="csv ints")
    n = r.varint("count", limit=min(max_count, SMALL_INTS))
    vals, end, err = K.read_varints(np.frombuffer(buf, np.uint8), r.pos, n, 0, True)
    if err:
        raise FormatError("csv: bad or truncated small int stream")
    if end != len(buf):
        raise FormatError("csv: trailing bytes after small ints")
    if out is not None:
        if vals.shape[0] != out.shape[0]:
            raise FormatError(f"csv: int stream holds {vals.shape[0]} values, {out.shape[0]} expected")
        out[:] = vals
        return out
    return vals


class StreamSink:
    """Collects a column's params (appended to one shared bytearray) and streams.

    ``memo`` (a dict shared by the sinks of one block, or None): int streams
    already coded in the block, by content, so that a column that repeats
    another's numbers (tmy3: 12 of 111 int streams) is not put through the
    integer codec's layout trials again (same bytes: the codec is
    deterministic)."""

    def __init__(self, memo: dict | None = None):
        self.params = bytearray()
        self.streams: list = []
        self.names: list = []
        self.memo = memo

    def add(self, data, name: str) -> None:
        self.streams.append(bytes(data))
        self.names.append(name)

    def merge(self, other: "StreamSink") -> None:
        self.params += other.params
        self.streams += other.streams
        self.names += other.names

    def ints(self, values: np.ndarray, name: str) -> None:
        v = np.ascontiguousarray(values, dtype=np.int64)
        if self.memo is None or v.shape[0] <= SMALL_INTS:
            self.add(encode_ints(v), name)
            return
        key = (v.shape[0], xxhash.xxh3_128_intdigest(v.view(np.uint8)))
        blob = self.memo.get(key)
        if blob is None:
            blob = self.memo[key] = encode_ints(v)
        self.add(blob, name)


class StreamSource:
    """The decode-side mirror of :class:`StreamSink`."""

    def __init__(self, params: Reader, streams: list):
        self.params = params
        self.streams = streams
        self.pos = 0

    def next(self, what: str) -> bytes:
        if self.pos >= len(self.streams):
            raise FormatError(f"csv: missing stream for {what}")
        s = self.streams[self.pos]
        self.pos += 1
        return s

    def ints(self, count: int, what: str) -> np.ndarray:
        v = decode_ints(self.next(what), count)
        if v.shape[0] != count:
            raise FormatError(f"csv: {what}: {v.shape[0]} values, expected {count}")
        return v


# ------------------------------------------------------------------ encode --

def encode_column(sink: StreamSink, data, starts, ends, typed: bool = True, name: str = "col",
                  refs: dict | None = None, col: int = -1, trial: bool = False, rows=None,
                  lf_free: bool = False) -> int:
    """Pick a kind for the column, write its params and streams; returns the kind.

    ``refs`` (column index -> (domain, values)) collects the numeric columns, so
    a later column may be coded as a difference to one of them (``adjclose`` =
    ``close``, ``open`` = previous ``close``). With ``refs=DEFER`` a numeric
    column is only analysed: the :class:`NumPlan` comes back, to be written by
    the caller once :func:`choose_references` has looked at all columns.
    ``lf_free``: the caller knows that no value holds an LF (the tokenizer
    ends an unquoted field at LF), so text joins with LF without a byte
    histogram of the values.
    """
    n = starts.shape[0]
    if typed and n:
        mant, scale, intlen, natlen, ok = K.parse_decimals(data, starts, ends)
        if np.count_nonzero(ok) >= TYPED_MIN_SHARE * n:
            plan = _encode_num(sink, data, starts, ends, mant, scale, intlen, natlen, ok, name, refs, col, rows,
                               lf_free)
            return plan if refs is DEFER else NUM
    ids = first = None
    nd = -1
    if n:
        ids, first, nd = K.dict_encode(data, starts, ends, max(1, int(n * DICT_MAX_SHARE)))
    if typed and n:
        tpl = _find_template(data, starts, ends)
        if tpl is not None:
            share = np.count_nonzero(tpl[-1]) / n
            if share >= TYPED_MIN_SHARE and (nd < 0 or nd > n / 32 or share == 1.0 and nd > 8):
                _encode_tpl(sink, data, starts, ends, tpl, name, lf_free)
                return TPL
    if nd >= 0:
        _encode_dict(sink, data, starts, ends, ids[:n], first[:nd], name, lf_free)
        return DICT
    _encode_str(sink, data, starts, ends, name, front=trial, lf_free=lf_free)
    return STR


def trial_size(data, level: int) -> int:
    """zstd size of ``data`` at ``level`` for trials."""
    return len(thread_compressor(level).compress(data))


def _free_separator(data, starts, ends, lf_free=False) -> int:
    """The separator byte for joined values: the first of SEP_PREFERENCE that
    no value holds (LF without looking when the caller knows), else the
    smallest byte none holds, else -1."""
    if lf_free:
        return SEP_PREFERENCE[0]
    hist = spans_byte_histogram(data, starts, ends)
    sep = next((c for c in SEP_PREFERENCE if hist[c] == 0), -1)
    if sep < 0:
        free = np.flatnonzero(hist == 0)
        sep = int(free[0]) if free.size else -1
    return sep


def _encode_sep_strings(sink, data, starts, ends, name, lf_free=False):
    """The separator byte (params) and the values joined by it (one stream)."""
    sep = _free_separator(data, starts, ends, lf_free)
    if sep < 0:
        return False
    sink.params.append(sep)
    sink.add(K.gather_joined(data, starts, ends, sep), f"{name}.text")
    return True


def _estimate(sink: StreamSink) -> int:
    return len(sink.params) + sum(trial_size(s, TRIAL_LEVEL) for s in sink.streams)


def _encode_str(sink, data, starts, ends, name, front=False, lf_free=False):
    """STR params: mode, then the separator for the separator modes.

    ``front`` allows front coding (each value as the length of the prefix it
    shares with the previous value, plus the rest): sorted names and paths
    shrink by a quarter, while columns of repeated values lose (zstd's matches
    do better), so it is kept only when a trial compression says so.
    """
    if front and starts.shape[0] > 16:
        lcp = K.common_prefixes(data, starts, ends)
        if lcp.mean() >= FRONT_MIN_PREFIX:
            plain = StreamSink()
            _encode_str(plain, data, starts, ends, name, lf_free=lf_free)
            fc = StreamSink()
            fc.params.append(STR)
            fc.params.append(STR_FRONT)
            if _encode_sep_strings(fc, data, starts + lcp, ends, name, lf_free):
                fc.add(lcp.astype(np.uint8), f"{name}.prefix")
                if _estimate(fc) < _estimate(plain):
                    plain = fc
            sink.merge(plain)
            return
    sep = _free_separator(data, starts, ends, lf_free)
    sink.params.append(STR)
    if sep >= 0:
        sink.params.append(STR_SEP)
        sink.params.append(sep)
        sink.add(K.gather_joined(data, starts, ends, sep), f"{name}.text")
    else:
        sink.params.append(STR_LENGTHS)
        sink.ints(ends - starts, f"{name}.lengths")
        sink.add(K.gather_joined(data, starts, ends, -1), f"{name}.text")


def _encode_dict(sink, data, starts, ends, ids, first, name, lf_free=False):
    nd = first.shape[0]
    # most frequent first: small ids for the common values
    counts = np.bincount(ids, minlength=nd)
    order = np.argsort(-counts, kind="stable")
    remap = np.empty(nd, np.int64)
    remap[order] = np.arange(nd)
    sink.params.append(DICT)
    put_varint(sink.params, nd)
    ent = first[order]
    _encode_str(sink, data, starts[ent], ends[ent], f"{name}.dict", lf_free=lf_free)
    if nd <= DICT_BYTE_IDS:
        # categorical codes: one byte each, left to zstd (no order to exploit)
        sink.add(remap[ids].astype(np.uint8), f"{name}.ids")
    else:
        sink.ints(remap[ids], f"{name}.ids")


def _encode_exceptions(sink, data, starts, ends, bad, name, lf_free=False):
    pos = np.flatnonzero(bad)
    if pos.shape[0] <= FEW_EXCEPTIONS and _encode_few_exceptions(sink, data, starts, ends, pos, name, lf_free):
        return
    sink.ints(pos, f"{name}.exc_pos")
    encode_column(sink, data, starts[pos], ends[pos], typed=False, name=f"{name}.exc", lf_free=lf_free)


def _encode_few_exceptions(sink, data, starts, ends, pos, name, lf_free) -> bool:
    """What the general path writes for 1..FEW_EXCEPTIONS exceptions (most
    are a column's header rows), in plain Python: the positions as small
    zigzag varints, the texts as a one-entry dictionary (all equal: an
    untyped column of so few values takes DICT only then) or joined strings,
    with the separator _free_separator picks. False (nothing written) when
    no separator is free: the general path then stores lengths."""
    m = pos.shape[0]
    if m == 0:
        return False
    plist = pos.tolist()
    values = [bytes(data[starts[i]:ends[i]]) for i in plist]
    same = all(v == values[0] for v in values)
    distinct = values[:1] if same else values
    if lf_free:
        sep = SEP_PREFERENCE[0]
    else:
        used = set(b"".join(distinct))
        sep = next((c for c in SEP_PREFERENCE if c not in used), -1)
        if sep < 0:
            sep = next((c for c in range(256) if c not in used), -1)
            if sep < 0:
                return False
    ints = bytearray([INTS_SMALL])
    put_varint(ints, m)
    for p in plist:
        put_varint(ints, 2 * p)  # zigzag of a position (>= 0)
    sink.add(ints, f"{name}.exc_pos")
    end = bytes((sep,))
    if same:
        sink.params.append(DICT)
        put_varint(sink.params, 1)
        sink.params += bytes((STR, STR_SEP, sep))
        sink.add(values[0] + end, f"{name}.exc.dict.text")
        sink.add(bytes(m), f"{name}.exc.ids")
    else:
        sink.params += bytes((STR, STR_SEP, sep))
        sink.add(end.join(values) + end, f"{name}.exc.text")
    return True


def _mode_width(lens, natl, ok):
    """The zero-pad width: the most common written length among padded values."""
    padded = ok & (lens > natl)
    if not padded.any():
        return 1
    return int(np.argmax(np.bincount(lens[padded])))


def _delta_bits(v):
    """Rough cost of an integer stream after delta coding (sum of residual bit lengths)."""
    if v.shape[0] < 2:
        return 0.0
    return float(np.log2(1.0 + np.abs(np.diff(v).astype(np.float64))).sum())


def _plain_bits(r):
    return float(np.log2(1.0 + np.abs(r.astype(np.float64))).sum())


#: a float32 or reference coding must cut the estimated bits by this factor
MODEL_GAIN = 0.85
#: how many earlier numeric columns a column may reference
MAX_REF_CANDIDATES = 16


#: decimal columns of at least F32_SCREEN_MIN fields are first tried as
#: float32 on F32_SCREEN_SLICES runs of F32_SCREEN_SLICE fields spread over the
#: column, and dropped when that sample fails the test below by a margin (the
#: full test on every field was two thirds of the number analysis, and most
#: decimal columns fail it: 47 of 64 on the dev corpus + an 8 MB slice of
#: big.csv)
F32_SCREEN_MIN = 8192
F32_SCREEN_SLICES = 4
F32_SCREEN_SLICE = 512
#: the sample rejects float32 when under F32_SCREEN_FOK_SHARE of its values are
#: float32s (the full test wants 0.98), or when its float32 bits are above
#: MODEL_GAIN x F32_SCREEN_MARGIN of its decimal bits
F32_SCREEN_FOK_SHARE = 0.95
F32_SCREEN_MARGIN = 1.1


def _f32_screen_rejects(mant, scale, ok, max_scale) -> bool:
    """Whether a sample of the column shows that the float32 representation
    cannot pass NumPlan's test (a screen: False means run the full test)."""
    if ok.shape[0] < F32_SCREEN_MIN:
        return False
    n_ok, n_fok, f32_bits, dec_bits = K.f32_screen(mant, scale, ok, max_scale, F32_SCREEN_SLICES, F32_SCREEN_SLICE)
    return n_fok < F32_SCREEN_FOK_SHARE * n_ok or f32_bits >= MODEL_GAIN * F32_SCREEN_MARGIN * dec_bits


class NumPlan:
    """A NUM column analysed but not yet written, so that references can be
    chosen over all columns first (a column may be derived from later ones)."""

    def __init__(self, data, starts, ends, mant, scale, intlen, natlen, ok, name, rows, lf_free=False):
        # the pad width, the values that fit it and normalize (natlen +
        # max_scale digits at most), and them times 10**max_scale
        width, ok, max_scale, vals = K.normalize_decimals(mant, scale, intlen, natlen, ok)
        max_scale = int(max_scale)
        width = int(width)
        rep, big_p = REP_DECIMAL, 0
        if 0 < max_scale <= K.F32_MAX_P and vals.shape[0] > 16 and not _f32_screen_rejects(
                mant, scale, ok, max_scale):
            d, p, fok = K.f32_shortest(mant, scale, ok)
            if np.count_nonzero(fok) >= 0.98 * np.count_nonzero(ok):
                big_p = int(p[fok].max())
                dn = d * K.POW10[big_p - p]
                back, err = K.f32_to_scaled(dn[fok], big_p, scale[fok], max_scale)
                same = np.zeros_like(fok)
                same[fok] = (back == mant[fok] * K.POW10[max_scale - scale[fok]]) & (err == 0)
                if _delta_bits(dn[same]) < MODEL_GAIN * _delta_bits(vals):
                    rep = REP_F32
                    ok = same
                    vals = dn[ok]
        v_scale = scale[ok]
        if v_scale.size == 0 or (v_scale == max_scale).all():
            mode, sstream = SCALE_CONST, None
        else:
            natural = max_scale - K.trailing_zeros10(vals, max_scale) if rep == REP_DECIMAL else None
            extra = v_scale - natural if natural is not None else None
            # "extra": fraction digits beyond the shortest spelling; constant (0) when the
            # writer strips trailing zeros, while raw scales are constant for fixed formats
            if extra is not None and _distinct_cost(extra) < _distinct_cost(v_scale):
                mode, sstream = SCALE_EXTRA, extra
            else:
                mode, sstream = SCALE_RAW, v_scale
        self.data, self.starts, self.ends, self.name, self.lf_free = data, starts, ends, name, lf_free
        self.width, self.rep, self.max_scale, self.big_p = width, rep, max_scale, big_p
        self.mode, self.sstream, self.ok, self.vals = mode, sstream, ok, vals
        # references see whole columns, exceptions as 0 (the decoder knows where
        # they are), over all rows when fields were dropped as row repeats
        full = np.zeros(ok.shape[0], np.int64)
        full[ok] = vals
        if rows is None:  # (the identity row view, without its gathers)
            self.domain = (rep, big_p if rep == REP_F32 else max_scale, ok.shape[0])
            self.at = np.flatnonzero(ok)
            self.full = full
        else:
            kept, rowsrc = _row_view(rows, ok.shape[0])
            self.domain = (rep, big_p if rep == REP_F32 else max_scale, rowsrc.shape[0])
            self.at = kept[ok]
            self.full = full[rowsrc]

    def emit(self, sink, spec=(REF_NONE,), coded=None):
        has_exc = not self.ok.all()
        sink.params.append(NUM)
        sink.params.append(self.width)
        sink.params.append(self.rep)
        sink.params.append(self.max_scale)
        if self.rep == REP_F32:
            sink.params.append(self.big_p)
        sink.params.append(self.mode)
        sink.params.append(1 if has_exc else 0)
        sink.params.append(spec[0])
        if spec[0] == REF_COPY:
            put_varint(sink.params, spec[1])
            sink.params.append(spec[2])
        elif spec[0] == REF_PAIR:
            sink.params.append(spec[1])
            put_varint(sink.params, spec[2])
            put_varint(sink.params, spec[3])
        sink.ints(self.vals if coded is None else coded, f"{self.name}.num")
        if self.sstream is not None:
            sink.add(self.sstream.astype(np.uint8), f"{self.name}.scale")
        if has_exc:
            _encode_exceptions(sink, self.data, self.starts, self.ends, ~self.ok, self.name, self.lf_free)


def _encode_num(sink, data, starts, ends, mant, scale, intlen, natlen, ok, name, refs, col, rows, lf_free=False):
    plan = NumPlan(data, starts, ends, mant, scale, intlen, natlen, ok, name, rows, lf_free)
    if refs is None:
        plan.emit(sink)
        return plan
    if refs is DEFER:
        return plan
    spec, coded = _best_reference(plan.vals, plan.domain, refs, plan.at)
    refs[col] = (plan.domain, plan.full)
    plan.emit(sink, spec, coded)
    return plan


def _predict(spec, refs, domain):
    """The prediction a reference spec makes for a column (encoder and decoder
    share it; int64 arithmetic wraps the same way on both sides).

    COPY (col, lag): that column's values, same row (lag 0) or the row before;
    PAIR (op, a, b): the sum, difference or product of two columns in the same
    row (a derived column: total = parts, power = volts x amps), rescaled to
    this column's decimals.
    """
    kind = spec[0]
    if kind == REF_COPY:
        _, c, lag = spec
        if c not in refs or refs[c][0] != domain or lag > 1:
            raise FormatError("csv: bad numeric reference")
        u = refs[c][1]
        return u if lag == 0 else np.concatenate([np.zeros(1, np.int64), u[:-1]])
    if kind == REF_PAIR:
        _, op, a, b = spec
        # float32 columns take part through their shortest decimals (scale big_p)
        if a not in refs or b not in refs or op > OP_MUL:
            raise FormatError("csv: bad numeric reference")
        (_, sa, na), u = refs[a]
        (_, sb, nb), w = refs[b]
        if na != domain[2] or nb != domain[2]:
            raise FormatError("csv: bad numeric reference")
        if op == OP_MUL:
            shift = domain[1] - sa - sb
            prod = u * w
            if shift >= 0:
                return prod * K.POW10[min(shift, 18)]
            return prod // K.POW10[min(-shift, 18)]
        if sa != domain[1] or sb != domain[1]:
            raise FormatError("csv: bad numeric reference")
        return u + w if op == OP_ADD else u - w
    if kind != REF_NONE:
        raise FormatError("csv: bad numeric reference kind")
    return None


def _row_view(rows, n):
    """``(kept, rowsrc)``: the rows a column's stored values sit in, and for every
    row the stored value it shows (identity unless fields were dropped as repeats)."""
    if rows is None:
        ident = np.arange(n, dtype=np.int64)
        return ident, ident
    return rows


def _best_reference(vals, domain, refs, at):
    """``at``: the row of each of ``vals``."""
    """Pick the reference that makes the column cheapest (estimated bits), if any."""
    best = MODEL_GAIN * _delta_bits(vals)
    spec, coded = (REF_NONE,), vals
    cands = sorted(refs)
    cands = cands[max(0, len(cands) - MAX_REF_CANDIDATES):]
    tries = [(REF_COPY, c, lag) for c in cands if refs[c][0] == domain for lag in (0, 1)]
    if True:
        dec = [c for c in cands if refs[c][0][2] == domain[2]]
        m = min(domain[2], PAIR_SAMPLE)
        with np.errstate(over="ignore"):
            for i, a in enumerate(dec):
                for b in dec[i:]:
                    for op in (OP_ADD, OP_SUB, OP_MUL):
                        t = (REF_PAIR, op, a, b)
                        try:
                            p = _predict(t, {a: (refs[a][0][:2] + (m,), refs[a][1][:m]),
                                             b: (refs[b][0][:2] + (m,), refs[b][1][:m])},
                                         domain[:2] + (m,))
                        except FormatError:
                            continue
                        k = int(np.searchsorted(at, m))
                        if np.count_nonzero(p[at[:k]] == vals[:k]) >= PAIR_MIN_EXACT * m:
                            tries.append(t)
    for t in tries:
        with np.errstate(over="ignore"):
            r = vals - _predict(t, refs, domain)[at]
        cost = min(_plain_bits(r), _delta_bits(r))
        if cost < best:
            best, spec, coded = cost, t, r
    return spec, coded


def _candidate_specs(t, plans, cols):
    """Reference specs worth a look for column ``t`` (exact-match screening on a sample)."""
    pt = plans[t]
    dom = pt.domain
    wide = len(cols) > WIDE_TABLE
    # candidates cost trials per column: narrow the windows on wide tables
    window = COPY_WINDOW // 4 if wide else COPY_WINDOW
    lo, hi = bisect.bisect_left(cols, t - window), bisect.bisect_right(cols, t + window)
    out = [(REF_COPY, c, lag) for c in cols[lo:hi] if c != t and plans[c].domain == dom for lag in (0, 1)]
    if wide:
        return out
    lo, hi = bisect.bisect_left(cols, t - PAIR_WINDOW), bisect.bisect_right(cols, t + PAIR_WINDOW)
    near = [c for c in cols[lo:hi] if c != t and plans[c].domain[2] == dom[2]]
    m = min(dom[2], PAIR_SAMPLE)
    k = int(np.searchsorted(pt.at, m))
    if k < 16:
        return out
    if not near:
        return out
    mat = np.stack([plans[c].full[:m] for c in near])
    scales = np.array([plans[c].domain[1] for c in near], dtype=np.int64)
    found = K.pair_screen(mat, scales, dom[1], pt.at[:k], pt.vals[:k], int(np.ceil(PAIR_MIN_EXACT * k)))
    out += [(REF_PAIR, int(op), near[a], near[b]) for op, a, b in found]
    return out


def _spec_sources(spec):
    if spec[0] == REF_COPY:
        return (spec[1],)
    if spec[0] == REF_PAIR:
        return (spec[2], spec[3])
    return ()


def choose_references(plans: dict, ncols: int):
    """Pick references for all NUM plans (column -> NumPlan) at once.

    Each column gets its cheapest reference (estimated bits, beating its own
    delta coding by MODEL_GAIN), best gains first, skipping any that would close
    a cycle. Returns ``(choices, order)``: column -> (spec, coded), and an order
    of all ``ncols`` columns in which every column comes after its sources.
    """
    # constant columns cost nothing and predict nothing: leave them out
    cols = sorted(c for c, p in plans.items() if p.vals.shape[0] >= MIN_REF_VALUES
                  and p.vals.min() != p.vals.max())
    edges = []
    for t in cols:
        pt = plans[t]
        # costs are estimated on the first REF_SAMPLE values
        m = min(pt.vals.shape[0], REF_SAMPLE)
        rows = int(pt.at[m - 1]) + 1
        tv, tat = pt.vals[:m], pt.at[:m]
        dom = pt.domain[:2] + (rows,)
        own = MODEL_GAIN * K.residual_bits(tv)
        if own < m / 4:
            continue  # under a bit per value already: nothing to win
        scored = []
        copy_costs: dict = {}  # source column -> bits of the copies at lags 0 and 1
        for spec in _candidate_specs(t, plans, cols):
            if spec[0] == REF_COPY and spec[2] <= 1:
                c = spec[1]
                if c not in copy_costs:
                    copy_costs[c] = K.copy_residual_bits(tv, tat, plans[c].full[:rows])
                cost = copy_costs[c][spec[2]]
            else:
                src = {c: (plans[c].domain[:2] + (rows,), plans[c].full[:rows]) for c in _spec_sources(spec)}
                with np.errstate(over="ignore"):
                    r = tv - _predict(spec, src, dom)[tat]
                cost = K.residual_bits(r)
            if cost < own:
                scored.append((cost, spec))
        scored.sort(key=lambda x: x[0])
        for cost, spec in scored[:3]:
            edges.append((own - cost, t, spec))
    edges.sort(key=lambda e: -e[0])
    choices: dict = {}

    def reaches(a, goal):
        stack, seen = [a], set()
        while stack:
            x = stack.pop()
            if x == goal:
                return True
            if x in seen or x not in choices:
                continue
            seen.add(x)
            stack.extend(_spec_sources(choices[x][0]))
        return False

    for _, t, spec in edges:
        if t in choices or any(reaches(src, t) for src in _spec_sources(spec)):
            continue
        pt = plans[t]
        with np.errstate(over="ignore"):
            r = pt.vals - _predict(spec, {c: (plans[c].domain, plans[c].full) for c in _spec_sources(spec)},
                                   pt.domain)[pt.at]
        choices[t] = (spec, r)
    # sources first (by the length of the chain behind a column); otherwise in place
    depth: dict = {}

    def depth_of(c):
        if c not in depth:
            srcs = _spec_sources(choices[c][0]) if c in choices else ()
            depth[c] = 1 + max(depth_of(x) for x in srcs) if srcs else 0
        return depth[c]

    order = sorted(range(ncols), key=lambda c: (depth_of(c), c))
    return choices, order


def _distinct_cost(a):
    """Zeroth-order entropy (bits) of a small-alphabet array: picks the cheaper scale stream."""
    c = np.bincount(a.astype(np.int64) - int(a.min()))
    c = c[c > 0].astype(np.float64)
    p = c / c.sum()
    return float(-(c * np.log2(p)).sum())


def _find_template(data, starts, ends):
    n = starts.shape[0]
    if n > 2 * TEMPLATE_SAMPLE:
        # a screen on every k-th value: text columns (names, descriptions) are
        # dismissed without hashing all their bytes
        step = n // TEMPLATE_SAMPLE
        _, _, cnt = K.modal_hash(K.skeleton_hashes(data, starts[::step], ends[::step]))
        if cnt < TEMPLATE_SCREEN * TYPED_MIN_SHARE * starts[::step].shape[0]:
            return None
    h = K.skeleton_hashes(data, starts, ends)
    _, ref, _ = K.modal_hash(h)
    if ref < 0:
        return None
    s, e = int(starts[ref]), int(ends[ref])
    text = bytes(data[s:e])
    lits, offs = [], [0]
    piece = bytearray()
    i = 0
    while i < len(text):
        c = text[i]
        if 48 <= c <= 57:
            while i < len(text) and 48 <= text[i] <= 57:
                i += 1
            lits.append(bytes(piece))
            piece = bytearray()
        else:
            piece.append(c)
            i += 1
    lits.append(bytes(piece))
    k = len(lits) - 1
    if k < 1 or (k == 1 and not lits[0] and not lits[1]):
        return None
    lit_buf = np.frombuffer(b"".join(lits), dtype=np.uint8)
    lit_offs = np.zeros(k + 2, np.int64)
    lit_offs[1:] = np.cumsum([len(x) for x in lits])
    vals, lens, natl, ok = K.template_extract(data, starts, ends, lit_buf, lit_offs)
    widths = np.ones(k, np.int64)
    for j in range(k):
        widths[j] = _mode_width(lens[:, j], natl[:, j], ok)
    ok = ok & (lens == np.maximum(natl, widths[None, :])).all(axis=1)
    return lits, widths, vals, ok


def _encode_tpl(sink, data, starts, ends, tpl, name, lf_free=False):
    lits, widths, vals, ok = tpl
    k = len(lits) - 1
    bad = ~ok
    sink.params.append(TPL)
    sink.params.append(k)
    for lit in lits:
        put_bytes(sink.params, lit)
    for w in widths:
        sink.params.append(int(w))
    sink.params.append(1 if bad.any() else 0)
    good = vals[ok]
    for j in range(k):
        sink.ints(good[:, j], f"{name}.tpl{j}")
    if bad.any():
        _encode_exceptions(sink, data, starts, ends, bad, name, lf_free)


# ------------------------------------------------------------------ decode --

def decode_column(src: StreamSource, n: int, limit: int, depth: int = 0,
                  refs: dict | None = None, col: int = -1, rows=None):
    """Decode one column of ``n`` values; returns ``(buf, offs)`` (contiguous values).

    ``limit`` bounds the decoded bytes (the block's raw length).
    """
    buf, offs, ids = decode_column_entries(src, n, limit, depth, refs, col, rows)
    if ids is None:
        return buf, offs
    lens = np.diff(offs)
    if int(lens[ids].sum()) > limit:
        raise FormatError("csv: column longer than the block")
    return K.gather_entries(buf, offs, ids)


def decode_column_entries(src: StreamSource, n: int, limit: int, depth: int = 0,
                          refs: dict | None = None, col: int = -1, rows=None, arena: "ColumnArena | None" = None,
                          numbers: "NumberColumns | None" = None):
    """Decode one column of ``n`` values as entries and the entry of each value:
    ``(buf, offs, ids)``, value ``i`` being ``buf[offs[ids[i]]:offs[ids[i] + 1]]``;
    ``ids`` is None when the values are the entries in order. A dictionary
    column comes back unexpanded (its entries and ids, range-checked), numbers
    or templates with exceptions as one column in order, the exceptions
    spliced in, so the row assembler copies each value once.

    With an ``arena`` the entries of numbers, templates and joined strings are written
    into it (``buf`` is then ``arena.buf`` and ``offs`` a view of
    ``arena.offs``, positions in it); other kinds come back in buffers of
    their own, for the caller to :meth:`ColumnArena.put`.

    With ``numbers`` (and an arena) a numeric column without repeated rows
    is not printed: its values go to ``numbers`` for the row assembler to
    print into the output, its exceptions' texts into the arena, and
    ``(NUMBERS, k0, None)`` comes back, ``k0`` the arena entry of its first
    exception.
    """
    r = src.params
    kind = r.u8("column kind")
    if kind == STR:
        return (*_decode_str(src, n, limit, arena), None)
    if kind == DICT:
        nd = r.varint("dictionary size", limit=max(n, 0))
        if n and nd == 0:
            raise FormatError("csv: empty dictionary for a non-empty column")
        ebuf, eoffs = _decode_str_after_tag(src, nd, limit, arena=arena)
        if nd <= DICT_BYTE_IDS:
            ids = np.frombuffer(src.next("dictionary ids"), dtype=np.uint8)
            if ids.shape[0] != n:
                raise FormatError("csv: dictionary ids have the wrong count")
            ids = ids.astype(np.int64)
        else:
            ids = src.ints(n, "dictionary ids")
        if n and (ids.min() < 0 or ids.max() >= nd):
            raise FormatError("csv: dictionary id out of range")
        return ebuf, eoffs, ids
    if kind == NUM:
        return _decode_num(src, n, limit, depth, refs, col, rows, arena, numbers)
    if kind == TPL:
        k = r.u8("template runs")
        if k < 1 or k > K.MAX_RUNS:
            raise FormatError("csv: bad template size")
        lits = [r.bytes_field("template literal", limit) for _ in range(k + 1)]
        widths = np.array([r.u8("template width") for _ in range(k)], dtype=np.int64)
        has_exc = r.u8("exception flag")
        if (widths < 1).any() or (widths > 18).any() or has_exc > 1:
            raise FormatError("csv: bad template params")
        raws = [src.next("template values") for _ in range(k)]
        ebuf, eoffs, epos = _decode_exceptions(src, n, has_exc, limit, depth)
        ng = n - (epos.shape[0] if epos is not None else 0)
        if ng * sum(len(x) for x in lits) > limit:
            raise FormatError("csv: template column longer than the block")
        vals = np.empty((ng, k), np.int64)
        for j in range(k):
            v = decode_ints(raws[j], ng)
            if v.shape[0] != ng:
                raise FormatError("csv: template run has the wrong count")
            vals[:, j] = v
        lit_buf = np.frombuffer(b"".join(lits), dtype=np.uint8)
        lit_offs = np.zeros(k + 2, np.int64)
        lit_offs[1:] = np.cumsum([len(x) for x in lits])
        if arena is not None:
            # printed straight into the arena, the exceptions spliced in
            if epos is None:
                ebuf, eoffs, epos = _NO_BYTES, _NO_EXCEPTION_OFFS, _NO_POSITIONS
            k0 = arena.k
            end, err = K.format_template_into(vals, widths, lit_buf, lit_offs, ebuf, eoffs, epos, arena.buf,
                                              arena.offs, arena.at, k0)
            if err == 2:
                raise FormatError("csv: template column prints more than the block")
            if err:
                raise FormatError("csv: invalid value in a template column")
            arena.advance(end, n)
            return arena.buf, arena.offs[k0:k0 + n + 1], None
        buf, offs, err = K.format_template(vals, widths, lit_buf, lit_offs, limit)
        if err == 2:
            raise FormatError("csv: template column prints more than the block")
        if err:
            raise FormatError("csv: invalid value in a template column")
        return _merge(buf, offs, epos, ebuf, eoffs, limit)
    raise FormatError(f"csv: unknown column kind {kind}")


def _decode_num(src, n, limit, depth, refs, col, rows, arena=None, numbers=None):
    r = src.params
    width = r.u8("pad width")
    rep = r.u8("number representation")
    max_scale = r.u8("scale")
    big_p = r.u8("float32 decimals") if rep == REP_F32 else 0
    mode = r.u8("scale mode")
    has_exc = r.u8("exception flag")
    kind = r.u8("reference kind")
    if kind == REF_COPY:
        spec = (kind, r.varint("reference column", limit=MAX_COLUMNS_REF), r.u8("reference lag"))
    elif kind == REF_PAIR:
        spec = (kind, r.u8("reference op"), r.varint("reference column", limit=MAX_COLUMNS_REF),
                r.varint("reference column", limit=MAX_COLUMNS_REF))
    else:
        spec = (kind,)
    if (width < 1 or width > 19 or max_scale > K.MAX_DIGITS or mode > SCALE_EXTRA or has_exc > 1
            or rep > REP_F32 or kind > REF_PAIR or (rep == REP_F32 and mode == SCALE_EXTRA)
            or (kind != REF_NONE and refs is None)):
        raise FormatError("csv: bad numeric column params")
    # streams come in order: values, scales, exception positions, exception column
    vals_raw = src.next("numbers")
    sc_raw = src.next("scales") if mode != SCALE_CONST else None
    ebuf, eoffs, epos = _decode_exceptions(src, n, has_exc, limit, depth)
    ng = n - (epos.shape[0] if epos is not None else 0)
    # a column printed by the row assembler as stored (no reference to add,
    # no float32 or scale conversion) decodes straight into its place among
    # the block's numbers instead of into an array of its own and a copy
    direct = (numbers is not None and arena is not None and rows is None and kind == REF_NONE
              and rep == REP_DECIMAL and mode != SCALE_EXTRA)
    vals = decode_ints(vals_raw, ng, out=numbers.reserve(ng) if direct else None)
    if vals.shape[0] != ng:
        raise FormatError("csv: numeric column has the wrong count")
    if refs is not None:
        # what the encoder's NumPlan computes (_row_view), without the identity
        # arrays and copies of the common case (no repeated rows, no exceptions)
        kept = rowsrc = None
        if rows is not None:
            kept, rowsrc = rows
            if kept.shape[0] != n:
                raise FormatError("csv: row view does not match the column")
        domain = (rep, big_p if rep == REP_F32 else max_scale, n if rowsrc is None else rowsrc.shape[0])
        if kind != REF_NONE:
            pred = _predict(spec, refs, domain)
            if kept is not None:
                pred = pred[kept if epos is None else K.drop_positions(kept, epos)]
            elif epos is not None:
                pred = K.drop_positions(pred, epos)
            with np.errstate(over="ignore"):
                vals = vals + pred
        # (rowsrc views the block's entry table, where the caller leaves a
        # numeric column's row view as it is: the reference reads it later)
        refs[col] = _DecodedRef(domain, vals, epos, n, rowsrc)
    if mode == SCALE_CONST:
        # (format_decimals_into prints every value at max_scale from an empty
        # array; float32 columns convert with the scales spelled out)
        scales = np.full(ng, max_scale, np.int64) if rep == REP_F32 else _NO_POSITIONS
    else:
        if len(sc_raw) != ng:
            raise FormatError("csv: scale stream has the wrong length")
        scales = np.frombuffer(sc_raw, dtype=np.uint8).astype(np.int64)
        if mode == SCALE_EXTRA:
            if ng and (np.abs(vals).max() >= K.POW10[18]):
                raise FormatError("csv: number out of range")
            scales = scales + (max_scale - K.trailing_zeros10(vals, max_scale))
    if rep == REP_F32:
        vals, err = K.f32_to_scaled(vals, big_p, scales, max_scale)
        if err:
            raise FormatError("csv: invalid float32 decimal")
    if numbers is not None and arena is not None and rows is None:
        k0 = arena.k if epos is None else arena.put(ebuf, eoffs)
        numbers.add(col, vals, None if mode == SCALE_CONST else scales, max_scale, width, epos)
        return NUMBERS, k0, None
    if epos is None:
        ebuf, eoffs, epos = _NO_BYTES, _NO_EXCEPTION_OFFS, _NO_POSITIONS
    if arena is not None:
        k0 = arena.k
        end, err = K.format_decimals_into(vals, scales, max_scale, width, ebuf, eoffs, epos, arena.buf, arena.offs,
                                          arena.at, k0)
        if not err:
            buf, offs = arena.buf, arena.offs[k0:k0 + n + 1]
            arena.advance(end, n)
    else:
        buf, offs, err = K.format_decimals(vals, scales, max_scale, width, limit, ebuf, eoffs, epos)
    if err == 2:
        raise FormatError("csv: numeric column prints more than the block")
    if err:
        raise FormatError("csv: invalid number in a numeric column")
    return buf, offs, None


class _DecodedRef:
    """A decoded numeric column as a reference for later columns: ``(domain,
    values)`` as :func:`_predict` reads it, the values with the exceptions'
    places filled (and, with repeated rows, the value each row shows:
    ``rowsrc``) made only when a column refers to it (most are referred to
    by none; each made an array or two of the column's size: on the big CSV
    a fifth of decoding a numeric column with repeated rows). ``vals``,
    ``epos`` and ``rowsrc`` are the decoder's own arrays, not written while
    the block decodes."""

    __slots__ = ("domain", "_vals", "_epos", "_n", "_rowsrc", "_values")

    def __init__(self, domain, vals, epos, n, rowsrc=None):
        self.domain = domain
        self._vals, self._epos, self._n, self._rowsrc = vals, epos, n, rowsrc
        self._values = None

    def values(self) -> np.ndarray:
        if self._values is None:
            full = self._vals if self._epos is None else K.spread_around(self._vals, self._epos, self._n)
            self._values = full if self._rowsrc is None else full[self._rowsrc]
        return self._values

    def __getitem__(self, i):
        if i == 0:
            return self.domain
        if i == 1:
            return self.values()
        raise IndexError(i)

    def __iter__(self):
        yield self.domain
        yield self.values()


#: a numeric column without exceptions hands format_decimals these
_NO_BYTES = np.zeros(0, np.uint8)
_NO_EXCEPTION_OFFS = np.zeros(1, np.int64)
_NO_POSITIONS = np.zeros(0, np.int64)


def _decode_exceptions(src, n, has_exc, limit, depth):
    """``(ebuf, eoffs, pos)``: the exceptions' text and their positions
    (increasing, inside the column); all None without exceptions."""
    if not has_exc:
        return None, None, None
    if depth > 1:
        raise FormatError("csv: nested exceptions")
    raw = src.next("exception positions")
    few = _few_exceptions(raw, n)
    if few is not None:
        text = _few_texts(src, len(few), limit)
        if text is not None:
            return text[0], text[1], np.array(few, np.int64)
        pos = np.array(few, np.int64)
    else:
        pos = decode_ints(raw, n)
    m = pos.shape[0]
    if m == 0 or pos[0] < 0 or pos[-1] >= n or (m > 1 and (np.diff(pos) <= 0).any()):
        raise FormatError("csv: bad exception positions")
    ebuf, eoffs = decode_column(src, m, limit, depth + 1)
    return ebuf, eoffs, pos


#: exception columns of at most this many values (most hold a column's header
#: rows) are read by :func:`_few_exceptions` and :func:`_few_texts` in plain
#: Python: the general path's dozen kernel calls and small arrays cost ~25 us
#: a column, a fifth of decoding a wide table of short columns (tmy3)
FEW_EXCEPTIONS = 4


def _few_exceptions(raw, n: int):
    """The positions of a small int stream of 1..FEW_EXCEPTIONS values, as a
    list, checked (increasing, inside the column); None for any other stream
    (the general path decodes it, or says what is wrong with it)."""
    if len(raw) < 3 or raw[0] != INTS_SMALL or not 1 <= raw[1] <= FEW_EXCEPTIONS:
        return None
    m = raw[1]
    out = []
    i = 2
    last = -1
    for _ in range(m):
        # one- and two-byte varints (positions below 8192); longer ones go the general way
        if i >= len(raw):
            return None
        b = raw[i]
        if b < 0x80:
            v = b
            i += 1
        elif i + 1 < len(raw) and 0 < raw[i + 1] < 0x80:
            v = (b & 0x7F) | (raw[i + 1] << 7)
            i += 2
        else:
            return None
        v = (v >> 1) ^ -(v & 1)
        if v <= last or v >= n:
            return None
        out.append(v)
        last = v
    if i != len(raw):
        return None
    return out


def _few_texts(src: StreamSource, m: int, limit: int):
    """``(ebuf, eoffs)`` of an exception column of ``m`` (few) values when it
    is a joined-string column (two or more values) or a one-entry dictionary
    (one value) with its separator where the encoder puts it; None (nothing
    read) for anything else, which the general path decodes."""
    r = src.params
    pos0, spos0 = r.pos, src.pos
    p = r.pos
    buf = r.buf
    if p + 3 > r.end:
        return None
    kind = buf[p]
    if kind == STR and buf[p + 1] == STR_SEP:
        sep = buf[p + 2]
        r.pos = p + 3
        joined = src.next("strings")
    elif kind == DICT and m == 1 and p + 5 <= r.end and buf[p + 1] == 1 and buf[p + 2] == STR \
            and buf[p + 3] == STR_SEP:
        sep = buf[p + 4]
        r.pos = p + 5
        joined = src.next("strings")
        if bytes(src.next("dictionary ids")) != b"\x00":
            r.pos, src.pos = pos0, spos0
            return None
    else:
        return None
    joined = bytes(joined)
    if len(joined) > limit + m or joined.count(sep) != m or joined[-1:] != bytes((sep,)):
        r.pos, src.pos = pos0, spos0
        return None
    parts = joined.split(bytes((sep,)))[:m]
    eoffs = np.zeros(m + 1, np.int64)
    at = 0
    for j, part in enumerate(parts):
        at += len(part)
        eoffs[j + 1] = at
    # (writable, as the general path's: a read-only array is another type to
    # the kernels, compiled again)
    return np.frombuffer(bytearray(b"".join(parts)), np.uint8), eoffs


def _merge(buf, offs, pos, ebuf, eoffs, limit):
    """The values and the exceptions as one column of entries in order (see
    :func:`decode_column_entries`; ``ids`` None): the exceptions spliced in
    at their positions ``pos`` (most are a header row: one per column)."""
    if pos is None:
        if buf.shape[0] > limit:
            raise FormatError("csv: column longer than the block")
        return buf, offs, None
    if buf.shape[0] + ebuf.shape[0] > limit:
        raise FormatError("csv: column longer than the block")
    buf, offs = K.splice_entries(buf, offs, ebuf, eoffs, pos)
    return buf, offs, None


def _decode_str(src, n, limit, arena=None):
    return _decode_str_after_tag(src, n, limit, tagged=False, arena=arena)


def _decode_str_after_tag(src, n, limit, tagged=True, arena=None):
    r = src.params
    if tagged:
        kind = r.u8("entries kind")
        if kind != STR:
            raise FormatError("csv: dictionary entries must be a STR column")
    mode = r.u8("string mode")
    if mode == STR_SEP:
        sep = r.u8("separator")
        return _split_sep(src.next("strings"), sep, n, limit, arena)
    if mode == STR_LENGTHS:
        lens = src.ints(n, "string lengths")
        raw = src.next("strings")
        if n and (lens.min() < 0 or lens.max() > len(raw)):
            raise FormatError("csv: string length out of range")
        offs = np.zeros(n + 1, np.int64)
        np.cumsum(lens, out=offs[1:])
        # bounded lengths can still wrap int64 when summed: offsets must not decrease
        if offs[-1] != len(raw) or (n and np.any(offs[1:] < offs[:-1])):
            raise FormatError("csv: string lengths do not match the text")
        return np.frombuffer(raw, dtype=np.uint8), offs
    if mode == STR_FRONT:
        sep = r.u8("separator")
        sbuf, soffs = _split_sep(src.next("strings"), sep, n, limit)
        lcp = np.frombuffer(src.next("prefixes"), dtype=np.uint8)
        if lcp.shape[0] != n:
            raise FormatError("csv: prefix stream has the wrong length")
        buf, offs, err = K.front_decode(lcp, sbuf, soffs, limit)
        if err:
            raise FormatError("csv: bad front-coded strings")
        return buf, offs
    raise FormatError(f"csv: unknown string mode {mode}")


def _split_sep(raw, sep, n, limit, arena=None):
    if len(raw) > limit + n:
        raise FormatError("csv: string column longer than the block")
    joined = np.frombuffer(raw, dtype=np.uint8)
    if arena is None:
        buf, offs, err = K.split_joined(joined, sep, n)
    else:
        k0 = arena.k
        end, err = K.split_joined_into(joined, sep, n, arena.buf, arena.offs, arena.at, k0)
        if err == 2:
            raise FormatError("csv: columns longer than the block")
        if not err:
            buf, offs = arena.buf, arena.offs[k0:k0 + n + 1]
            arena.advance(end, n)
    if err:
        raise FormatError("csv: string column has the wrong number of values")
    return buf, offs


#: scratch arrays a thread keeps between blocks are at most this many bytes
#: each (a larger block's are its own, freed with it)
SCRATCH_KEEP_BYTES = 64 << 20
_scratch = threading.local()


def scratch(name: str, count: int, dtype) -> np.ndarray:
    """``count`` items of uninitialised memory (np.empty), reused by the
    next block this thread decodes: a fresh array of a block's size comes
    from the OS as new pages, each faulted in and zeroed on first touch
    (with the arena, its offsets and the entry table about 1.5x the block's
    bytes: ~13% of CSV decode time went to the kernel). Only one user per
    name at a time: the block decoder, which drops its views before it
    returns."""
    dtype = np.dtype(dtype)
    nbytes = count * dtype.itemsize
    if nbytes > SCRATCH_KEEP_BYTES:
        return np.empty(count, dtype)
    arrays = getattr(_scratch, "arrays", None)
    if arrays is None:
        arrays = _scratch.arrays = {}
    held = arrays.get(name)
    if held is None or held.shape[0] < nbytes:
        held = arrays[name] = np.empty(max(nbytes, min(SCRATCH_KEEP_BYTES, nbytes + (nbytes >> 2))), np.uint8)
    return held[:nbytes].view(dtype)


#: what decode_column_entries returns in place of a buffer for a column left
#: to the row assembler to print (``numbers``)
NUMBERS = object()


#: the order of a row of NumberColumns.cols (one tuple write per column)
_NUM_ROW = (NUM_VSTART, NUM_VCOUNT, NUM_SSTART, NUM_ESTART, NUM_ECOUNT, NUM_WIDTH, NUM_MAX_SCALE)
assert _NUM_ROW == tuple(range(NUM_FIELDS))


class NumberColumns:
    """Decode side: the numeric columns of a block that the row assembler
    prints straight into the output (csv_tokenizer.assemble_numbers, COL_NUMBERS),
    their values, scales and exception positions each in one buffer and a
    row of ``cols`` (NUM_FIELDS) per column."""

    def __init__(self, ncols: int, nslots: int):
        self.nums = scratch("numbers", nslots, np.int64)
        self.scales = scratch("number scales", nslots, np.int64)
        self.epos = scratch("number exceptions", nslots, np.int64)
        self.cols = np.zeros((ncols, NUM_FIELDS), np.int64)
        self.nv = self.ns = self.ne = 0
        self.count = 0  # columns added
        self.reserved = None  # the view reserve() handed out last

    def reserve(self, nv: int) -> np.ndarray:
        """Where the next column's ``nv`` values go (:meth:`add` them after
        writing them there, e.g. by an int decoder's ``out``)."""
        if self.nv + nv > self.nums.shape[0]:
            raise FormatError("csv: numeric columns larger than the block")
        self.reserved = self.nums[self.nv:self.nv + nv]
        return self.reserved

    def add(self, col: int, vals: np.ndarray, scales: np.ndarray | None, max_scale: int, width: int,
            epos: np.ndarray | None) -> None:
        """Column ``col``'s values (printed with ``scales``, or all with
        ``max_scale`` when None) and its exceptions' positions; ``vals`` may
        be the :meth:`reserve` view the values were decoded into."""
        nv = vals.shape[0]
        ne = 0 if epos is None else epos.shape[0]
        if not 0 <= col < self.cols.shape[0] or self.nv + nv > self.nums.shape[0] \
                or self.ne + ne > self.epos.shape[0] or (scales is not None and self.ns + nv > self.scales.shape[0]):
            raise FormatError("csv: numeric columns larger than the block")
        v0 = self.nv
        if vals is not self.reserved:
            self.nums[v0:v0 + nv] = vals
        self.reserved = None
        self.nv = v0 + nv
        s0 = -1
        if scales is not None:
            s0 = self.ns
            self.scales[s0:s0 + nv] = scales
            self.ns = s0 + nv
        e0 = self.ne
        if ne:
            self.epos[e0:e0 + ne] = epos
            self.ne = e0 + ne
        self.cols[col] = (v0, nv, s0, e0, ne, width, max_scale)  # one write, in _NUM_ROW order
        self.count += 1


class ColumnArena:
    """One buffer for the entries of a block's columns (decode side), so the
    row assembler reads them without a concatenation of every column's text
    and a shifted copy of every column's offsets first: the entries of
    numbers and joined strings are printed or split straight into it, others
    copied in (:meth:`put`). Entry ``e`` is ``buf[offs[e]:offs[e + 1]]``;
    ``at`` and ``k`` are where the next column's bytes and entries go. ``buf``
    keeps ASSEMBLE_SLACK (COPY_SLACK) spare bytes past ``nbytes``."""

    def __init__(self, nbytes: int, nentries: int):
        self.buf = scratch("arena", nbytes + K.COPY_SLACK, np.uint8)
        self.offs = scratch("arena offsets", nentries + 1, np.int64)
        self.offs[0] = 0
        self.at = 0
        self.k = 0

    def advance(self, end: int, count: int) -> None:
        self.at = int(end)
        self.k += count

    def put(self, buf: np.ndarray, offs: np.ndarray) -> int:
        """Copy a column's entries in (``offs`` from 0, not decreasing, ending
        at most at ``buf``'s length: what the column decoders return);
        returns the index of its first entry."""
        count = offs.shape[0] - 1
        size = int(offs[-1]) - int(offs[0])
        k0 = self.k
        if k0 + count + 1 > self.offs.shape[0] or self.at + size + K.COPY_SLACK > self.buf.shape[0]:
            raise FormatError("csv: columns longer than the block")
        self.buf[self.at:self.at + size] = buf[offs[0]:offs[-1]]
        np.add(offs, self.at - int(offs[0]), out=self.offs[k0:k0 + count + 1])
        self.advance(self.at + size, count)
        return k0
