"""CSV/TSV transform (cobol.layers.l2_csv): byte-exact round trips and hostile input."""

from __future__ import annotations

import random
import re
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cobol
from cobol import plan as P
from cobol.detect import detect
from cobol.engine import CobolEngine
from cobol.errors import CobolError
from cobol.layers import csv_columns as cc
from cobol.layers import csv_kernels as K
from cobol.layers.csv_tokenizer import sniff_delimiter, tokenize_block
from cobol.layers.l2_csv import CsvTransform, column_counts, decode_csv, encode_csv
from cobol.registry import DecodeContext, EncodeContext
from support import corpus_files

CORPUS = corpus_files("csv")  # $COBOL_CORPUS/csv, else samples/csv
T = CsvTransform()
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def roundtrip(data: bytes, delim: int = ord(",")) -> None:
    enc = encode_csv(data, delim)
    assert decode_csv(enc.streams, enc.params, len(data)) == data


def roundtrip_sniffed(data: bytes, fmt: str = "csv"):
    enc = T.encode(data, EncodeContext(fmt=fmt))
    if enc is not None:
        assert T.decode(enc.streams, enc.params, len(data), DecodeContext()) == data
    return enc


# ------------------------------------------------------------ generators --

NUMBERS = st.one_of(
    st.integers(-10**20, 10**20).map(str),
    st.decimals(allow_nan=False, allow_infinity=False, places=4).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["007", "+1", "-0", "-0.0", "1.", ".5", "1e3", "1E-05", "1,000", " 1", "1 ",
                     "0", "00", "0.000", "-", "", "9999999999999999999", "0x1F", "1.50"]),
)
DATES = st.builds(
    lambda y, m, d, h, mi: f"{y:04d}-{m:02d}-{d:02d} {h:02d}:{mi:02d}:00",
    st.integers(0, 9999), st.integers(0, 99), st.integers(1, 31), st.integers(0, 23), st.integers(0, 59),
) | st.builds(lambda m, d, y: f"{m}/{d}/{y}", st.integers(1, 12), st.integers(1, 31), st.integers(1900, 2100))
TEXT = st.text(max_size=12)
QUOTED = st.text(alphabet=st.sampled_from(list('ab,;|\t\n\r" é')), max_size=10).map(
    lambda s: '"' + s.replace('"', '""') + '"'
)
ODD = st.sampled_from(['"', '""', '"a"b', 'a"b', '"unterminated', "\r", "\r\r", '"a""', "é", "\x00"])
FIELD = st.one_of(NUMBERS, DATES, TEXT, QUOTED, ODD)
TERM = st.sampled_from(["\n", "\r\n", "\n", "\r"])


@st.composite
def csv_text(draw):
    delim = draw(st.sampled_from([",", "\t", ";", "|"]))
    ncols = draw(st.integers(1, 6))
    nrows = draw(st.integers(0, 25))
    kinds = [draw(st.sampled_from([NUMBERS, DATES, TEXT, QUOTED, FIELD])) for _ in range(ncols)]
    rows = []
    for _ in range(nrows):
        k = ncols if draw(st.booleans()) or draw(st.booleans()) else draw(st.integers(1, ncols + 2))
        fields = [draw(kinds[min(j, ncols - 1)]) for j in range(k)]
        rows.append(delim.join(fields) + draw(TERM))
    text = "".join(rows)
    if draw(st.booleans()) and text.endswith("\n"):
        text = text[:-1]
    enc = draw(st.sampled_from(["utf-8", "latin-1", "utf-16-le"]))
    return text.encode(enc, "replace"), ord(delim)


@SETTINGS
@given(csv_text())
def test_random_csv_roundtrips(case):
    data, delim = case
    roundtrip(data, delim)
    roundtrip_sniffed(data)


@SETTINGS
@given(st.binary(max_size=400), st.sampled_from([",", "\t", ";", "|"]))
def test_any_bytes_roundtrip(data, delim):
    roundtrip(data, ord(delim))


@SETTINGS
@given(st.lists(st.sampled_from([b"1", b"22", b"-3.5", b"007", b"", b'"x,y"', b'"', b",", b"\n", b"\r\n",
                                 b"\r", b"a", b"\xff", b"2020-01-02", b"1e5", b"+4"]), max_size=80))
def test_token_soup_roundtrips(parts):
    roundtrip(b"".join(parts))


# ------------------------------------------------------------- examples --

@pytest.mark.parametrize("data", [
    b"",
    b"\n",
    b",",
    b"a",
    b"a,b\n1,2\n",
    b"a,b\r\n1,2\r\n3,4",
    b"a,b\n1,2\r\n3,4\n\n\n5\n",
    b'x,"multi\nline, with ""quotes"""\n1,"2"\n',
    b'"open quote,1\n2,3\n',
    b'a,"b"junk,c\n',
    b"1,2,3\n4,5\n6,7,8,9,10\n",
    b"zip,lat\n00501,40.922326\n00544,-72.6\n01001,0.5\n",
    b"v\n1.50\n1.5\n-0\n+1\n1e3\n.5\n1.\n 1\n1,000\n",
    b"d\n2010-01-01T01:00:00\n2010-01-01T02:00:00\nNaN\n2010-1-1T3:00:00\n",
    b"\xff\xfe,\x00\n\x80,\x81\n",
])
def test_examples(data):
    roundtrip(data)
    roundtrip_sniffed(data)


def test_ragged_and_wide():
    rng = random.Random(1)
    rows = [",".join(str(rng.randint(0, 999)) for _ in range(rng.choice([3, 3, 3, 1, 7, 1500])))
            for _ in range(300)]
    roundtrip(("\n".join(rows)).encode())


def test_typed_columns_chosen():
    rng = random.Random(3)
    rows = [f"{i},{i * 0.25:.2f},2020-01-{1 + i % 28:02d},{'abc'[i % 3]},"
            + "".join(rng.choice("klmnopqrs") for _ in range(6)) for i in range(2000)]
    data = ("id,val,day,cat,name\n" + "\n".join(rows) + "\n").encode()
    enc = roundtrip_sniffed(data)
    assert enc is not None
    names = " ".join(enc.stream_names)
    # the small streams ride in "meta"; the typed columns show in the kinds
    arr = np.frombuffer(data, np.uint8)
    s, e, _, _ = tokenize_block(arr, ord(","), 34)
    kinds = []
    for c in range(5):
        sink = cc.StreamSink()
        kinds.append(cc.encode_column(sink, arr, s[5 + c::5], e[5 + c::5]))
    assert kinds == [cc.NUM, cc.NUM, cc.TPL, cc.DICT, cc.STR], (kinds, names)


def test_sniff():
    assert sniff_delimiter(np.frombuffer(b"a;b;c\n1;2;3\n4;5;6\n", np.uint8)) == ord(";")
    assert sniff_delimiter(np.frombuffer(b"a\tb\n1\t2\n", np.uint8)) == 9
    assert sniff_delimiter(np.frombuffer(b"a|b|c\n1|2|3\n", np.uint8)) == ord("|")
    assert sniff_delimiter(np.frombuffer(b"just some prose\nwithout delimiters\n", np.uint8)) is None
    # delimiters inside quoted fields (and quoted newlines) do not count; a stray inch mark is no quote
    quoted = b'id,name\r\n' + b'1,"a, b; c"\r\n2,"x\ny"\r\n3,5" x 3"\r\n' * 5
    assert sniff_delimiter(np.frombuffer(quoted, np.uint8)) == ord(",")


def test_decimal_parse_spellings():
    vals = [b"0", b"-12.50", b"007", b"+1", b"-0", b"1.", b".5", b"1e3", b"", b"12345678901234567890"]
    buf = b"".join(vals)
    ends = np.cumsum([len(v) for v in vals]).astype(np.int64)
    starts = ends - np.array([len(v) for v in vals])
    mant, scale, intlen, natlen, ok = K.parse_decimals(np.frombuffer(buf, np.uint8), starts, ends)
    assert ok.tolist() == [True, True, True, False, False, False, False, False, False, False]
    assert mant[1] == -1250 and scale[1] == 2 and intlen[2] == 3 and natlen[2] == 1


def _parse_reference(text: bytes):
    """parse_decimals' answer for one spelling, in plain Python."""
    m = re.fullmatch(rb"(-?)([0-9]+)(?:\.([0-9]+))?", text)
    if m is None:
        return None
    sign, whole, frac = m.group(1), m.group(2), m.group(3) or b""
    if len(whole) + len(frac) > K.MAX_DIGITS:
        return None
    v = int(whole + frac)
    if sign and v == 0:
        return None
    return (-v if sign else v, len(frac), len(whole), max(len(whole.lstrip(b"0")), 1))


def test_decimal_parse_matches_reference_past_the_prefetch_distance():
    # many more fields than SPAN_PREFETCH, read out of order (a column of a
    # row-major block), the last ones at the very end of the buffer
    rng = np.random.default_rng(7)
    pieces = [b"0", b"-12.50", b"007", b"+1", b"-0", b"1.", b".5", b"1e3", b"", b"12345678901234567890",
              b"3.14159", b"-0.001", b"99999999999999999.9", b"1.5x", b"42"]
    vals = [pieces[i] for i in rng.integers(0, len(pieces), 2000)]
    buf = b"".join(vals)
    ends = np.cumsum([len(v) for v in vals]).astype(np.int64)
    starts = ends - np.array([len(v) for v in vals], dtype=np.int64)
    order = np.argsort(rng.random(len(vals)))
    order[-1] = len(vals) - 1
    mant, scale, intlen, natlen, ok = K.parse_decimals(np.frombuffer(buf, np.uint8), starts[order], ends[order])
    for i, j in enumerate(order):
        want = _parse_reference(vals[j])
        assert ok[i] == (want is not None), vals[j]
        if want is not None:
            assert (mant[i], scale[i], intlen[i], natlen[i]) == want, vals[j]


def test_prefetch_is_only_a_hint():
    from numba import njit

    from cobol.layers.primitives import prefetch

    @njit
    def touch(a, far):
        prefetch(a, far)
        prefetch(a, -far)
        prefetch(a, 0)
        return a[0]

    a = np.arange(10, dtype=np.uint8)
    assert touch(a, 1 << 40) == 0  # addresses far outside the array: no fault, nothing read


# --------------------------------------------------------------- corpus --

@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.name)
def test_corpus_file_roundtrips(path):
    data = path.read_bytes()
    enc = roundtrip_sniffed(data)
    assert enc is not None
    # a block cut from the middle of the file (no header, starts mid-row)
    mid = data[len(data) // 3: len(data) // 3 + 200_000]
    roundtrip_sniffed(mid)


# ---------------------------------------------------------- hostile input --

def _price_table(n=400, seed=5):
    """float32 prices printed with %.6f (open = previous close), repeated rows."""
    rng = np.random.default_rng(seed)
    close = np.round(1400 + np.cumsum(rng.normal(0, 5, n)), 2)
    rows, prev = [], close[0]
    for i in range(n):
        o, c = np.float32(prev), np.float32(close[i])
        row = f"2000-01-{1 + i % 28:02d},{o:.6f},{c:.6f},{c:.6f},{rng.integers(1e8, 2e9)},k{i % 3}"
        rows.append(row)
        if i % 5 == 0:
            rows.append(row[:-1] + "z")  # a near-duplicate row
        prev = close[i]
    return ("date,open,close,adjclose,volume,tag\n" + "\n".join(rows) + "\n").encode()


def test_float32_prices_and_references():
    data = _price_table()
    enc = encode_csv(data, ord(","))
    assert decode_csv(enc.streams, enc.params, len(data)) == data
    arr = np.frombuffer(data, np.uint8)
    s, e, _, _ = tokenize_block(arr, ord(","), 34)
    refs = {}
    sinks = []
    for c in (1, 2, 3):
        sink = cc.StreamSink()
        assert cc.encode_column(sink, arr, s[6 + c::6], e[6 + c::6], refs=refs, col=c) == cc.NUM
        sinks.append(sink)
    assert sinks[0].params[2] == cc.REP_F32  # kind, width, representation
    assert sinks[2].params[-3:] == bytes([cc.REF_COPY, 2, 0])  # adjclose = close (column 2) ...
    assert len(sinks[2].streams[0]) < 40  # ... and costs next to nothing


def test_float32_screen_on_long_columns(monkeypatch):
    """Columns of F32_SCREEN_MIN fields and more are screened on a sample: the
    float32 column still gets REP_F32, a plain two-decimal column is rejected by
    the sample as the full test rejects it, and both round-trip."""
    data = _price_table(n=9000)
    rng = np.random.default_rng(3)
    plain = "\n".join(f"{x:.2f}" for x in np.round(rng.uniform(0, 1000, 12000), 2)).encode() + b"\n"
    for d in (data, plain):
        enc = encode_csv(d, ord(","))
        assert decode_csv(enc.streams, enc.params, len(d)) == d
    arr = np.frombuffer(data, np.uint8)
    s, e, _, _ = tokenize_block(arr, ord(","), 34)
    col_s, col_e = s[6 + 2::6], e[6 + 2::6]
    assert col_s.shape[0] >= cc.F32_SCREEN_MIN
    sink = cc.StreamSink()
    assert cc.encode_column(sink, arr, col_s, col_e) == cc.NUM
    assert sink.params[2] == cc.REP_F32
    parr = np.frombuffer(plain, np.uint8)
    ps, pe, _, _ = tokenize_block(parr, ord(","), 34)
    mant, scale, intlen, natlen, ok = K.parse_decimals(parr, ps, pe)
    width, ok2, max_scale, vals = K.normalize_decimals(mant, scale, intlen, natlen, ok)
    assert cc._f32_screen_rejects(mant, scale, ok2, int(max_scale))
    screened = cc.StreamSink()
    cc.encode_column(screened, parr, ps, pe)
    monkeypatch.setattr(cc, "F32_SCREEN_MIN", 1 << 40)  # the full test on every field
    full = cc.StreamSink()
    cc.encode_column(full, parr, ps, pe)
    assert screened.params == full.params and screened.streams == full.streams
    assert full.params[2] == cc.REP_DECIMAL


@SETTINGS
@given(st.lists(st.tuples(st.integers(-10**6, 10**6), st.integers(-999, 999), st.integers(0, 3)),
                min_size=40, max_size=120),
       st.sampled_from(["%d", "%.2f", "%.1f"]))
def test_derived_columns_and_repeats(rows, fmt):
    """Columns that are sums/products of others, copies, repeated rows and a header."""
    lines = ["a,b,sum,prod,copy,tag"]
    prev = None
    for a, b, rep in rows:
        va, vb = (a, b) if fmt == "%d" else (a / 100, b / 10)
        line = ",".join([fmt % va, fmt % vb, fmt % (va + vb), fmt % (va * vb), fmt % va, "t%d" % rep])
        if rep == 0 and prev is not None:
            line = prev
        lines.append(line)
        prev = line
    roundtrip(("\n".join(lines) + "\n").encode())


def test_row_matches_found():
    from cobol.layers.l2_csv import _row_matches
    data = _price_table()
    arr = np.frombuffer(data, np.uint8)
    s, e, nf, _ = tokenize_block(arr, ord(","), 34)
    ref, eq = _row_matches(arr, s, e, nf.shape[0], 6)
    assert np.count_nonzero(ref) >= 80 and eq[ref != 0].sum(axis=1).min() >= 2


def _names_table(n=300):
    rng = random.Random(11)
    makers = ["Canadian Solar Inc. CS", "Advanced Renewable Energy AREi-", "SunPower SPR-X"]
    rows = sorted(f"{rng.choice(makers)}{rng.randint(1, 9)}{rng.choice('KUX')}-{rng.randint(100, 400)}"
                  f"{rng.choice(['P', 'M', 'PN', 'MS-AG'])},{rng.randint(0, 9)}" for _ in range(n))
    return ("Name,N\n" + "\n".join(rows) + "\n").encode()


def test_front_coded_names():
    data = _names_table()
    roundtrip(data)
    arr = np.frombuffer(data, np.uint8)
    s, e, _, _ = tokenize_block(arr, ord(","), 34)
    sink = cc.StreamSink()
    assert cc.encode_column(sink, arr, s[2::2], e[2::2], trial=True) == cc.STR
    assert sink.params[:2] == bytes([cc.STR, cc.STR_FRONT])


def _sample_encoded():
    rows = [f'{i},{i * 1.5},"t{i % 7}",2021-03-{1 + i % 28:02d},{"x" * (i % 5)}' for i in range(300)]
    data = ("a,b,c,d,e\n" + "\r\n".join(rows)).encode()
    return data, encode_csv(data, ord(","))


def _sample_encoded_prices():
    data = _price_table(150)
    return data, encode_csv(data, ord(","))


def _sample_encoded_names():
    data = _names_table(200)
    return data, encode_csv(data, ord(","))


def _decode_or_cobol_error(streams, params, n, original=None):
    """The hostile-input contract at the transform level: a CobolError, or
    exactly ``n`` bytes (a transform must return the block's length; the frame's
    checksum then tells a wrong block from the right one), and ``original``
    when the input is the encoder's own."""
    try:
        out = decode_csv(streams, params, n)
    except CobolError:
        return
    assert isinstance(out, bytes) and len(out) == n
    if original is not None:
        assert out == original


@SETTINGS
@given(st.data())
def test_corrupt_streams_raise_cobol_error(d):
    data, enc = d.draw(st.sampled_from([_sample_encoded, _sample_encoded_prices, _sample_encoded_names]))()
    streams = [bytearray(s) for s in enc.streams]
    i = d.draw(st.integers(0, len(streams) - 1))
    action = d.draw(st.sampled_from(["flip", "truncate", "extend"]))
    s = streams[i]
    if action == "flip" and s:
        pos = d.draw(st.integers(0, len(s) - 1))
        s[pos] ^= d.draw(st.integers(1, 255))
    elif action == "truncate":
        del s[d.draw(st.integers(0, len(s))):]
    else:
        s += d.draw(st.binary(min_size=1, max_size=8))
    mutated = [bytes(x) for x in streams]
    unchanged = mutated == [bytes(x) for x in enc.streams]  # a truncation at the end is none
    _decode_or_cobol_error(mutated, enc.params, len(data), data if unchanged else None)


@SETTINGS
@given(st.binary(max_size=64), st.binary(max_size=64), st.integers(0, 5000))
def test_garbage_raises_cobol_error(params, stream, raw_len):
    _decode_or_cobol_error([stream], params, raw_len)
    _decode_or_cobol_error([stream], bytes([1]), raw_len)


def test_wrong_length_raises():
    data, enc = _sample_encoded()
    for n in (0, len(data) - 1, len(data) + 1, 10 * len(data)):
        with pytest.raises(CobolError):
            decode_csv(enc.streams, enc.params, n)
    with pytest.raises(CobolError):
        decode_csv(enc.streams, b"\x09", len(data))
    with pytest.raises(CobolError):
        decode_csv(enc.streams + [b"x"], enc.params, len(data))


# --------------------------------------------------------------- engine --

def _sample_table(n=3000, delim=","):
    rng = random.Random(7)
    rows = [delim.join([str(i), f"{rng.uniform(-90, 90):.6f}", rng.choice(["NY", "CA", "TX"]),
                        f"2023-01-{1 + i % 28:02d} 12:{i % 60:02d}:00", f'"Name, {rng.randint(0, 99)}"'])
            for i in range(n)]
    return (delim.join(["id", "lat", "state", "when", "name"]) + "\r\n" + "\r\n".join(rows) + "\r\n").encode()


@pytest.mark.parametrize("delim,fmt", [(",", "csv"), ("\t", "tsv")])
def test_engine_roundtrip_and_detection(delim, fmt):
    data = _sample_table(delim=delim)
    assert detect(data) == fmt
    blob = cobol.compress(data, level=9)
    assert cobol.decompress(blob) == data
    # the CSV plan beats plain zstd on a typed table
    import zstandard
    assert len(blob) < len(zstandard.ZstdCompressor(level=9).compress(data))


def test_engine_small_blocks():
    data = _sample_table(2000)
    blob = cobol.compress(data, level=3, block_size=16 << 10)
    assert cobol.decompress(blob) == data


def test_field_order_kernels_match_a_stable_sort():
    # ragged tables: the counting sort must give exactly the stable argsort
    # of the fields' columns, and the decoder the same per-column counts
    rng = np.random.default_rng(5)
    for _ in range(50):
        ncols = int(rng.integers(1, 10))
        row_nf = rng.integers(1, ncols + 3, int(rng.integers(1, 200))).astype(np.int64)
        cols = np.concatenate([np.minimum(np.arange(k), ncols - 1) for k in row_nf])
        order, counts = K.column_major_fields(row_nf, ncols)
        assert (order == np.argsort(cols, kind="stable")).all()
        assert (counts == np.bincount(cols, minlength=ncols)).all()
        assert (column_counts(row_nf, ncols) == counts).all()  # the decode side's counts
        # the encoder's fused kernel: the same order applied to the spans
        starts = rng.integers(0, 1 << 40, int(row_nf.sum()))
        ends = starts + rng.integers(0, 50, starts.shape[0])
        cs, ce, counts2 = K.column_major_spans(starts, ends, row_nf, ncols)
        assert (cs == starts[order]).all() and (ce == ends[order]).all() and (counts2 == counts).all()


# -------------------------------------------------------- pinned frames --
# Frames written by main at a9fb311 (before the decoder was rebuilt around one
# entry table; level 3, plan "csv", xxh3): they must keep decoding. A is a regular table
# with row matches, templates, dictionaries, quoted fields and numbers with
# exceptions; B a ragged one with CRLF and LF rows and ";" as delimiter.

def _pinned_table_a() -> bytes:
    rows = ["id,date,city,price,qty,note"]
    for i in range(120):
        if i % 3 == 2:  # repeats the row before but for its id
            prev = rows[-1].split(",", 1)[1]
            rows.append(f"{1000 + i},{prev}")
            continue
        price = "n/a" if i % 17 == 0 else f"{(i * 37) % 500 / 4:.2f}"
        note = '"a, ""b"""' if i % 4 == 0 else "x"
        rows.append(f"{1000 + i},2021-{1 + i // 30:02d}-{1 + i % 28:02d}T{i % 24:02d}:00,"
                    f"{('Oslo', 'Lima', 'Pune')[i % 3]},{price},{i % 5},{note}")
    return ("\n".join(rows) + "\n").encode()


def _pinned_table_b() -> bytes:
    rows = []
    for i in range(150):
        k = 4 if i % 11 else 2 + i % 5
        fields = [str((i * 7919) % 1000 - 300), f"{i / 8:.3f}", "", "name" + str(i % 9), "+1", "tail"][:k]
        rows.append(";".join(fields))
    return ("\r\n".join(rows[:60]) + "\r\n" + "\n".join(rows[60:])).encode()


PINNED_CSV_A = bytes.fromhex(
    "434f424c010280808004b2b321fe01f2020082251401010104da028a0747b4b7b00cfba4f9f0868a4422710080d8ffaf"
    "fd66ee93f3f62296c42c697469ae5f1b54f29680554a2111d29640287feaa6fe63803a27e0981886631124be06765926"
    "51dc8531850169e6ae53bc4c99cd2dd454aef6b5305fee3d2004c06612501807f6b39f5b1c074544b8a7d20c4f084148"
    "5123f70aa0d5f9d42b8d6154b637158c6359e97e54d3612c6d2d7909348e46582cb4452c23bd98c5a5b6393dddd6a6c0"
    "101cfbf0d874db58f983901cc1bf3242a48ac4e58902b2063ce5b791e09a70edc5da1a18975a81ac1950081a1b506eb0"
    "b9cab9631135700d479d8bc035151fad6c7c4f759dff58f88559e4dbba93c3d4a962f5f9e65e972e6f0ff5f83295d7c4"
    "43738e983adc22f15f5c6de3852614d6485c90122797d45096947421890a2ec40b0cefd14278c1adf9490f199a49bdf1"
    "e1e9f2f854ef060ff514db203e880db05e42c04181f71608d6bafc241e5379fd4b1784bbfbd4a91ef635b5b41cb5b468"
    "4e730200018225a59b3762")

PINNED_CSV_B = bytes.fromhex(
    "434f424c010280808004b2b321fe01a40200f71414010101018c02b6072a854f3243e62f290c765fa928b52ffd00001d"
    "080012cc2e342053d401000c08410282208808508d8c42607462c06e69aaa9490adbf6ed5dc8c40580a4490bde7609a6"
    "fefe2776bec424912905b604513e51a5efaace9d73ceb93a7f18b554bbf8760d95f99ba3ff47758bc8b2128229272624"
    "232221201f9e4707c7864606c685454547c16d125a04c48343d6b0a09080801d1814100c5c02002190253dd3aab75b72"
    "daea3af39deb1ce7367f09bdee727595a8cb3ce6a7d11bee135031fc917d97a87ce13eb2b4ffc8575fed69a98fc726b4"
    "222020831ab60688e10114d6192c4238fe81719c1db0810f4c5822c821761d67b3d136c8a916810970f65e0d8c470084"
    "450010ae16418b089a484da6532e6bc69dc8aeab040001f7142c16a161")


@pytest.mark.parametrize("frame,make", [(PINNED_CSV_A, _pinned_table_a), (PINNED_CSV_B, _pinned_table_b)])
def test_pinned_csv_frames_decode(frame, make):
    from cobol.info import frame_info
    assert frame_info(frame).plans == {"csv": 1}
    assert cobol.decompress(frame) == make()


def test_small_int_streams_keep_their_bytes():
    # the Numba varint kernels write what the per-value Python loop wrote
    # (tag, count, zigzag varints) and read it back, extremes included
    from cobol.format.wire import put_varint
    from cobol.layers.primitives import zigzag_int
    rng = np.random.default_rng(11)
    cases = [np.array([-2**63, 2**63 - 1, 0, -1, 1], np.int64), np.zeros(0, np.int64)]
    cases += [rng.integers(-2**63, 2**63 - 1, int(rng.integers(1, cc.SMALL_INTS + 1)), dtype=np.int64)
              for _ in range(20)]
    for v in cases:
        want = bytearray([cc.INTS_SMALL])
        put_varint(want, v.shape[0])
        for x in v.tolist():
            put_varint(want, zigzag_int(x))
        assert cc.encode_ints(v) == bytes(want)
        assert (cc.decode_ints(bytes(want), cc.SMALL_INTS) == v).all()
        with pytest.raises(CobolError):
            cc.decode_ints(bytes(want) + b"\x00", cc.SMALL_INTS)
        if v.shape[0]:
            with pytest.raises(CobolError):
                cc.decode_ints(bytes(want)[:-1], cc.SMALL_INTS)


def _reference_tokenize(data: bytes, delim: int, quote: int = 34):
    """The tokenizer's grammar (module docstring of csv_tokenizer), one byte at a time."""
    starts, ends, nfs, terms = [], [], [], []
    n, i = len(data), 0
    while i < n:
        first = len(starts)
        while True:
            s = j = i
            if j < n and data[j] == quote:
                j += 1
                while j < n:
                    if data[j] == quote:
                        if j + 1 < n and data[j + 1] == quote:
                            j += 2
                            continue
                        j += 1
                        break
                    j += 1
            while j < n and data[j] not in (delim, 10):
                j += 1
            if j >= n:
                starts.append(s), ends.append(n)
                term, i = 2, n
                break
            if data[j] == delim:
                starts.append(s), ends.append(j)
                i = j + 1
                if i >= n:
                    starts.append(n), ends.append(n)
                    term = 2
                    break
                continue
            crlf = j > s and data[j - 1] == 13
            starts.append(s), ends.append(j - 1 if crlf else j)
            term, i = (1 if crlf else 0), j + 1
            break
        nfs.append(len(starts) - first)
        terms.append(term)
    return starts, ends, nfs, terms


@given(st.lists(st.sampled_from([b"a", b"bcdefghij", b"x" * 17, b",", b"\n", b"\r\n", b'"', b'""', b"\r"]),
                max_size=80), st.sampled_from([ord(","), 9]))
@SETTINGS
def test_tokenizer_matches_the_grammar(parts, delim):
    """The tokenizer scans unquoted fields 8 bytes at a time: fields of every
    length around that, delimiters and line ends near the block's end."""
    data = b"".join(parts).replace(b",", bytes([delim]))
    s, e, nf, term = tokenize_block(np.frombuffer(data, np.uint8), delim, 34)
    assert (s.tolist(), e.tolist(), nf.tolist(), term.tolist()) == _reference_tokenize(data, delim)


@pytest.mark.parametrize("n", [65, 300, 8760, 40000])
@pytest.mark.parametrize("value", [0, -1, 255, 10**12, -(2**63)])
def test_constant_int_streams_skip_trials_with_the_same_bytes(n, value):
    """csv_columns.encode_ints codes a constant array with PLANES alone: the
    bytes must be what the integer codec's full trials pick."""
    from cobol.layers import intcodec

    v = np.full(n, value, np.int64)
    assert cc.encode_ints(v) == bytes([cc.INTS_CODEC]) + intcodec.encode_ints(v)
    assert (cc.decode_ints(cc.encode_ints(v), n) == v).all()


@given(st.lists(st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")), max_size=30),
       st.sampled_from([0, -1, 1]), st.booleans())
@SETTINGS
def test_split_joined_inverts_gather_and_counts(values, count_off, cut_last):
    """split_joined (8 bytes at a time, then byte by byte) gives the values
    back, and flags a wrong count or a missing last separator."""
    joined = b"".join(v + b"\n" for v in values)
    cut = cut_last and bool(joined)
    if cut:
        joined = joined[:-1]
    n = len(values) + count_off
    if n < 0:
        return
    buf, offs, err = K.split_joined(np.frombuffer(joined, np.uint8), 10, n)
    good = joined.count(b"\n") == n and joined[-1:] in (b"", b"\n")
    assert bool(err) != good
    if good:
        assert [bytes(buf[offs[i]:offs[i + 1]]) for i in range(n)] == joined.split(b"\n")[:-1]
        assert cut or count_off or joined.split(b"\n")[:-1] == values


@given(st.binary(min_size=1, max_size=60), st.binary(max_size=20), st.binary(max_size=20))
@SETTINGS
def test_span_hashes_depend_on_the_bytes_only(value, before, after):
    """Row matches compare fields by span_hashes: a value hashes the same
    wherever it sits (word loads inside the block, byte loads at its end)."""
    data = before + value + after + value
    arr = np.frombuffer(data, np.uint8)
    a = len(before)
    b = len(data) - len(value)
    s = np.array([a, b, a], np.int64)
    e = np.array([a + len(value), len(data), a + len(value) - 1], np.int64)
    h = K.span_hashes(arr, s, e)
    assert h[0] == h[1]
    assert h[0] != h[2]  # one byte shorter


# ------------------------------------------------- decode scratch, printers --

def _number_table(rows: int, seed: int) -> bytes:
    rng = random.Random(seed)
    lines = [b"id,price,qty,name,code"]
    for i in range(rows):
        price = f"{rng.randint(-99999, 99999) / 100:.2f}".encode()
        name = b'"a, b"' if rng.random() < 0.1 else rng.choice([b"x", b"yy", b"zzz"])
        lines.append(b"%d,%s,%d,%s,%05d" % (i, price, rng.randint(0, 9), name, rng.randint(0, 99999)))
    return b"\r\n".join(lines) + b"\r\n"


def test_decode_scratch_is_reused_across_blocks_of_other_shapes():
    """The arena, offsets, entry table and quote flags are a thread's scratch
    memory, reused by the next block: a block decoded after a larger or
    differently shaped one must not read what that one left there."""
    wide = _number_table(3000, 1)
    repeats = b"k,v,w\n" + b"".join(b"%d,%d,same\n" % (i % 7, i % 3) for i in range(500))
    small = b'a;b\n1;"x"\n2;y\n' * 10
    blocks = [wide, repeats, small, wide[:5000], repeats, wide]
    encs = [encode_csv(b, ord(";") if b is small else ord(","), level=3) for b in blocks]
    for _ in range(2):
        for b, enc in zip(blocks, encs):
            assert decode_csv(enc.streams, enc.params, len(b)) == b


def test_decode_scratch_is_per_thread():
    from concurrent.futures import ThreadPoolExecutor

    blocks = [_number_table(2000 + 500 * k, k) for k in range(4)]
    encs = [encode_csv(b, ord(","), level=3) for b in blocks]

    def decode_all(k):
        return all(decode_csv(encs[j].streams, encs[j].params, len(blocks[j])) == blocks[j]
                   for j in [(k + i) % 4 for i in range(8)])

    with ThreadPoolExecutor(4) as pool:
        assert all(pool.map(decode_all, range(8)))


def test_scratch_keeps_only_modest_arrays():
    a = cc.scratch("test", 1000, np.int64)
    assert a.shape == (1000,) and a.dtype == np.int64
    assert np.shares_memory(cc.scratch("test", 10, np.int64), a)
    big = cc.scratch("test", cc.SCRATCH_KEEP_BYTES // 8 + 1, np.int64)
    assert not np.shares_memory(big, cc.scratch("test", 10, np.int64))


@given(st.lists(st.tuples(st.integers(-(10 ** 17), 10 ** 17), st.integers(0, 6)), min_size=1, max_size=60),
       st.integers(1, 12), st.lists(st.integers(0, 59), max_size=5, unique=True))
@SETTINGS
def test_decimal_printers_print_what_python_prints(pairs, width, exc_at):
    """The one-pass printer into the arena (numbers measured, checked and
    printed value by value) and format_decimals (its own buffer) against
    Python's formatting, exceptions spliced."""
    max_scale = 6
    vals = np.array([v - v % 10 ** (max_scale - s) for v, s in pairs], np.int64)
    scales = np.array([s for _, s in pairs], np.int64)
    n = vals.shape[0]
    # exception positions among the n + len(epos) entries (p <= n is inside)
    epos = np.array(sorted(p for p in exc_at if p <= n), np.int64)
    exc = [b"N/A", b"", b"+1", b"1e3", b"-0"][: epos.shape[0]]
    ebuf = np.frombuffer(b"".join(exc), np.uint8)
    eoffs = np.zeros(epos.shape[0] + 1, np.int64)
    eoffs[1:] = np.cumsum([len(x) for x in exc])
    entries, it = [], iter(zip(vals.tolist(), scales.tolist()))
    for i in range(n + epos.shape[0]):
        if i in epos.tolist():
            entries.append(exc[epos.tolist().index(i)])
            continue
        v, sc = next(it)
        a = abs(v) // 10 ** (max_scale - sc)
        text = str(a // 10 ** sc).zfill(width) + (f".{a % 10 ** sc:0{sc}d}" if sc else "")
        entries.append((("-" if v < 0 else "") + text).encode())
    want_buf, want_offs, err = K.format_decimals(vals, scales, max_scale, width, 1 << 20, ebuf, eoffs, epos)
    assert err == 0
    assert bytes(want_buf) == b"".join(entries)
    assert [bytes(want_buf[want_offs[i]:want_offs[i + 1]]) for i in range(len(entries))] == entries
    if entries and any(entries):  # one byte under the text: refused
        assert K.format_decimals(vals, scales, max_scale, width, len(want_buf) - 1, ebuf, eoffs, epos)[2] == 2
    total = int(want_offs[-1])
    at, k0 = 5, 2
    buf = np.full(at + total + K.COPY_SLACK, 0xEE, np.uint8)
    offs = np.zeros(k0 + n + epos.shape[0] + 1, np.int64)
    end, err = K.format_decimals_into(vals, scales, max_scale, width, ebuf, eoffs, epos, buf, offs, at, k0)
    assert (end, err) == (at + total, 0)
    assert bytes(buf[at:end]) == bytes(want_buf)
    assert (offs[k0:] == want_offs + at).all()
    # one byte less room: refused (err 2), whatever was printed so far
    short = np.zeros(at + total - 1 + K.COPY_SLACK, np.uint8)
    if total:
        assert K.format_decimals_into(vals, scales, max_scale, width, ebuf, eoffs, epos, short, offs, at, k0)[1] == 2


def _numeric_table(rows, headers, seed, quoted_every=0, width=1):
    """Numeric columns (mixed scales, negatives, zero padding) under ``headers``
    text rows: every column has the header rows as exceptions."""
    rng = random.Random(seed)
    lines = [",".join(f"h{j}_{i}" for j in range(5)) for i in range(headers)]
    for r in range(rows):
        a = rng.randint(-5000, 5000)
        fields = [str(r), str(a).zfill(width) if a >= 0 else str(a), f"{rng.randint(0, 10**6) / 100:.2f}",
                  f"{rng.uniform(-3, 3):.{rng.randint(0, 4)}f}", str(rng.choice([7, 7, 7, 8]))]
        if quoted_every and r % quoted_every == 0:
            fields[1] = f'"{fields[1]}"'
        lines.append(",".join(fields))
    return ("\n".join(lines) + "\n").encode()


@pytest.mark.parametrize("headers", [0, 1, 2, 4, 5, 9])
@pytest.mark.parametrize("quoted_every,width", [(0, 1), (7, 1), (0, 5)])
def test_numbers_printed_by_the_assembler_roundtrip(headers, quoted_every, width):
    """Numeric columns go to the row assembler (COL_NUMBERS) with their header
    rows as exceptions: up to FEW_EXCEPTIONS read by the plain-Python path,
    more by the general one; quoted values and zero-padded widths too."""
    data = _numeric_table(300, headers, headers * 10 + quoted_every, quoted_every, width)
    for level in (3, 19):
        enc = encode_csv(data, ord(","), level=level)
        assert decode_csv(enc.streams, enc.params, len(data)) == data
        assert cobol.decompress(cobol.compress(data, level)) == data


def test_numbers_with_repeated_rows_roundtrip():
    """A table whose rows repeat most fields of an earlier row (row matches)
    next to numeric columns: repeated rows keep the arena path."""
    rows = [b"id,a,b,c"] + [b"%d,%d,%d.5,x%d" % (i, i // 3, i // 3, i // 3) for i in range(2000)]
    data = b"\n".join(rows) + b"\n"
    for level in (3, 19):
        assert cobol.decompress(cobol.compress(data, level)) == data


@given(st.lists(st.integers(0, 20000), min_size=1, max_size=6, unique=True),
       st.lists(st.binary(max_size=6), min_size=6, max_size=6), st.booleans())
@SETTINGS
def test_few_exceptions_read_as_the_general_path_reads_them(positions, texts, same):
    """The plain-Python reader of a short exception column gives what the
    general decoder gives, or leaves the streams to it (None, nothing read)."""
    pos = np.array(sorted(positions), np.int64)
    m = pos.shape[0]
    values = [texts[0]] * m if same else texts[:m]
    data = b"".join(values)
    starts = np.cumsum([0] + [len(v) for v in values[:-1]]).astype(np.int64)
    ends = starts + np.array([len(v) for v in values], np.int64)
    sink = cc.StreamSink()
    sink.ints(pos, "pos")
    cc.encode_column(sink, np.frombuffer(data, np.uint8), starts, ends, typed=False)
    n = int(pos[-1]) + 1

    def source():
        return cc.StreamSource(cc.Reader(bytes(sink.params), what="t"), sink.streams)

    src = source()
    want = cc._decode_exceptions(src, n, 1, 1 << 20, 0)
    few = cc._few_exceptions(sink.streams[0], n)
    if m > cc.FEW_EXCEPTIONS or pos[-1] >= 8192:  # (positions of 3-byte varints: the general path)
        assert few is None
        return
    assert few == pos.tolist()
    src2 = source()
    src2.next("positions")
    text = cc._few_texts(src2, m, 1 << 20)
    if text is None:
        assert (src2.pos, src2.params.pos) == (1, 0)
        return
    assert bytes(text[0]) == bytes(want[0]) and text[1].tolist() == want[1].tolist()
    assert (src2.pos, src2.params.pos) == (src.pos, src.params.pos)


def test_assembler_refuses_bad_number_columns():
    """assemble_numbers' COL_NUMBERS checks: a column's numbers out of their
    buffers, a value that does not print, values or exceptions left over."""
    from cobol.layers.csv_tokenizer import (ASSEMBLE_SLACK, COL_NUMBERS, NUM_ECOUNT, NUM_FIELDS, NUM_MAX_SCALE,
                                            NUM_VCOUNT, NUM_WIDTH, assemble_numbers)

    def run(nums, cols, epos=np.zeros(0, np.int64), ebuf=b"", nrows=3):
        out = np.zeros(200 + ASSEMBLE_SLACK, np.uint8)
        buf = np.zeros(len(ebuf) + ASSEMBLE_SLACK, np.uint8)
        buf[:len(ebuf)] = np.frombuffer(ebuf, np.uint8)
        offs = np.array([0, len(ebuf)] if ebuf else [0], np.int64)
        return assemble_numbers(out, buf, offs, np.zeros(nrows, np.int64), np.array([0, nrows], np.int64),
                        np.zeros(1, np.int64), np.array([COL_NUMBERS], np.int64), np.zeros(nrows, np.bool_),
                        np.ones(nrows, np.int64), np.zeros(nrows, np.uint8), 44, 34,
                        np.array(nums, np.int64), np.zeros(0, np.int64), epos, np.array([cols], np.int64)), out

    def cols(nv, ne=0, width=1, scale=0):
        row = [0] * NUM_FIELDS
        row[NUM_VCOUNT], row[NUM_ECOUNT], row[NUM_WIDTH], row[NUM_MAX_SCALE] = nv, ne, width, scale
        row[2] = -1  # NUM_SSTART: every value at the largest scale
        return row

    p, out = run([12, -5, 0], cols(3))
    assert bytes(out[:p]) == b"12\n-5\n0\n"
    p, out = run([125, 7], cols(2, 1, 1, 1), np.array([1], np.int64), b"N/A")
    assert bytes(out[:p]) == b"12.5\nN/A\n0.7\n"
    assert run([12, -5], cols(2))[0] == -1  # a slot without a value
    assert run([1, 2, 3, 4], cols(4))[0] == -1  # a value left over
    assert run([1, 2, 3], cols(4))[0] == -1  # more values than the buffer holds
    assert run([10 ** 18, 2, 3], cols(3))[0] == -1  # does not print
    assert run([1, 2, 3], cols(3, width=20))[0] == -1
    assert run([1, 2], cols(2, 1), np.array([5], np.int64), b"x")[0] == -1  # exception outside the column


@given(st.lists(st.integers(0, 5000), min_size=1, max_size=4, unique=True),
       st.lists(st.binary(max_size=5), min_size=4, max_size=4), st.booleans(), st.booleans())
@SETTINGS
def test_few_exceptions_written_as_the_general_path_writes_them(positions, texts, same, lf_free):
    """The plain-Python writer of 1..FEW_EXCEPTIONS exceptions gives the
    general path's params and streams byte for byte (or declines)."""
    pos = sorted(positions)
    n = pos[-1] + 1
    cells = [b"7"] * n
    for j, p in enumerate(pos):
        cells[p] = texts[0] if same else texts[j]
    if lf_free:
        cells = [c.replace(b"\n", b"") for c in cells]
    data = np.frombuffer(b"".join(cells), np.uint8)
    starts = np.cumsum([0] + [len(c) for c in cells[:-1]]).astype(np.int64)
    ends = starts + np.array([len(c) for c in cells], np.int64)
    bad = np.zeros(n, np.bool_)
    bad[pos] = True
    fast = cc.StreamSink()
    if not cc._encode_few_exceptions(fast, data, starts, ends, np.array(pos, np.int64), "c", lf_free):
        return
    general = cc.StreamSink()
    general.ints(np.array(pos, np.int64), "c.exc_pos")
    cc.encode_column(general, data, starts[pos], ends[pos], typed=False, name="c.exc", lf_free=lf_free)
    assert (bytes(fast.params), fast.streams, fast.names) == (bytes(general.params), general.streams, general.names)


@pytest.mark.parametrize("ncols", [15, 16, 40])
def test_wide_tables_assembled_in_row_blocks(ncols, monkeypatch):
    """assemble takes blocks of ASSEMBLE_TILE_ROWS rows of a table of at least
    ASSEMBLE_TILE_MIN_COLUMNS columns column by column when every row of the
    block has one field per column, and the rest row by row: ragged rows
    (short, long), quoted fields, dictionary and text columns, CRLF and a last
    row without a terminator in blocks of either kind give the text back."""
    from cobol.layers.csv_tokenizer import ASSEMBLE_TILE_MIN_COLUMNS, ASSEMBLE_TILE_ROWS
    assert ASSEMBLE_TILE_MIN_COLUMNS == 16
    rng = random.Random(ncols)
    rows = []
    for r in range(5 * ASSEMBLE_TILE_ROWS + 7):
        k = ncols
        if r in (70, 200, 201):
            k = ncols - 3 if r != 201 else ncols + 2  # ragged rows break those blocks' tiles
        cells = []
        for c in range(k):
            if c % 5 == 0:
                cells.append(rng.choice(["red", "green", "blue"]))  # a dictionary column
            elif c % 5 == 1:
                cells.append(f"id-{rng.randint(0, 10 ** 6)}")
            elif c % 5 == 2:
                cells.append('"a, b"' if rng.random() < 0.3 else "ab")  # some quoted
            elif c % 5 == 3:
                cells.append(f"v{rng.random():.4f}")
            else:
                cells.append("".join(rng.choice("xyz ") for _ in range(rng.randint(0, 30))))
        rows.append(",".join(cells))
    text = "\r\n".join(rows[:150]) + "\r\n" + "\n".join(rows[150:])  # no terminator on the last row
    from cobol.layers import l2_csv
    calls = []
    real = l2_csv.assemble
    monkeypatch.setattr(l2_csv, "assemble", lambda *a: calls.append(1) or real(*a))
    roundtrip(text.encode())
    assert calls  # (no numeric columns: assemble_numbers would print them)


def _git_log_stat(commits: int = 25) -> bytes:
    """Text shaped like ``git log --stat``: most lines hold one '|' (a diffstat)."""
    rng = random.Random(7)
    words = ["fix", "add", "parser", "docs", "update", "tests", "remove", "build", "config", "cache"]
    dirs = ["src", "tests", "docs", "bench", "src/cobol/layers", ".github/workflows"]
    out = []
    for i in range(commits):
        out.append(f"commit {rng.getrandbits(160):040x}\nAuthor: dev{i % 5} <dev{i % 5}@example.org>\n"
                   f"Date:   Mon Dec {1 + i % 28} 10:{i % 60:02d}:00 2026 +0000\n\n"
                   f"    {' '.join(rng.choice(words) for _ in range(6))}\n\n")
        for _ in range(rng.randint(40, 70)):
            name = f"{rng.choice(dirs)}/{rng.choice(words)}_{rng.randint(0, 30)}.py"
            n = rng.randint(1, 400)
            out.append(f" {name:<48} | {n:4} {'+' * min(n, 30)}\n")
        out.append(f" {rng.randint(8, 20)} files changed, {rng.randint(10, 900)} insertions(+)\n\n")
    return "".join(out).encode()


def test_text_detected_as_a_table_is_planned_as_text_too():
    data = _git_log_stat()
    assert detect(data) == "csv" and len(data) <= P.SMALL_BROTLI_TEXT_MAX
    ctx = CobolEngine(level=3)._context("csv")
    as_table = P._choose_plan(data, ctx, "auto", True)
    assert P._weak_table(as_table)
    chosen = P.choose_plan(data, ctx, "auto", True)
    as_text = P._choose_plan(data, replace(ctx, fmt="text"), "auto", True)
    assert chosen.stored_size == min(as_table.stored_size, as_text.stored_size)
    assert chosen.stored_size < 0.95 * as_table.stored_size, (chosen.stored_size, as_table.stored_size)
    blob = cobol.compress(data, level=3)
    assert cobol.decompress(blob) == data and len(blob) < 0.95 * (as_table.stored_size + 20)


def test_a_real_table_is_not_planned_as_text():
    rng = random.Random(3)
    data = "".join(f"{i},{rng.randint(0, 99)},{rng.choice(['a', 'b', 'c'])},{i * 0.5}\n"
                   for i in range(3000)).encode()
    assert detect(data) == "csv"
    best = P._choose_plan(data, CobolEngine(level=3)._context("csv"), "auto", True)
    assert best.transform.name == "csv" and not P._weak_table(best)
