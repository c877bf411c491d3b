"""L2 structural transform for CSV/TSV: one stream (or a few) per column.

Encoding a block:

1. sniff the delimiter (``,`` tab ``;`` ``|``); quoting is ``"`` with ``""`` escapes;
2. tokenize (:mod:`csv_tokenizer`) into rows of raw field spans; a row's
   terminator is LF, CRLF or none (the block's last row);
3. the *structure*: row count, the modal field count with the rows that differ
   (ragged rows), the terminators that differ from the common one; rows are
   not special-cased otherwise, so a header row, a second header row or a
   block that starts in the middle of a file are just values;
4. *row matches* (regular tables): a row that repeats most fields of one of
   the 16 rows before it (product variants, unchanged readings) stores which
   row and a bitmap of the repeated fields, and those fields leave the
   columns. Whether that pays depends on the columns, so at high levels the
   block is coded both ways and the smaller (by a fast zstd) is kept; at fast
   levels only strong repetition (20% of the fields) is taken;
5. field ``j`` of a row goes to column ``min(j, MAX_COLUMNS - 1)``; per column the
   fields that are wrapped in quotes are flagged and their quotes stripped, and
   the contents are coded by :mod:`csv_columns` (strings, dictionary ids,
   scaled decimals with exceptions, float32-printed decimals, digit templates
   for dates and times);
6. numeric columns may be coded against other numeric columns (a copy, the
   row before's value, a sum, difference or product of two columns), chosen
   over all columns at once; the columns are then written sources first, and
   that order is recorded when it is not the natural one.

Decoding rebuilds the contents of every column, then glues the fields back in
row order with the delimiter, the quotes and the terminators (a numba kernel);
it never re-tokenizes, so the round trip is exact for any bytes, CSV or not.

Stream layout. The params are one version byte. Stream 0 ("meta") holds the
structure and column params, then a table of the lengths of all logical
streams, then every logical stream shorter than ``SMALL_STREAM`` bytes; longer
logical streams follow as streams 1, 2, ... in order. Packing the many tiny
streams of a wide table into one keeps per-stream costs (zstd frame headers,
Huffman tables, the engine's stream table) from eating the gain, and lets the
engine compress the column params too.

>>> t = CsvTransform()
>>> src = b'id,name\\r\\n' + b'1,"a, b"\\r\\n2,c\\r\\n' * 8
>>> enc = t.encode(src, EncodeContext(fmt="csv"))
>>> t.decode(enc.streams, enc.params, len(src), DecodeContext()) == src
True
"""

from __future__ import annotations

import numpy as np

from ..errors import FormatError
from ..format.wire import Reader, put_varint
from ..registry import DecodeContext, Encoded, EncodeContext, Transform, register_transform
from . import csv_columns as cc
from . import csv_kernels as K
from .csv_tokenizer import (
    ASSEMBLE_SLACK,
    COL_ENTRIES,
    COL_NUMBERS,
    COL_QFLAGS,
    COL_QUOTED,
    CR,
    LF,
    QUOTE,
    TERM_CRLF,
    TERM_LF,
    TERM_NONE,
    assemble,
    assemble_numbers,
    sniff_delimiter,
    tokenize_block,
)

VERSION = 1
#: fields past this many in a row share the last column
MAX_COLUMNS = 1024
#: logical streams shorter than this ride in the meta stream
SMALL_STREAM = 2048
#: blocks smaller than this are left to plain zstd
MIN_BLOCK = 64

#: the level from which columns are chosen by trial compression
TRIAL_MIN_LEVEL = 10
#: row matches: how far back a row may look, how wide a table may be, and the
#: share of all fields that must repeat for the block to use them
ROW_MATCH_WINDOW = 16
ROW_MATCH_MAX_COLUMNS = 128
ROW_MATCH_MIN_SHARE = 0.05
#: without a trial (fast levels) row matches are used from this share on
ROW_MATCH_SURE_SHARE = 0.2
#: the trial of row matches codes this many rows both ways
ROW_TRIAL_ROWS = 4096
#: row matches are searched in a block only when a sample of ROW_SCREEN_SLICES
#: runs of ROW_SCREEN_ROWS rows repeats at least ROW_MATCH_SCREEN times the
#: share the level asks for (at level 3 on the 13 dev and outside CSV/TSV files
#: the screen skipped the search on sp500 and an 8 MB slice of npm.tsv, with
#: 0.1% and 5% of their fields repeating; the frames stayed byte-identical)
ROW_SCREEN_ROWS = 256
ROW_SCREEN_SLICES = 4
ROW_MATCH_SCREEN = 0.5
#: a row references another only if at least this share of its fields repeat
ROW_MATCH_MIN_FIELDS_NUM, ROW_MATCH_MIN_FIELDS_DEN = 1, 4

Q_NONE, Q_ALL, Q_SOME, Q_MOST = 0, 1, 2, 3
F_RAGGED, F_TERM_EXC, F_LAST_NONE, F_CRLF, F_ROWREF = 1, 2, 4, 8, 16


def _column_major_spans(starts, ends, row_nf: np.ndarray, ncols: int, modal: int):
    """The field spans listed column by column, and the per-column counts
    (csv_kernels.column_major_spans_into, into NumPy's arrays: a tiled copy,
    faster than NumPy's transpose of a regular table, 2.7 -> 1.8 ms on
    tmy3's size)."""
    nf = starts.shape[0]
    cs = np.empty(nf, np.int64)
    ce = np.empty(nf, np.int64)
    counts = K.column_major_spans_into(starts, ends, np.ascontiguousarray(row_nf, dtype=np.int64), ncols, cs, ce)
    if counts.shape[0] != ncols:
        raise ValueError("csv: span arrays too small")  # (sized from the tokenizer: cannot happen)
    return cs, ce, counts


def column_counts(row_nf: np.ndarray, ncols: int) -> np.ndarray:
    """Fields per column when field ``t`` of a row is in column ``min(t, ncols - 1)``
    (``row_nf >= 1``): column c < ncols - 1 has the rows with more than c
    fields, the last column every field from ncols - 1 on."""
    hist = np.bincount(np.minimum(row_nf, ncols), minlength=ncols + 1)
    counts = row_nf.shape[0] - np.cumsum(hist[:ncols])
    counts[-1] = int(np.maximum(row_nf - (ncols - 1), 0).sum())
    return counts


def _column_major_order(row_nf: np.ndarray, ncols: int, modal: int):
    """Row-major field ids listed column by column, and the per-column counts."""
    nrows = row_nf.shape[0]
    if modal <= ncols and (row_nf == modal).all():
        order = np.arange(nrows * modal, dtype=np.int64).reshape(nrows, modal).T.ravel()
        counts = np.full(modal, nrows, np.int64)
        if modal < ncols:
            counts = np.concatenate([counts, np.zeros(ncols - modal, np.int64)])
        return order, counts
    # ragged rows: field t of a row is in column min(t, ncols - 1); a counting
    # sort by column gives the stable order without an n log n argsort
    return K.column_major_fields(np.ascontiguousarray(row_nf, dtype=np.int64), ncols)


def encode_csv(data: bytes, delim: int, quote: int = QUOTE, level: int = 19) -> Encoded:
    """Encode with a known delimiter (no sniffing, never None).

    From ``TRIAL_MIN_LEVEL`` on, numeric columns are also tried as text.
    """
    trial = level >= TRIAL_MIN_LEVEL
    arr = np.frombuffer(data, dtype=np.uint8)
    starts, ends, row_nf, row_term = tokenize_block(arr, delim, quote)
    nrows = row_nf.shape[0]
    meta = bytearray()
    sink = cc.StreamSink(memo={})
    sink.params = meta
    meta.append(delim)
    meta.append(quote if quote >= 0 else 0)
    meta.append(1 if quote >= 0 else 0)
    put_varint(meta, nrows)
    if nrows == 0:
        return _finish(sink)
    vals, cnt = np.unique(row_nf, return_counts=True)
    modal = int(vals[np.argmax(cnt)])
    ncols = min(int(row_nf.max()), MAX_COLUMNS)

    flags = 0
    ragged = row_nf != modal
    if ragged.any():
        flags |= F_RAGGED
    last_none = row_term[-1] == TERM_NONE
    body_term = row_term[:-1] if last_none else row_term
    if last_none:
        flags |= F_LAST_NONE
    n_crlf = int(np.count_nonzero(body_term == TERM_CRLF))
    major = TERM_CRLF if 2 * n_crlf > body_term.shape[0] else TERM_LF
    if major == TERM_CRLF:
        flags |= F_CRLF
    term_exc = np.flatnonzero(body_term != major)
    if term_exc.size:
        flags |= F_TERM_EXC
    flags_at = len(meta)
    meta.append(flags)
    put_varint(meta, modal)
    put_varint(meta, ncols)
    if flags & F_RAGGED:
        rpos = np.flatnonzero(ragged)
        sink.ints(rpos, "rows.ragged_pos")
        sink.ints(row_nf[rpos], "rows.ragged_nfields")
    if flags & F_TERM_EXC:
        sink.ints(term_exc, "rows.term_exc")

    cs, ce, counts = _column_major_spans(starts, ends, row_nf, ncols, modal)
    if flags & F_RAGGED or not 2 <= ncols <= ROW_MATCH_MAX_COLUMNS or nrows <= 2:
        _encode_columns(sink, arr, cs, ce, counts, quote, None, trial)
        return _finish(sink)
    bar = ROW_MATCH_MIN_SHARE if trial else ROW_MATCH_SURE_SHARE
    match = None
    if _row_match_share_sampled(arr, starts, ends, nrows, ncols) >= ROW_MATCH_SCREEN * bar:
        match = _row_matches(arr, starts, ends, nrows, ncols)
    if match is not None:
        if trial:
            use = _row_matches_pay(arr, starts, ends, ncols, modal, quote, match)
        else:
            # no trial at fast levels: only strong repetition is taken
            use = np.count_nonzero(match[1]) >= ROW_MATCH_SURE_SHARE * nrows * ncols
        if not use:
            match = None
    if match is None:
        _encode_columns(sink, arr, cs, ce, counts, quote, None, trial)
        return _finish(sink)
    ref, eq = match
    meta[flags_at] = flags | F_ROWREF
    sink.add(ref, "rows.match")
    sink.add(np.packbits(eq[ref != 0], axis=1, bitorder="little"), "rows.match_fields")
    _encode_columns(sink, arr, cs, ce, counts, quote, ~eq, trial, ref)
    return _finish(sink)


def _row_matches_pay(arr, starts, ends, ncols, modal, quote, match) -> bool:
    """Whether dropping repeated fields pays depends on the columns (it does for
    product tables, not for smooth series that delta-code repeats for free):
    code the first ROW_TRIAL_ROWS rows both ways and compare by a fast zstd."""
    ref, eq = match
    k = min(ref.shape[0], ROW_TRIAL_ROWS)
    nf = k * ncols
    order, counts = _column_major_order(np.full(k, ncols, np.int64), ncols, modal)
    cs, ce = starts[:nf][order], ends[:nf][order]
    plain = cc.StreamSink()
    _encode_columns(plain, arr, cs, ce, counts, quote, None, True)
    matched = cc.StreamSink()
    matched.add(ref[:k], "rows.match")
    matched.add(np.packbits(eq[:k][ref[:k] != 0], axis=1, bitorder="little"), "rows.match_fields")
    _encode_columns(matched, arr, cs, ce, counts, quote, ~eq[:k], True, ref[:k])
    return _estimate(_finish(matched)) < _estimate(_finish(plain))


def _fork(sink: cc.StreamSink) -> cc.StreamSink:
    out = cc.StreamSink()
    out.params = bytearray(sink.params)
    out.streams = list(sink.streams)
    out.names = list(sink.names)
    return out


def _estimate(enc: Encoded) -> int:
    return sum(cc.trial_size(s, 1) for s in enc.streams)




def _encode_columns(sink, arr, cs, ce, counts, quote, keep, trial=False, ref=None):
    """Quote flags and column codecs for every column (fields listed column-major).

    Columns are analysed first, each into its own sink; numeric references are
    then chosen over all of them and the columns written sources-first (the
    order goes in the params when it is not the natural one).
    """
    ncols = counts.shape[0]
    sinks, plans = [], {}
    at = 0
    no_keep, no_ref = np.zeros((0, 0), np.bool_), np.zeros(0, np.uint8)
    for c in range(ncols):
        csink = cc.StreamSink(memo=sink.memo)
        sinks.append(csink)
        n = int(counts[c])
        s, e, q, nq, opens, kept, rowsrc = K.column_fields(
            arr, cs[at:at + n], ce[at:at + n], no_keep if keep is None else keep, no_ref if ref is None else ref,
            c, quote)
        at += n
        n = s.shape[0]
        rows = None if keep is None else (kept, rowsrc)
        # a field holds an LF only if it opens with a quote (csv_tokenizer)
        lf_free = not opens
        if nq == 0:
            csink.params.append(Q_NONE)
        elif nq == n:
            csink.params.append(Q_ALL)
        elif 2 * nq <= n:
            csink.params.append(Q_SOME)
            csink.ints(np.flatnonzero(q), f"c{c}.quoted")
        else:
            csink.params.append(Q_MOST)
            csink.ints(np.flatnonzero(~q), f"c{c}.unquoted")
        kind = cc.encode_column(csink, arr, s, e, name=f"c{c}", refs=cc.DEFER, col=c, trial=trial, rows=rows,
                                lf_free=lf_free)
        if isinstance(kind, cc.NumPlan):
            plans[c] = kind
    choices, order = cc.choose_references(plans, ncols)
    for c, plan in plans.items():
        spec, coded = choices.get(c, ((cc.REF_NONE,), None))
        plan.emit(sinks[c], spec, coded)
    if order == list(range(ncols)):
        sink.params.append(0)
    else:
        sink.params.append(1)
        for c in order:
            put_varint(sink.params, c)
    for c in order:
        sink.merge(sinks[c])


def _row_match_share_sampled(arr, starts, ends, nrows, ncols) -> float:
    """The share of fields that repeat a recent row's (as ``_row_matches``
    counts them) on ROW_SCREEN_SLICES runs of ROW_SCREEN_ROWS rows spread over
    the block; the whole block when it is not much larger. A screen: a block
    far under the bar is not searched (the search hashes every field and
    compares each row with up to 16 others: 5-11% of CSV compression)."""
    k = ROW_SCREEN_ROWS
    if nrows <= 2 * k * ROW_SCREEN_SLICES:
        return 1.0
    hits = 0
    min_eq = max(2, -(-ncols * ROW_MATCH_MIN_FIELDS_NUM // ROW_MATCH_MIN_FIELDS_DEN))
    for i in range(ROW_SCREEN_SLICES):
        r0 = i * (nrows - k) // (ROW_SCREEN_SLICES - 1)
        s = starts[r0 * ncols:(r0 + k) * ncols]
        e = ends[r0 * ncols:(r0 + k) * ncols]
        h = K.span_hashes(arr, s, e)
        _, eq = K.row_matches(arr, s, e, h, k, ncols, ROW_MATCH_WINDOW, min_eq)
        hits += int(np.count_nonzero(eq))
    return hits / (ROW_SCREEN_SLICES * k * ncols)


def _row_matches(arr, starts, ends, nrows, ncols):
    """Rows that repeat most fields of a recent row (product variants, unchanged
    readings). Returns ``(ref, eq)`` (see csv_kernels.row_matches) or None when
    too few fields repeat to be worth a try."""
    h = K.span_hashes(arr, starts, ends)
    ref, eq = K.row_matches(arr, starts, ends, h, nrows, ncols, ROW_MATCH_WINDOW,
                            max(2, -(-ncols * ROW_MATCH_MIN_FIELDS_NUM // ROW_MATCH_MIN_FIELDS_DEN)))
    if np.count_nonzero(eq) < ROW_MATCH_MIN_SHARE * nrows * ncols:
        return None
    return ref, eq


def _finish(sink: cc.StreamSink) -> Encoded:
    meta = bytearray()
    put_varint(meta, len(sink.params))
    meta += sink.params
    put_varint(meta, len(sink.streams))
    for s in sink.streams:
        put_varint(meta, len(s))
    big, names = [], ["meta"]
    for s, name in zip(sink.streams, sink.names):
        if len(s) < SMALL_STREAM:
            meta += s
        else:
            big.append(s)
            names.append(name)
    return Encoded(params=bytes([VERSION]), streams=[bytes(meta)] + big, stream_names=names)


def decode_csv(streams: list, params: bytes, raw_len: int) -> bytes:
    out = np.empty(raw_len + ASSEMBLE_SLACK, np.uint8)
    decode_csv_into(streams, params, raw_len, out)
    return out[:raw_len].tobytes()


def decode_csv_into(streams: list, params: bytes, raw_len: int, out: np.ndarray) -> None:
    """Decode into out[:raw_len]; ``out`` keeps ASSEMBLE_SLACK spare bytes after it."""
    if out.size < raw_len + ASSEMBLE_SLACK:
        raise ValueError("csv: the output needs ASSEMBLE_SLACK spare bytes after the block")
    if len(params) != 1 or params[0] != VERSION:
        raise FormatError("csv: unknown params version")
    if not streams:
        raise FormatError("csv: no streams")
    r = Reader(streams[0], what="csv meta")
    plen = r.varint("params length", limit=r.remaining)
    pstart = r.pos
    r.pos += plen
    nlog = r.varint("stream count", limit=r.remaining + len(streams))
    lens, r.pos, err = K.read_varints(np.frombuffer(streams[0], np.uint8), r.pos, nlog, raw_len * 4 + 1024, False)
    if err:
        raise FormatError("csv: bad stream length table")
    lens = lens.tolist()
    logical = []
    bi = 1
    for ln in lens:
        if ln < SMALL_STREAM:
            logical.append(r.take(ln, "small stream"))
        else:
            if bi >= len(streams) or len(streams[bi]) != ln:
                raise FormatError("csv: stream table does not match the streams")
            logical.append(streams[bi])
            bi += 1
    r.expect_end("small streams")
    if bi != len(streams):
        raise FormatError("csv: unexpected extra streams")
    pr = Reader(streams[0], pos=pstart, end=pstart + plen, what="csv params")
    src = cc.StreamSource(pr, logical)
    _decode_body(src, pr, raw_len, out)
    pr.expect_end("csv params")
    if src.pos != len(logical):
        raise FormatError("csv: unused streams")


def _decode_body(src: cc.StreamSource, r: Reader, raw_len: int, out: np.ndarray) -> None:
    delim = r.u8("delimiter")
    quote = r.u8("quote")
    quoting = r.u8("quoting")
    if quoting > 1:
        raise FormatError("csv: bad quoting flag")
    nrows = r.varint("row count", limit=raw_len + 1)
    if nrows == 0:
        if raw_len:
            raise FormatError("csv: no rows for a non-empty block")
        return
    flags = r.u8("flags")
    if flags > 31:
        raise FormatError("csv: bad flags")
    modal = r.varint("field count", limit=raw_len + 1)
    ncols = r.varint("column count", limit=MAX_COLUMNS)
    if modal < 1 or ncols < 1:
        raise FormatError("csv: bad field count")
    row_nf = np.full(nrows, modal, np.int64)
    if flags & F_RAGGED:
        raw_pos = src.next("ragged rows")
        rpos = cc.decode_ints(raw_pos, nrows)
        rn = src.ints(rpos.shape[0], "ragged field counts")
        _check_positions(rpos, nrows, "ragged rows")
        if rn.shape[0] and (rn.min() < 1 or rn.max() > raw_len + 1):
            raise FormatError("csv: bad field count")
        row_nf[rpos] = rn
    if int(row_nf.max()) != ncols and not (row_nf.max() > MAX_COLUMNS and ncols == MAX_COLUMNS):
        raise FormatError("csv: column count does not match the rows")
    nf = int(row_nf.sum())
    if nf > raw_len + 1:
        raise FormatError("csv: more fields than bytes")
    row_term = np.full(nrows, TERM_CRLF if flags & F_CRLF else TERM_LF, np.uint8)
    nbody = nrows - 1 if flags & F_LAST_NONE else nrows
    if flags & F_TERM_EXC:
        tpos = cc.decode_ints(src.next("terminator exceptions"), nbody)
        _check_positions(tpos, nbody, "terminator exceptions")
        row_term[tpos] = TERM_LF if flags & F_CRLF else TERM_CRLF
    if flags & F_LAST_NONE:
        row_term[-1] = TERM_NONE

    counts = column_counts(row_nf, ncols) if flags & F_RAGGED else np.full(ncols, nrows, np.int64)
    # every column's entries go into one buffer (bufs, shifted offsets); each
    # slot of column c shows an entry: in order from the column's first, or
    # (dictionaries, repeated rows, exceptions) as the entry table says
    nslots = int(counts.sum())
    entry = cc.scratch("entries", nslots, np.int64)
    row_src = None
    if flags & F_ROWREF:
        if flags & F_RAGGED or ncols != modal or ncols > ROW_MATCH_MAX_COLUMNS:
            raise FormatError("csv: row matches in a ragged or wide table")
        ref = np.frombuffer(src.next("row matches"), dtype=np.uint8)
        if ref.shape[0] != nrows:
            raise FormatError("csv: row match stream has the wrong length")
        nref = int(np.count_nonzero(ref))
        width = (ncols + 7) // 8
        packed = np.frombuffer(src.next("row match fields"), dtype=np.uint8)
        if packed.shape[0] != nref * width:
            raise FormatError("csv: row match fields have the wrong length")
        # per column, the stored value each row shows, written straight into
        # the entry table (a regular table: column c's slots are row_src[c])
        row_src = entry.reshape(ncols, nrows)
        row_kept = np.empty((ncols, nrows), np.int64)
        row_count, err = K.row_views(ref, packed, width, row_src, row_kept)
        if err:
            raise FormatError("csv: bad row match")
    has_order = r.u8("column order flag")
    if has_order > 1:
        raise FormatError("csv: bad column order flag")
    corder = list(range(ncols))
    if has_order:
        corder = [r.varint("column", limit=ncols - 1) for _ in range(ncols)]
        if sorted(corder) != list(range(ncols)):
            raise FormatError("csv: column order is not a permutation")
    all_q = cc.scratch("quote flags", nslots, np.bool_)
    col_mode = np.zeros(ncols, np.int64)
    slot_start = np.zeros(ncols + 1, np.int64)
    np.cumsum(counts, out=slot_start[1:])
    col_first = np.zeros(ncols, np.int64)
    # every column's entries in one buffer: a valid block's entries are at
    # most its bytes (a dictionary's are used, repeated rows stored once) and
    # its slots; a joined string column is split in place with its
    # separators, one a value (np.empty: pages no column reaches stay untouched)
    arena = cc.ColumnArena(raw_len + nslots + 1, nslots)
    numbers = cc.NumberColumns(ncols, nslots)
    refs: dict = {}
    for c in corder:
        n = int(counts[c])
        rows = None
        if row_src is not None:
            n = int(row_count[c])
            rowsrc = row_src[c]
            rows = (row_kept[c, :n], rowsrc)
        qmode = r.u8("quote mode")
        q = None
        if qmode == Q_ALL:
            col_mode[c] |= COL_QUOTED
        elif qmode in (Q_SOME, Q_MOST):
            pos = cc.decode_ints(src.next("quote flags"), n)
            _check_positions(pos, n, "quote flags")
            if qmode == Q_SOME:
                q = np.zeros(n, np.bool_)
                q[pos] = True
            else:
                q = np.ones(n, np.bool_)
                q[pos] = False
        elif qmode != Q_NONE:
            raise FormatError("csv: bad quote mode")
        if qmode != Q_NONE and not quoting:
            raise FormatError("csv: quote flags without quoting")
        k0 = arena.k
        buf, offs, ids = cc.decode_column_entries(src, n, raw_len, refs=refs, col=c, rows=rows, arena=arena,
                                                  numbers=numbers)
        if buf is cc.NUMBERS:
            # printed by the assembler; its exceptions are entries from offs on
            if arena.at > raw_len:
                raise FormatError("csv: columns longer than the block")
            col_first[c] = offs
            col_mode[c] |= COL_NUMBERS
            if q is not None:
                all_q[slot_start[c]:slot_start[c + 1]] = q
                col_mode[c] |= COL_QFLAGS
            continue
        if (ids is None and offs.shape[0] != n + 1) or (ids is not None and ids.shape[0] != n):
            raise FormatError("csv: column has the wrong count")
        if buf is not arena.buf:
            k0 = arena.put(buf, offs)
        if arena.at > raw_len:
            raise FormatError("csv: columns longer than the block")
        col_first[c] = k0
        if row_src is not None:
            # the slots show rowsrc (already in the entry table) or, for
            # entries of their own, ids[rowsrc]
            if ids is not None:
                ids = ids[rowsrc]
            else:
                col_mode[c] |= COL_ENTRIES
            if q is not None:
                q = q[rowsrc]
        a, b = slot_start[c], slot_start[c + 1]
        if ids is not None:
            entry[a:b] = ids
            col_mode[c] |= COL_ENTRIES
        # (the entry table counts from the column's first entry, col_first:
        # a row view stays as row_views wrote it, for a numeric column's
        # reference to read later, csv_columns._DecodedRef)
        if q is not None:
            all_q[a:b] = q
            col_mode[c] |= COL_QFLAGS
    args = (out[:raw_len + ASSEMBLE_SLACK], arena.buf, arena.offs[:arena.k + 1], entry, slot_start, col_first,
            col_mode, all_q, row_nf, row_term, delim, quote)
    if numbers.count:
        p = assemble_numbers(*args, numbers.nums, numbers.scales, numbers.epos, numbers.cols)
    else:
        p = assemble(*args)
    if p != raw_len:
        raise FormatError("csv: fields do not fill the block")


def _check_positions(pos: np.ndarray, n: int, what: str) -> None:
    if pos.shape[0] and (pos[0] < 0 or pos[-1] >= n or (np.diff(pos) <= 0).any()):
        raise FormatError(f"csv: bad {what}")


@register_transform
class CsvTransform(Transform):
    """CSV/TSV columns (see the module docstring)."""

    id = 20
    name = "csv"
    expansion = 4
    formats = ("csv", "tsv")
    min_level = 1
    needs_layers = frozenset({"l2"})
    priority = 10

    def encode(self, data: bytes, ctx: EncodeContext) -> Encoded | None:
        if len(data) < MIN_BLOCK:
            return None
        arr = np.frombuffer(data, dtype=np.uint8)
        delim = sniff_delimiter(arr, prefer_tab=ctx.fmt == "tsv")
        if delim is None:
            return None
        return encode_csv(data, delim, level=ctx.level)

    def decode_into(self, streams: list, params: bytes, raw_len: int, ctx: DecodeContext, out) -> None:
        decode_csv_into(streams, params, raw_len, out)

    def describe(self, params: bytes) -> str:
        return "csv columns"
