"""Integer codec (intcodec) and the numeric arrays transform: round trips, choices, hostile input."""

import struct

import numpy as np
import pytest
import zstandard
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import cobol
from cobol.errors import CobolError, FormatError, LimitError
from cobol.layers import intcodec as ic
from cobol.layers.numeric import DTYPES, NumericArrayTransform, element_phase, parse_dtype
from cobol.registry import DecodeContext, EncodeContext, get_transform
from support import corpus_files, dtype_hint

I64 = np.iinfo(np.int64)
T = NumericArrayTransform()
MODE_SETS = [(ic.PACKED,), (ic.PLANES,), (ic.DICT, ic.PLANES), (ic.SPARSE, ic.PLANES), (ic.ESCAPE, ic.PLANES),
             (ic.BUCKET, ic.PLANES), (ic.NIBBLES, ic.PLANES), (ic.DICT, ic.BUCKET, ic.ESCAPE, ic.NIBBLES, ic.PACKED),
             ic.ALL_MODES]


def int_arrays():
    rng = np.random.default_rng(0)
    return {
        "empty": np.zeros(0, np.int64),
        "one": np.array([-5], np.int64),
        "extremes": np.array([I64.min, I64.max, 0, -1, I64.max, I64.min], np.int64),
        "random64": rng.integers(I64.min, I64.max, 3000, dtype=np.int64),
        "small": rng.integers(-5, 5, 5000),
        "counter": np.cumsum(rng.integers(0, 100, 5000)),
        "minutes": np.arange(5000) * 60 + 978_310_020,
        "few values": rng.choice([-7, 3, 10**12], 5000),
        "sparse": np.where(rng.random(5000) < 0.01, rng.integers(1, 10**6, 5000), 0),
        "steps": np.repeat(np.arange(50) * 7, 100),
        "long": np.cumsum(rng.integers(-3, 9, 200_000)),  # longer than the trial sample
        "skewed wide": rng.geometric(0.01, 150_000) * np.where(rng.random(150_000) < 0.5, 1, -1),
        "wide ranks": rng.zipf(1.3, 100_000) % 5000,
    }


@pytest.mark.parametrize("name", list(int_arrays()))
def test_intcodec_every_layout_round_trips(name):
    x = np.asarray(int_arrays()[name], np.int64)
    for modes in MODE_SETS:
        blob = ic.encode_ints(x, modes)
        back = ic.decode_ints(blob, x.size)
        assert back.dtype == np.int64 and np.array_equal(back, x), (name, modes)


@pytest.mark.parametrize("name", ["empty", "extremes", "random64", "counter", "few values", "sparse", "skewed wide"])
def test_intcodec_decodes_into_a_narrow_output_by_truncation(name):
    # decode_ints(out=...) writes each value's low bytes into the caller's
    # array from every layout's last kernel (unframe, unpredict, sparse, dict
    # lookup, the bare codes) and checks the count
    x = np.asarray(int_arrays()[name], np.int64)
    for modes in MODE_SETS:
        blob = ic.encode_ints(x, modes)
        for dt in (np.uint8, np.uint16, np.uint32, np.int32, np.uint64):
            out = np.full(x.size, 0x5A, dt)
            assert ic.decode_ints(blob, x.size, out=out) is out
            assert np.array_equal(out, x.astype(dt)), (name, modes, dt)
        with pytest.raises(FormatError):
            ic.decode_ints(blob, x.size + 1, out=np.empty(x.size + 1, np.uint32))


def test_intcodec_picks_the_layout_that_fits():
    arrays = int_arrays()
    assert ic.encode_ints(arrays["skewed wide"])[0] in (ic.ESCAPE, ic.BUCKET)
    poisson = np.cumsum(np.random.default_rng(1).poisson(3, 50_000))
    assert ic.encode_ints(poisson)[0] == ic.NIBBLES
    assert ic.encode_ints(arrays["few values"])[0] == ic.DICT
    assert ic.encode_ints(arrays["sparse"])[0] == ic.SPARSE
    # minutes: common divisor 60, steady steps -> a few bytes for 5000 values
    assert len(zstandard.ZstdCompressor(level=3).compress(ic.encode_ints(arrays["minutes"]))) < 100
    assert ic.choose_layout(arrays["counter"])[0][0] < 5000 * 8 / 4


def test_intcodec_sections_are_padded_to_zstd_blocks():
    # two byte planes of 100k values: the second starts on a 128 KiB boundary
    x = np.random.default_rng(2).integers(0, 60_000, 100_000)
    blob = ic._encode_planes(x.size, *ic._frame_of_reference(x), 0, False, False)
    assert np.array_equal(ic.decode_ints(blob, x.size), x)
    assert len(blob) == ic.ZSTD_BLOCK + x.size  # plane 0 + padding to 128 KiB, then plane 1
    assert blob[ic.ZSTD_BLOCK:ic.ZSTD_BLOCK + 1000] == (x[:1000] >> 8).astype(np.uint8).tobytes()
    bad = bytearray(blob)
    bad[ic.ZSTD_BLOCK - 5] = 1  # a nonzero padding byte
    with pytest.raises(FormatError, match="padding"):
        ic.decode_ints(bytes(bad), x.size)


def test_intcodec_limits_and_hostile_input():
    x = np.arange(1000, dtype=np.int64)
    blob = ic.encode_ints(x)
    with pytest.raises(LimitError):
        ic.decode_ints(blob, 999)
    for bad in (b"", b"\x09\x01", b"\x02\x05\x03\x00\x09", b"\x01\x01\x00\x00"):
        with pytest.raises(CobolError):
            ic.decode_ints(bad, 100)


def test_intcodec_corruption_never_crashes():
    rng = np.random.default_rng(5)
    blobs = []
    for name in ("small", "counter", "minutes", "few values", "sparse", "random64"):
        x = np.asarray(int_arrays()[name], np.int64)[:2000]
        for modes in MODE_SETS:
            blobs.append((ic.encode_ints(x, modes), x.size))
    for _ in range(3000):
        blob, n = blobs[rng.integers(len(blobs))]
        b = bytearray(blob)
        kind = rng.integers(3)
        if kind == 0:
            b[rng.integers(len(b))] ^= 1 << int(rng.integers(8))
        elif kind == 1:
            b = b[: rng.integers(len(b))]
        else:
            b[rng.integers(len(b))] = rng.integers(256)
        try:
            back = ic.decode_ints(bytes(b), n)
        except CobolError:
            continue
        assert back.size <= n


@settings(max_examples=50, deadline=None)
@given(x=hnp.arrays(np.int64, st.integers(0, 400)))
def test_intcodec_hypothesis(x):
    assert np.array_equal(ic.decode_ints(ic.encode_ints(x), x.size), x)


# ---------------------------------------------------------------- the transform


def round_trip(data: bytes, hints=None, level=3):
    enc = T.encode(data, EncodeContext(level=level, fmt="numeric", hints=hints or {}))
    if enc is None:
        return None
    assert len(enc.streams) == len(enc.stream_names) == 4
    back = T.decode([bytes(s) for s in enc.streams], bytes(enc.params), len(data), DecodeContext())
    assert back == data
    return enc


def special_floats(dt):
    f = np.finfo(dt)
    bits = np.dtype(f"<u{np.dtype(dt).itemsize}")
    nan_payloads = np.array([0x7FF0000000000001, 0xFFF8000000000123] if bits.itemsize == 8
                            else [0x7F800001, 0xFFC00123], bits).view(dt)
    return np.concatenate([
        np.array([0.0, -0.0, np.inf, -np.inf, f.max, f.min, f.tiny, f.tiny / 4, -f.tiny / 8, f.eps], dt),
        nan_payloads,
    ])


@pytest.mark.parametrize("code", sorted(DTYPES))
def test_every_dtype_round_trips_with_hint_and_residue(code):
    dt = DTYPES[code]
    rng = np.random.default_rng(code)
    if dt.kind == "f":
        arr = np.concatenate([np.round(rng.normal(100, 10, 3000), 2).astype(dt), special_floats(dt),
                              rng.normal(0, 1, 500).astype(dt)])
    else:
        info = np.iinfo(dt)
        arr = np.concatenate([np.cumsum(rng.integers(0, 5, 3000)).astype(dt),
                              np.array([info.min, info.max, 0], dt), rng.integers(info.min, info.max, 300, dtype=dt)])
    raw = arr.tobytes()
    for tail in (b"", b"\x01", b"\x01\x02\x03\x04\x05\x06\x07"[: dt.itemsize - 1]):
        enc = round_trip(raw + tail, {"dtype": dt.str})
        assert enc is not None
        assert f"numeric {dt.name}" in T.describe(enc.params)


@pytest.mark.parametrize("spec", ["<f8", "<f4", "<i4", "<i8", "<i2"])
def test_dtype_and_phase_found_without_hint(spec):
    rng = np.random.default_rng(1)
    dt = np.dtype(spec)
    if dt.kind == "f":
        arr = (20 + np.cumsum(rng.normal(0, 0.01, 20000))).round(2).astype(dt)
    else:
        # every byte significant, so a misaligned reading cannot be as good
        top = np.iinfo(dt).max // 2
        arr = (top + np.cumsum(rng.integers(-20, 60, 20000)) % (top // 4)).astype(dt)
    raw = arr.tobytes()
    enc = round_trip(raw)
    assert enc is not None and f"numeric {dt.name}" in T.describe(enc.params)
    # a block that starts in the middle of an element
    for skip in range(1, dt.itemsize):
        enc = round_trip(raw[skip:])
        assert enc is not None and T.describe(enc.params).endswith(f"head {dt.itemsize - skip}")


def test_element_phase_guess():
    a = np.frombuffer(np.arange(10000, dtype="<i4").tobytes()[1:], np.uint8)
    assert element_phase(a, 4) == 3
    b = np.frombuffer(np.linspace(1, 2, 5000).tobytes()[3:], np.uint8)
    assert element_phase(b, 8) == 5


def test_float_methods_are_chosen_by_the_data():
    rng = np.random.default_rng(2)
    decimals = np.round(rng.normal(50, 5, 20000), 3)
    assert "scaled x1000" in T.describe(round_trip(decimals.tobytes(), {"dtype": "float64"}).params)
    sixtieths = np.sort(rng.integers(0, 1440, 20000)) / 60.0
    assert "scaled x60" in T.describe(round_trip(sixtieths.tobytes(), {"dtype": "float64"}).params)
    walk = np.cumsum(rng.normal(0, 1, 20000))
    d = T.describe(round_trip(walk.tobytes(), {"dtype": "float64"}).params)
    assert "bits" in d or "xor" in d


def test_scaled_exceptions_keep_nan_payloads_and_negative_zero():
    x = np.round(np.linspace(-5, 5, 5000), 1)
    specials = special_floats(np.float64)
    x[::97][: specials.size] = specials
    x[1234] = -0.0
    enc = round_trip(x.tobytes(), {"dtype": "float64"})
    assert "scaled" in T.describe(enc.params)
    assert len(enc.streams[2]) >= 8 * specials.size  # the exceptions travel verbatim


def test_literal_zstd_flag_round_trips():
    # a price walk in cents: long-match zstd beats level-3 zstd on its residuals
    rng = np.random.default_rng(3)
    x = np.round(100 + np.cumsum(rng.normal(0, 0.05, 200_000)), 2)
    enc = round_trip(x.tobytes(), {"dtype": "float64"}, level=3)
    assert enc.params[4] & 1
    enc = round_trip(x.tobytes(), {"dtype": "float64"}, level=19)
    assert not enc.params[4] & 1


def test_unwrapped_counter():
    x = (np.cumsum(np.random.default_rng(4).integers(0, 400_000, 100_000)) % (1 << 32)).astype("<u4")
    enc = round_trip(x.tobytes(), {"dtype": "uint32"})
    assert "unwrapped" in T.describe(enc.params)


def test_hints_parse():
    assert parse_dtype("float64") == np.dtype("<f8")
    assert parse_dtype("<i4") == np.dtype("<i4")
    assert parse_dtype(np.float32) == np.dtype("<f4")
    assert parse_dtype("u2") == np.dtype("<u2")
    for bad in (">i4", "float16", "complex64", "S4", "nonsense", 3.5):
        assert parse_dtype(bad) is None
    raw = np.arange(1000, dtype="<i4").tobytes()
    assert round_trip(raw, {"dtype": "nonsense"}) is not None  # falls back to detection


def test_declines_tiny_and_random_blocks():
    assert T.encode(b"\x00" * 8, EncodeContext(fmt="numeric")) is None
    noise = np.random.default_rng(9).bytes(100_000)
    enc = T.encode(noise, EncodeContext(fmt="binary"))
    assert enc is None


def test_hostile_params_and_streams():
    x = np.round(np.linspace(0, 10, 3000), 2).tobytes()
    enc = T.encode(x, EncodeContext(fmt="numeric", hints={"dtype": "float64"}))
    streams = [bytes(s) for s in enc.streams]
    p = bytes(enc.params)
    ctx = DecodeContext()
    bad_params = [b"", p[:3], bytes([9]) + p[1:], p[:1] + b"\x63" + p[2:], p[:2] + b"\x00" + p[3:],
                  p[:3] + b"\x08" + p[4:], p[:4] + b"\x80" + p[5:], p + b"\x00"]
    for bp in bad_params:
        with pytest.raises(FormatError):
            T.decode(streams, bp, len(x), ctx)
    with pytest.raises(FormatError):
        T.decode(streams[:3], p, len(x), ctx)
    with pytest.raises(FormatError):
        T.decode(streams, p, len(x) + 1, ctx)
    with pytest.raises(CobolError):
        T.decode([streams[0], b"\x01\x01\x00", streams[2], streams[3]], p, len(x), ctx)
    with pytest.raises(CobolError):
        T.decode([streams[0][:-3]] + streams[1:], p, len(x), ctx)


@settings(max_examples=40, deadline=None)
@given(
    code=st.sampled_from(sorted(DTYPES)),
    data=st.binary(min_size=16, max_size=600),
)
def test_hypothesis_any_bytes_with_any_dtype_hint(code, data):
    # with a dtype hint the transform takes any block of 16 bytes or more
    assert round_trip(data, {"dtype": DTYPES[code].str}) is not None


@settings(max_examples=20, deadline=None)
@given(code=st.sampled_from(sorted(DTYPES)), data=st.binary(max_size=15))
def test_hypothesis_blocks_under_16_bytes_are_declined_and_still_round_trip(code, data):
    hints = {"dtype": DTYPES[code].str}
    assert round_trip(data, hints) is None
    assert cobol.decompress(cobol.compress(data, hints=hints)) == data


@settings(max_examples=40, deadline=None)
@given(x=hnp.arrays(st.sampled_from([np.float32, np.float64]), st.integers(0, 300),
                    elements=st.floats(allow_nan=True, allow_infinity=True, width=32)))
def test_hypothesis_floats(x):
    round_trip(x.tobytes(), {"dtype": x.dtype.str})
    with np.errstate(all="ignore"):  # rounding huge values overflows to inf: fine
        rounded = np.round(x, 2)
    round_trip(rounded.tobytes(), {"dtype": x.dtype.str})


# ---------------------------------------------------------------- through the engine


def test_registered_for_numeric_and_binary():
    t = get_transform(10)
    assert t.name == "numeric" and {"numeric", "binary"} <= set(t.formats)


@pytest.mark.parametrize("dtype", ["float64", "float32", "int32", "uint64"])
def test_engine_round_trip_with_dtype_hint(dtype):
    rng = np.random.default_rng(6)
    arr = (np.cumsum(rng.normal(0, 1, 50_000)) * 100).round(1).astype(dtype)
    raw = arr.tobytes() + b"\x07"
    blob = cobol.compress(raw, dtype=dtype)
    assert cobol.decompress(blob) == raw
    assert cobol.frame_info(blob).plans == {"numeric": 1}
    assert len(blob) < len(raw) / 2


def test_engine_round_trip_without_hint():
    arr = np.round(20 + np.cumsum(np.random.default_rng(7).normal(0, 0.05, 100_000)), 2)
    raw = arr.tobytes()
    blob = cobol.compress(raw)
    assert cobol.decompress(blob) == raw
    assert "numeric" in cobol.frame_info(blob).plans


CORPUS = corpus_files("numeric")  # $COBOL_CORPUS/numeric, else samples/numeric


@pytest.mark.slow
@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.name)
def test_corpus_files_round_trip_and_beat_zstd(path):
    raw = path.read_bytes()
    blob = cobol.compress(raw, level=3, hints=dtype_hint(path))
    assert cobol.decompress(blob) == raw
    assert len(blob) < len(zstandard.ZstdCompressor(level=3).compress(raw))


def test_engine_many_blocks_on_threads_misaligned_cuts():
    # small blocks, cut wherever the engine likes (at 0x0A bytes too), encoded
    # on a thread pool: every block finds its own phase, trial compressors are per thread
    rng = np.random.default_rng(8)
    raw = (np.cumsum(rng.integers(-40, 50, 300_000)) + 10**9).astype("<i8").tobytes()
    blob = cobol.compress(raw, block_size=100_003, threads=4)
    assert cobol.decompress(blob, threads=4) == raw
    assert len(blob) < len(raw) / 4


@pytest.mark.parametrize("predictor", range(len(ic.PREDICTOR_WARM)))
def test_intcodec_every_planes_predictor_and_map(predictor):
    rng = np.random.default_rng(predictor)
    noisy = (1000 + 50 * np.sin(np.arange(3000) / 300) + rng.normal(0, 3, 3000)).astype(np.int64)
    for x in (noisy, np.array([I64.max, I64.min, 5, -5] * 10, np.int64), noisy[:3], noisy[:16], noisy[:17]):
        for interleaved in (False, True):
            for use_offset in (False, True):
                blob = ic._encode_planes(x.size, *ic._frame_of_reference(x), predictor, interleaved, use_offset)
                assert np.array_equal(ic.decode_ints(blob, x.size), x)
    if predictor == 4:  # the mean of 16 suits a noisy slow signal best
        assert ic.choose_layout(noisy, (ic.PLANES,))[0][1].startswith("planes o4")


@pytest.mark.parametrize("predictor", range(len(ic.PREDICTOR_WARM)))
def test_planes_and_bucket_decode_every_predictor_and_map_into_any_output(predictor):
    # orders 0 and 1 decode in one fused kernel per layout (chunked for
    # planes), the others through the codes array: both must agree with the
    # NumPy decoder and truncate into narrow outputs alike
    from cobol.layers.intcodec_numpy import decode_ints_numpy
    rng = np.random.default_rng(predictor)
    walk = np.cumsum(rng.integers(-300, 300, 5000))
    for x in (walk, rng.integers(I64.min, I64.max, 2100, dtype=np.int64),
              np.array([I64.max, I64.min, 5, -5] * 10, np.int64), walk[:3], walk[:17], walk[:2049]):
        fr = ic._frame_of_reference(x)
        blobs = [ic._encode_planes(x.size, *fr, predictor, inter, off) for inter in (False, True) for off in (False, True)]
        blobs += [ic._encode_bucket(x.size, *fr, predictor, off) for off in (False, True)]
        for blob in blobs:
            if blob is None:  # bucket: a residual of 2**53 or more
                continue
            assert np.array_equal(ic.decode_ints(blob, x.size), x)
            assert np.array_equal(decode_ints_numpy(blob, x.size), x)
            for dt in (np.uint8, np.int32, np.uint64):
                out = np.full(x.size, 0x5A, dt)
                assert ic.decode_ints(blob, x.size, out=out) is out
                assert np.array_equal(out, x.astype(dt))


def test_dictionary_with_bucket_ranks_decodes_in_one_pass_and_checks_each_rank(monkeypatch):
    # a DICT stream whose ranks are BUCKET without a predictor is decoded by
    # looking each rank up as it is read (_bucket_lookup); other rank layouts
    # through the ranks array: both must agree, and a rank outside the
    # dictionary must raise
    from cobol.format.wire import put_varint
    rng = np.random.default_rng(11)
    values = rng.integers(-10**15, 10**15, 3000)
    idx = np.minimum(rng.zipf(1.2, 50_000), 3000) - 1
    x = values[idx]

    def dict_blob(ranks, vals, rank_modes):
        out = bytearray([ic.DICT])
        put_varint(out, ranks.size)
        put_varint(out, vals.size)
        rb = ic.encode_ints(ranks, rank_modes, _depth=1)
        put_varint(out, len(rb))
        return bytes(out + rb + ic.encode_ints(vals, _depth=1))

    uniq, ranks = np.unique(x, return_inverse=True)
    lookup = ic._lookup
    for modes in ((ic.BUCKET,), (ic.PLANES,), (ic.PACKED,)):
        blob = dict_blob(ranks, uniq, modes)
        if modes == (ic.BUCKET,):
            def no_ranks_array(*a):
                raise AssertionError("bucket ranks went through the ranks array")
            monkeypatch.setattr(ic, "_lookup", no_ranks_array)
        else:
            monkeypatch.setattr(ic, "_lookup", lookup)
        assert np.array_equal(ic.decode_ints(blob, x.size), x)
        out = np.empty(x.size, np.int32)
        assert np.array_equal(ic.decode_ints(blob, x.size, out=out), x.astype(np.int32))
        bad = ranks.copy()
        bad[1234] = uniq.size  # one past the end
        with pytest.raises(FormatError, match="rank"):
            ic.decode_ints(dict_blob(bad, uniq, modes), x.size)


@pytest.mark.parametrize("seed", range(6))
def test_fused_predictor_entropies_equal_the_per_order_ones(seed):
    # the fused pass must give the very floats the per-order computation gives,
    # or the predictor (and so the output bytes) could change
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 3000))
    x = [np.cumsum(rng.integers(-50, 50, n)), rng.integers(-2**62, 2**62, n), rng.integers(0, 3, n),
         np.round(np.sin(np.arange(n) / 30) * 1000 + rng.normal(0, 5, n)), np.arange(n) * 7,
         rng.integers(0, 2**63 - 1, n, dtype=np.int64)][seed].astype(np.int64)
    _, _, y = ic._frame_of_reference(x)
    fused = ic._predictor_entropy_bits(y)
    for order in range(len(ic.PREDICTOR_WARM)):
        d = ic._deltas(y, order)
        r = d if order == 0 else ic._map_residuals(d, np.uint64(0), False)
        assert fused[order] == ic._planes_entropy_bits(r)


def test_bucket_tables_decode_what_the_split_codes():
    rng = np.random.default_rng(3)
    r = np.concatenate([rng.integers(0, 64, 500), rng.integers(0, 2**52, 500),
                        [0, 63, 64, 65, 2**53 - 1]]).astype(np.uint64)
    sym, words, nbits, ok = ic._bucket_split(r)
    assert ok
    # the extra bits read as stored: exactly their bytes, no spare word
    extra = words.view(np.uint8)[:(nbits + 7) // 8].copy()
    back, read = ic._bucket_merge(sym, extra)
    assert (back == r).all() and read == nbits
    ic._check_bucket(read, extra)
    # too few bytes: the reads stay inside them (zeros past the end), the count is off
    _, read = ic._bucket_merge(sym, extra[:-3])
    assert read == nbits
    with pytest.raises(FormatError, match="bytes of extra bits"):
        ic._check_bucket(read, extra[:-3])
    # a symbol above the last is flagged
    bad = sym.copy()
    bad[3] = ic.BUCKET_MAX_SYMBOL + 1
    _, read = ic._bucket_merge(bad, extra)
    with pytest.raises(FormatError, match="bucket symbol above"):
        ic._check_bucket(read, extra)


def test_values_frame_from_the_probe_is_what_the_planner_would_make():
    # the long-match probe covers a values stream up to 256 KiB whole; its plain
    # frame is handed over instead of compressing the stream again
    from cobol import entropy, plan
    from cobol.registry import EncodeContext, Encoded
    rng = np.random.default_rng(3)
    data = np.cumsum(rng.integers(-9, 10, 40000)).astype("<i4").tobytes()
    ctx = EncodeContext(level=3, fmt="numeric", hints={"dtype": "<i4"})
    enc = NumericArrayTransform().encode(data, ctx)
    assert enc.zstd_frames is not None and enc.zstd_frames[0][0] == 3
    assert enc.zstd_frames[0][1] == entropy.entropy_code(enc.streams[0], 3)[1]
    coded = plan._code_streams(enc, 3, False)
    fresh = plan._code_streams(Encoded(enc.params, enc.streams, enc.stream_names), 3, False)
    assert [(c.codec, c.data) for c in coded] == [(c.codec, c.data) for c in fresh]
    # another level or a dictionary codes the stream itself
    assert plan._code_streams(enc, 5, False)[0].data == entropy.entropy_code(enc.streams[0], 5)[1]
    assert cobol.decompress(cobol.compress(data, 3, dtype="<i4")) == data


@pytest.mark.parametrize("dt", ["<i1", "<u1", "<i2", "<u2", "<i4", "<u4"])
def test_narrow_ints_decode_by_truncation_with_and_without_residue(dt):
    # the decoder gathers the low bytes of the int64 values straight into the
    # output; unwrapped counters (values past the dtype's range) must truncate
    info = np.iinfo(dt)
    rng = np.random.default_rng(11)
    wrap = (np.cumsum(rng.integers(0, min(1000, info.max // 3) + 1, 3000)) % (int(info.max) - int(info.min) + 1)
            + int(info.min)).astype(dt)
    edge = np.array([info.min, info.max, 0, -1 if info.min else 1] * 250, dtype=dt)
    for arr in (wrap, edge):
        data = arr.tobytes()
        for blob in (data, b"\x07" + data + b"\x01\x02"[: max(0, np.dtype(dt).itemsize - 1)]):
            assert cobol.decompress(cobol.compress(blob, 3, dtype=dt)) == blob


@pytest.mark.parametrize("spec, method", [(f, m) for f in ("<f8", "<f4") for m in ("scaled", "bits", "xor")]
                         + [(i, "int") for i in ("<i8", "<u8", "<i4", "<u2")])
def test_every_method_decodes_into_aligned_and_misaligned_spans(spec, method):
    # each method's last kernel writes the values straight into the block's
    # span of the output (floats mapped in place from their int codes); a span
    # not aligned to the item size goes through an aligned array and one copy
    from cobol.format.wire import put_varint
    from cobol.layers.numeric import DTYPE_CODES, M_BITS, M_INT, M_SCALED, M_XOR, VERSION, _encode_array
    dt = np.dtype(spec)
    rng = np.random.default_rng(12)
    if dt.kind == "f":
        arr = np.concatenate([np.round(rng.normal(100, 10, 2000), 2).astype(dt), special_floats(dt),
                              np.array([-0.0, 1e-300 if dt.itemsize == 8 else 1e-30], dt)])
    else:
        info = np.iinfo(dt)
        arr = np.concatenate([np.cumsum(rng.integers(0, 5, 2000)).astype(dt), np.array([info.min, info.max, 0], dt)])
    code = {"scaled": M_SCALED, "bits": M_BITS, "xor": M_XOR, "int": M_INT}[method]
    scale = 100 if code == M_SCALED else None
    streams = _encode_array(arr, code, scale) + [b""]
    params = bytearray([VERSION, DTYPE_CODES[dt], code, 0, 0])
    put_varint(params, arr.size)
    if scale:
        put_varint(params, scale)
    data = arr.tobytes()
    for shift in range(dt.itemsize):
        buf = np.full(len(data) + shift, 0xEE, np.uint8)
        T.decode_into(streams, bytes(params), len(data), DecodeContext(), buf[shift:])
        assert buf[shift:].tobytes() == data and (buf[:shift] == 0xEE).all()


def test_pre_trial_keeps_the_layout_the_whole_sample_would_choose(monkeypatch):
    """The pre-trial on 4K values drops only layouts that lose there clearly;
    on a wrapping counter (bucket wins once its sections are padded apart) and
    on a very compressible sparse array (a few bytes of headers decide on 4K
    values) the bytes are those of trying every layout on the whole sample."""
    import unicodedata

    rng = np.random.default_rng(5)
    counter = np.cumsum(rng.integers(0, 40_000, 200_000))  # what UNWRAP makes of a wrapping uint32 counter
    # combining classes of the first 3 planes: 90 vs 100 bytes on 4K values,
    # decided by headers; without PRE_SLACK sparse was dropped (+19%)
    sparse = np.array([unicodedata.combining(chr(c)) for c in range(196_608)], np.int64)
    with_pre = [ic.encode_ints(x) for x in (counter, sparse)]
    monkeypatch.setattr(ic, "PRE_VALUES", 1 << 40)  # no pre-trial
    without = [ic.encode_ints(x) for x in (counter, sparse)]
    assert with_pre == without
    assert [b[0] for b in without] == [ic.BUCKET, ic.SPARSE]


@pytest.mark.parametrize("spec", ["<f8", "<f4"])
def test_scaled_floats_in_runs_decode_from_sparse_codes_a_division_a_run(spec):
    # step-like decimals (long runs of one value, a few -0.0 and NaN
    # exceptions) code as SPARSE; the decoder divides each run's code once,
    # straight into the float output, and must give what dividing every code does
    from cobol.layers.numeric import M_SCALED, _encode_array, _scale_decode
    dt = np.dtype(spec)
    rng = np.random.default_rng(5)
    steps = np.round(rng.normal(0, 50, 300), 1)
    arr = np.repeat(steps, rng.integers(1, 200, steps.size)).astype(dt)
    arr[[7, 500, 9000 % arr.size]] = [-0.0, np.nan, 1e-3]
    for order_1 in (False, True):
        a = np.cumsum(arr).astype(dt) if order_1 else arr
        a = np.round(a.astype(np.float64), 1).astype(dt)
        streams = _encode_array(a, M_SCALED, 10)
        assert streams[0][0] == ic.SPARSE
        out = np.empty(a.size, dt)
        assert ic.decode_scaled_sparse(streams[0], a.size, 10, out)
        every = np.empty(a.size, dt)
        _scale_decode(ic.decode_ints(streams[0], a.size), np.float64(10), every)
        assert out.tobytes() == every.tobytes()
        data = a.tobytes()
        assert cobol.decompress(cobol.compress(data, 3, dtype=spec)) == data
    # another layout is left to decode_ints; a count that does not fit is an error
    assert not ic.decode_scaled_sparse(ic.encode_ints(np.arange(100)), 100, 10, np.empty(100, dt))
    with pytest.raises(FormatError):
        ic.decode_scaled_sparse(streams[0], a.size, 10, np.empty(a.size - 1, dt))


@pytest.mark.parametrize("escaped", [0.003, 0.3])
def test_merge_escape_rare_and_common_escapes(escaped):
    # rare escapes: runs written branch-free and only the runs holding one
    # gone over again; common ones: a branch per code. Same values either way,
    # and the same checks (too few or too many escaped values, a code above the escape)
    rng = np.random.default_rng(8)
    r = rng.integers(0, 255, 5003).astype(np.uint64)
    big = rng.random(r.size) < escaped
    r[big] = rng.integers(255, 10**6, int(big.sum()))
    prim, rest = ic._split_escape(r, 255)
    out = np.empty(r.size, np.int32)
    assert ic._merge_escape(prim, rest, 255, np.uint64(7), np.uint64(3), out)
    assert (out == (7 + 3 * r).astype(np.int32)).all()
    assert not ic._merge_escape(prim, rest[:-1], 255, np.uint64(0), np.uint64(1), out)
    assert not ic._merge_escape(prim, np.concatenate([rest, rest[:1]]), 255, np.uint64(0), np.uint64(1), out)
    assert not ic._merge_escape(prim, rest, 200, np.uint64(0), np.uint64(1), out)


@pytest.mark.parametrize("order", [0, 1])
def test_sparse_split_gives_the_runs_and_residuals_of_a_plain_reference(order):
    # SPARSE's nested streams from one kernel: the zero runs before each nonzero
    # residual and those residuals, as the residual array and its positions give them
    rng = np.random.default_rng(order)
    for y in [np.zeros(0, np.uint64), np.zeros(7, np.uint64), np.array([5], np.uint64),
              np.repeat(rng.integers(0, 9, 300), rng.integers(1, 40, 300)).astype(np.uint64),
              np.where(rng.random(5000) < 0.02, rng.integers(1, 2**63, 5000), 0).astype(np.uint64),
              np.array([2**64 - 1, 0, 2**64 - 1, 2**64 - 1, 1], np.uint64)]:
        d = y.copy() if order == 0 else y - np.concatenate([np.zeros(1, np.uint64), y[:-1]])
        pos = np.flatnonzero(d)
        gaps, vals = ic._sparse_split(y, order)
        assert gaps.dtype == vals.dtype == np.int64
        assert gaps.tolist() == np.diff(np.concatenate([[-1], pos])).astype(np.int64).__sub__(1).tolist()
        assert vals.view(np.uint64).tolist() == d[pos].tolist()


def _element_phase_reference(a, size):
    # the lane change rates counted on a (rows, size) view, as element_phase did before
    if size == 1 or a.size < 4 * size:
        return 0
    lanes = a[:a.size // size * size].reshape(-1, size)
    rate = [c / (lanes.shape[0] - 1) for c in np.count_nonzero(lanes[1:] != lanes[:-1], axis=0).tolist()]
    best, best_key = 0, None
    for p in range(size):
        r = rate[p:] + rate[:p]
        key = (sum(r[j] >= r[j + 1] for j in range(size - 1)), r[0] - r[-1])
        if best_key is None or key > best_key:
            best, best_key = p, key
    return best


def test_element_phase_equals_the_per_lane_reference():
    rng = np.random.default_rng(5)
    arrays = [np.cumsum(rng.integers(-9, 40, 3000)).astype("<i8"), rng.normal(0, 1, 3000).astype("<f4"),
              np.arange(4000, dtype="<u2"), rng.integers(0, 256, 9000, dtype=np.uint8), np.zeros(64, np.uint8)]
    for arr in arrays:
        raw = arr.tobytes()
        for skip in range(4):
            a = np.frombuffer(raw[skip:], np.uint8)
            for size in (1, 2, 4, 8):
                assert element_phase(a, size) == _element_phase_reference(a, size), (arr.dtype, skip, size)


@settings(max_examples=300, deadline=None)
@given(st.integers(-(1 << 63), (1 << 63) - 1),
       st.sampled_from([1, 2, 3, 6, 7, 8, 1000, 86400, 1 << 20, 3 << 40, 12345678901, (1 << 62) + 1]),
       st.lists(st.integers(0, 1 << 20), min_size=1, max_size=60),
       st.integers(-1, 59))
def test_frame_of_reference_by_inverse_equals_gcd_and_division(base, g, ks, spoil):
    """The frame of reference divides by the gcd's odd inverse (and tests
    multiples the same way): base, gcd and quotients as Python's integers give
    them, for multiples of a gcd (odd, even, large), with one value moved off
    the lattice or not, wrapping past 2**63."""
    vals = [(base + g * k) % (1 << 64) for k in ks]
    if 0 <= spoil < len(vals):
        vals[spoil] = (vals[spoil] + 1) % (1 << 64)
    x = np.array(vals, np.uint64).view(np.int64)
    b, gg, y = ic._frame_of_reference(x)
    rb, rg, ry = ic._frame_of_reference_reference(x)
    assert (int(b), int(gg)) == (rb, rg)
    assert np.array_equal(y, ry)


def test_whole_array_frame_scratch_is_reused_and_never_shared(monkeypatch):
    """The frame of reference of a whole array is made in one scratch array per
    thread; an encode nested in one that holds it (escaped excess, dictionary
    ranks, sparse values) gets its own, and the scratch is free again after an
    encoder raises. Every output decodes to its input, as without the scratch."""
    rng = np.random.default_rng(11)
    arrays = [np.cumsum(rng.integers(-3, 4, 70000)),                     # planes/bucket with a predictor
              np.where(rng.random(70000) < 0.02, rng.integers(0, 1 << 40, 70000), rng.integers(0, 200, 70000)),  # escapes
              rng.choice(rng.integers(0, 1 << 30, 300), 70000),           # a dictionary
              np.repeat(rng.integers(0, 1 << 20, 700), 100)]              # sparse runs
    seen = []
    real = ic._whole_frame
    def spy(x):
        fr, held = real(x)
        seen.append((x.size, held))
        return fr, held
    monkeypatch.setattr(ic, "_whole_frame", spy)
    for x in arrays:
        blob = ic.encode_ints(x)
        assert np.array_equal(ic.decode_ints(blob, x.size), x)
        assert not ic._WHOLE.busy
    assert any(held for _, held in seen)
    monkeypatch.setattr(ic, "_whole_frame", real)
    def boom(v, f):
        raise RuntimeError("encoder failed")
    with pytest.raises(RuntimeError):
        ic._encode_whole(boom, arrays[0])
    assert not ic._WHOLE.busy
    # the scratch is not shared: an encode nested inside a held one gets a new array
    fr, held = ic._whole_frame(arrays[0])
    try:
        assert held
        fr2, held2 = ic._whole_frame(arrays[1])
        assert not held2 and not np.shares_memory(fr[2], fr2[2])
    finally:
        ic._WHOLE.busy = False


def test_estimate_without_predictors_is_the_order_0_estimate():
    """estimate_size(values, predictors=False) (XOR floats) is what the full
    estimate gives when order 0 is the best predictor, and never below it."""
    rng = np.random.default_rng(13)
    noise = rng.integers(0, 1 << 40, 5000)
    walk = np.cumsum(rng.integers(-5, 6, 5000)) + (1 << 30)
    assert ic.estimate_size(noise, predictors=False) == ic.estimate_size(noise)
    assert ic.estimate_size(walk, predictors=False) > ic.estimate_size(walk)
    assert ic.estimate_size(np.zeros(0, np.int64), predictors=False) == 2
