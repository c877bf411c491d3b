"""Every accel operation on every usable backend against an independent
reference: the layers' own kernels for L3/L4/intcodec, wire/NumPy/Python for
the rest. Sizes 0, 1, odd and large (several scan levels), every bit width.

The OpenCL backend runs on whatever OpenCL device is there (PoCL on CPUs in
CI); CUDA tests skip without a GPU and CuPy.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from cobol import accel
from cobol.device_frame import compress_device_ints
from cobol.accel import kernels as K
from cobol.errors import FormatError, LimitError
from cobol.format.wire import Reader, put_varint
from cobol.layers import intcodec, l3_delta, l4_bitpack
from support import require_opencl

BACKENDS = ("cpu", "opencl", "cuda")
SIZES = (0, 1, 2, 7, 1001, 70_001)


def _backend(name):
    if name == "opencl":
        return require_opencl()  # PoCL in CI: a failure there, not a skip
    st_ = accel.probe(name)
    if not st_.usable:
        pytest.skip(f"{name} backend not usable here (needs a GPU): {st_.reason}")
    return accel.get_backend(name)


@pytest.fixture(params=BACKENDS)
def backend(request):
    return _backend(request.param)


@pytest.fixture(params=[b for b in BACKENDS if b != "cpu"])
def device(request):
    return _backend(request.param)


def rng_for(*key):
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


def same(a, b):
    a = np.asarray(a)
    b = np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape, (a.dtype, b.dtype, a.shape, b.shape)
    if not np.array_equal(a, b):
        bad = np.flatnonzero((a != b).ravel())
        raise AssertionError(f"{bad.size} differences, first at {bad[0]}: {a.ravel()[bad[0]]} != {b.ravel()[bad[0]]}")


def mixed_ints(n, rng):
    """Runs of counters, timestamps (order 2), noise, constants, zeros and extremes."""
    if n == 0:
        return np.zeros(0, np.int64)
    parts = []
    total = 0
    while total < n:
        k = int(rng.integers(1, 3000))
        kind = int(rng.integers(0, 7))
        if kind == 0:
            p = np.cumsum(rng.integers(0, 5, k))
        elif kind == 1:
            p = 1_700_000_000_000 + 1000 * np.arange(k) + rng.integers(-2, 3, k)
        elif kind == 2:
            p = rng.integers(-(2**62), 2**62, k)
        elif kind == 3:
            p = np.full(k, int(rng.integers(-1000, 1000)))
        elif kind == 4:
            p = np.where(rng.random(k) < 0.9, 0, rng.integers(1, 1 << 20, k))
        elif kind == 5:
            p = rng.choice(np.array([np.iinfo(np.int64).min, np.iinfo(np.int64).max, -1, 0, 1]), k)
        else:
            p = rng.integers(0, 256, k) << int(rng.integers(0, 40))
        parts.append(np.asarray(p, np.int64))
        total += k
    return np.concatenate(parts)[:n]


def width_codes(chunk, rng):
    """One chunk per bit width 0..64 (every value exactly that wide), then a mixed tail."""
    out = []
    for w in range(65):
        if w == 0:
            v = np.zeros(chunk, np.uint64)
        else:
            low = rng.integers(0, 2**63, chunk, dtype=np.uint64, endpoint=True)
            v = (low & np.uint64((1 << (w - 1)) - 1)) | np.uint64(1 << (w - 1))
            # a few small values and zeros so zero-run and patched have something to do
            v[rng.random(chunk) < 0.3] = 0
            v[rng.random(chunk) < 0.2] = np.uint64(3)
        out.append(v)
    return np.concatenate(out + [rng.integers(0, 5, chunk // 2 + 1).astype(np.uint64)])


# ---------------------------------------------------------------- varint


def ref_varints(values) -> bytes:
    out = bytearray()
    for v in values.tolist():
        put_varint(out, v)
    return bytes(out)


@pytest.mark.parametrize("n", SIZES)
def test_varint_round_trip(backend, n):
    rng = rng_for("varint", n)
    v = rng.integers(0, 2**63, n, dtype=np.uint64) >> rng.integers(0, 64, n).astype(np.uint64)
    enc = backend.varint_encode(v)
    if n <= 2000:
        assert enc == ref_varints(v)
    else:
        assert enc == accel.get_backend("cpu").varint_encode(v)
    same(backend.varint_decode(enc, n), v)


def test_varint_every_bit_length(backend):
    vals = [0] + [x for k in range(1, 65) for x in ((1 << k) - 1, 1 << (k - 1))]
    v = np.array(vals, np.uint64)
    enc = backend.varint_encode(v)
    assert enc == ref_varints(v)
    same(backend.varint_decode(enc, len(vals)), v)


@pytest.mark.parametrize("buf", [
    b"\x80",                      # truncated
    b"\x01\xff\xff",              # truncated at the end
    b"\x80" * 10 + b"\x01",       # 11 bytes
    b"\x05\x80\x00",              # not minimal
    b"\xff" * 9 + b"\x02",        # above 64 bits
    b"\x01\x02\x80\x80\x00\x03",  # not minimal in the middle
])
def test_varint_decode_rejects(backend, buf):
    with pytest.raises(FormatError):
        backend.varint_decode(buf, 100)
    with pytest.raises(FormatError):  # the wire reader agrees
        r = Reader(buf)
        while r.remaining:
            r.varint()


def test_varint_decode_limit(backend):
    with pytest.raises(LimitError):
        backend.varint_decode(b"\x01\x02\x03", 2)


def test_varint_large_scan(device):
    """More than SCAN_TILE**2 values: the scan recurses twice."""
    n = K.SCAN_TILE * K.SCAN_TILE + 3
    v = (np.arange(n, dtype=np.uint64) * np.uint64(2654435761)) >> np.uint64(7)
    enc = device.varint_encode(v)
    assert enc == accel.get_backend("cpu").varint_encode(v)
    same(device.varint_decode(enc, n), v)


# ---------------------------------------------------------------- L3 delta


#: (values, chunk): chunk 1 only up to 10k values, above which the backends hand
#: it to the CPU code anyway (nothing of the device's to check, and slow)
DELTA_CASES = [(n, chunk) for chunk in (1, 7, 512) for n in SIZES + (300_001,) if chunk > 1 or n <= 10_000]


@pytest.mark.parametrize("n,chunk", DELTA_CASES)
def test_delta(backend, n, chunk):
    rng = rng_for("delta", n, chunk)
    x = mixed_ints(n, rng)
    orders = backend.choose_orders(x, chunk)
    same(orders, l3_delta.choose_orders(x, chunk))
    mixed = rng.integers(0, 4, orders.size).astype(np.uint8)
    for o in (orders, mixed):
        for zz in (True, False):
            codes = backend.delta_encode(x, o, chunk, zigzag0=zz)
            same(codes, l3_delta.delta_encode(x, o, chunk, zigzag0=zz))
            same(backend.delta_decode(codes, o, chunk, zigzag0=zz), x)


def test_delta_decode_arbitrary_codes(backend):
    """Decoding is defined for any codes (wraparound), not just encoder output."""
    rng = rng_for("delta-any")
    for chunk in (2, 3, 64, 2048, 5000):
        z = rng.integers(0, 2**64, 20_011, dtype=np.uint64, endpoint=False)
        o = rng.integers(0, 4, -(-z.size // chunk)).astype(np.uint8)
        for zz in (True, False):
            same(backend.delta_decode(z, o, chunk, zigzag0=zz), l3_delta.delta_decode(z, o, chunk, zigzag0=zz))


def test_delta_decode_rejects(backend):
    z = np.arange(100, dtype=np.uint64)
    with pytest.raises(FormatError):
        backend.delta_decode(z, np.array([0, 1, 4, 0], np.uint8), 32)
    with pytest.raises(FormatError):
        backend.delta_decode(z, np.array([0, 1, 3, 255], np.uint8), 32)
    with pytest.raises(FormatError):
        backend.delta_decode(z, np.array([0, 1], np.uint8), 32)


# ---------------------------------------------------------------- L4 bit packing


@pytest.mark.parametrize("n", SIZES + (300_001,))
def test_bitpack_mixed(backend, n):
    rng = rng_for("l4", n)
    x = mixed_ints(n, rng)
    orders = l3_delta.choose_orders(x, 512)
    codes = l3_delta.delta_encode(x, orders, 512)
    same(backend.bitpack_analyze(codes, 512).raw, l4_bitpack.analyze(codes, 512).raw)
    buf = backend.bitpack(codes, 512, tags=orders)
    assert buf == l4_bitpack.pack(codes, 512, tags=orders)
    back, tags = backend.bitunpack(buf, n)
    same(back, codes)
    same(tags, orders)


@pytest.mark.parametrize("chunk", [1, 7, 128, 512, 3000])
def test_bitpack_every_width_and_strategy(backend, chunk):
    rng = rng_for("widths", chunk)
    # with chunk 3000, chunks straddle runs of 97 values of one width
    codes = width_codes(97 if chunk == 3000 else chunk, rng)
    same(backend.bitpack_analyze(codes, chunk).raw, l4_bitpack.analyze(codes, chunk).raw)
    for allowed in ((0, 1, 2, 3, 4), (0,), (1,), (2,), (3,), (4,), ()):
        buf = backend.bitpack(codes, chunk, allowed=allowed)
        assert buf == l4_bitpack.pack(codes, chunk, allowed=allowed), allowed
        back, _ = backend.bitunpack(buf, codes.size)
        same(back, codes)


def test_bitpack_max_chunk(backend):
    rng = rng_for("maxchunk")
    codes = rng.integers(0, 1000, 70_000).astype(np.uint64)
    codes[::7] = 0
    for allowed in ((2,), (4,), (0, 1, 2, 3, 4)):
        buf = backend.bitpack(codes, l4_bitpack.MAX_CHUNK, allowed=allowed)
        assert buf == l4_bitpack.pack(codes, l4_bitpack.MAX_CHUNK, allowed=allowed)
        same(backend.bitunpack(buf, codes.size)[0], codes)


def _outcome(fn):
    try:
        return ("ok",) + tuple(np.asarray(a).tobytes() for a in fn())
    except (FormatError, LimitError) as exc:
        return ("error", type(exc).__name__)


def test_bitunpack_hostile(device):
    """Corrupted buffers: the device accepts and rejects exactly what the CPU does."""
    rng = rng_for("hostile")
    cpu = accel.get_backend("cpu")
    x = mixed_ints(5000, rng)
    bufs = []
    for allowed in ((0, 1, 2, 3, 4), (2,), (4,), (3,), (1,)):
        codes = l3_delta.delta_encode(x, l3_delta.choose_orders(x, 128), 128)
        bufs.append(l4_bitpack.pack(codes, 128, allowed=allowed))
    bufs.append(l4_bitpack.pack(width_codes(64, rng), 64, allowed=(4,)))
    bufs.append(l4_bitpack.pack(width_codes(64, rng), 64, allowed=(2,)))
    checked = 0
    for buf in bufs:
        for _ in range(60):
            b = bytearray(buf)
            for _ in range(int(rng.integers(1, 4))):
                i = int(rng.integers(0, len(b)))
                b[i] ^= 1 << int(rng.integers(0, 8))
            if rng.random() < 0.1:
                b = b[: int(rng.integers(0, len(b)))]
            b = bytes(b)
            assert _outcome(lambda: device.bitunpack(b, 10_000)) == _outcome(lambda: cpu.bitunpack(b, 10_000))
            checked += 1
    assert checked == 60 * len(bufs)


def test_bitunpack_hostile_runs_and_patches(device):
    """Bit-stream-level errors (zero runs past the chunk, bad patch positions)."""
    cpu = accel.get_backend("cpu")
    codes = np.zeros(64, np.uint64)
    codes[[5, 40, 63]] = [1, 2, 3]
    zr = bytearray(l4_bitpack.pack(codes, 64, allowed=(2,)))
    pt = bytearray(l4_bitpack.pack(np.where(np.arange(64) % 9 == 0, 1 << 20, 1).astype(np.uint64), 64, allowed=(4,)))
    for base in (zr, pt):
        hdr_end = len(base) - ((len(base) - 3) // 2)  # roughly where the bits start
        for i in range(max(0, hdr_end - 8), len(base)):
            for bit in range(8):
                b = bytearray(base)
                b[i] ^= 1 << bit
                b = bytes(b)
                assert _outcome(lambda: device.bitunpack(b, 64)) == _outcome(lambda: cpu.bitunpack(b, 64))


# ---------------------------------------------------------------- intcodec PACKED


@pytest.mark.parametrize("n", SIZES)
def test_encode_ints_packed(backend, n):
    rng = rng_for("ints", n)
    for x in (mixed_ints(n, rng), 60 * mixed_ints(n, rng) // 7 * 7 + 5, np.full(n, -3, np.int64)):
        blob = backend.encode_ints_packed(x)
        assert blob == intcodec.encode_ints(x, modes=(intcodec.PACKED,))
        same(intcodec.decode_ints(blob, n), x)


# ---------------------------------------------------------------- dictionary lookup


def test_dictionary_lookup(backend):
    rng = rng_for("dict")
    vocab = [b"", b"id", b"name", b"x" * 100, bytes(range(256)), b"id"] + \
        [bytes(rng.integers(97, 123, int(rng.integers(1, 12))).astype(np.uint8)) for _ in range(3000)]
    table = accel.DictionaryTable(vocab)
    ref = {}
    for i, k in enumerate(vocab):
        ref.setdefault(k, i)
    words = [vocab[int(i)] for i in rng.integers(0, len(vocab), 20_000)]
    words += [b"not-a-key", b"i", b"ids", b"x" * 99]
    buf = b"".join(words)
    lens = np.array([len(w) for w in words], np.uint64)
    ends = np.cumsum(lens, dtype=np.uint64)
    starts = ends - lens
    expect = np.array([ref.get(w, -1) for w in words], np.int32)
    same(backend.dictionary_lookup(table, buf, starts, ends), expect)
    hashes = backend.hash_tokens(buf, starts, ends)
    same(hashes, np.array([accel.token_hash(w) for w in words], np.uint64))
    distinct = list(ref)
    htable = accel.DictionaryTable.from_hashes(np.array([accel.token_hash(k) for k in distinct], np.uint64))
    expect_h = np.array([distinct.index(w) if w in ref else -1 for w in words[:3000]], np.int32)
    same(backend.hash_lookup(htable, hashes[:3000]), expect_h)
    # empty batches and bad ranges
    same(backend.dictionary_lookup(table, b"", np.zeros(0, np.uint64), np.zeros(0, np.uint64)), np.zeros(0, np.int32))
    with pytest.raises(ValueError):
        backend.dictionary_lookup(table, b"abc", np.array([0, 2], np.uint64), np.array([1, 4], np.uint64))


def test_dictionary_table_rejects_repeated_hashes():
    with pytest.raises(ValueError):
        accel.DictionaryTable.from_hashes(np.array([1, 2, 1], np.uint64))


# ---------------------------------------------------------------- histogram and entropy


@pytest.mark.parametrize("n", SIZES + (1 << 20,))
def test_histogram(backend, n):
    rng = rng_for("hist", n)
    data = (rng.integers(0, 256, n, dtype=np.uint8) & rng.integers(0, 256, n, dtype=np.uint8)).tobytes()
    arr = np.frombuffer(data, np.uint8)
    same(backend.byte_histogram(data), np.bincount(arr, minlength=256).astype(np.uint64))
    cuts = np.sort(rng.integers(0, n + 1, 5))
    off = np.concatenate([[0], cuts, cuts[-1:], [n]])  # one empty segment at least
    expect = np.stack([np.bincount(arr[a:b], minlength=256) for a, b in zip(off[:-1], off[1:])]).astype(np.uint64)
    same(backend.byte_histogram(data, off), expect)
    ref = accel.get_backend("cpu")
    assert backend.entropy(data) == ref.entropy(data)
    same(backend.segment_entropy(data, off), ref.segment_entropy(data, off))


def test_entropy_values(backend):
    assert backend.entropy(b"") == 0.0
    assert backend.entropy(b"aaaa") == 0.0
    assert backend.entropy(bytes(range(256)) * 4) == 8.0
    assert backend.entropy(b"ab" * 100) == 1.0


# ---------------------------------------------------------------- pattern matching


def ref_find(data: bytes, patterns):
    out = []
    for j, p in enumerate(patterns):
        i = data.find(p)
        while i >= 0:
            out.append((i, j))
            i = data.find(p, i + 1)
    out.sort()
    return np.array([o[0] for o in out], np.int64), np.array([o[1] for o in out], np.uint8)


PATTERN_SETS = [
    [b"{", b"}", b"[", b"]", b":", b",", b'"'],
    [b"aa", b"a", b"aaa", b"<tag>", b"</tag>", b"<tag"],
    [bytes([i]) for i in range(32)],
    [b"x" * 40, b"\x00\xff", b"\n"],
]


@pytest.mark.parametrize("n", SIZES + (200_003,))
@pytest.mark.parametrize("which", range(len(PATTERN_SETS)))
def test_patterns(backend, n, which):
    rng = rng_for("pat", n, which)
    alphabet = np.frombuffer(b'{}[]:," aa<tag></tag>\x00\xff\nxxxx' + bytes(range(32)), np.uint8)
    data = alphabet[rng.integers(0, alphabet.size, n)].tobytes()
    if n > 60:
        data = data[:-50] + b"x" * 45 + b"<tag>"
    pats = PATTERN_SETS[which]
    pos, ids = backend.find_patterns(data, pats)
    rpos, rids = ref_find(data, pats)
    same(pos, rpos)
    same(ids, rids)
    bm = backend.pattern_bitmap(data, pats)
    expect = np.zeros((len(pats), (len(data) + 7) // 8), np.uint8)
    for p, j in zip(rpos, rids):
        expect[j, p >> 3] |= 1 << (p & 7)
    same(bm, expect)


def test_pattern_set_limits():
    with pytest.raises(ValueError):
        accel.PatternSet([])
    with pytest.raises(ValueError):
        accel.PatternSet([b"a"] * 33)
    with pytest.raises(ValueError):
        accel.PatternSet([b"a", b""])


# ---------------------------------------------------------------- device-resident input


def test_device_arrays_in(device):
    """Data already on the device (CuPy / PyOpenCL arrays) gives the same bytes."""
    rng = rng_for("resident")
    x = mixed_ints(100_003, rng)
    dx = device.upload(x)
    assert device.is_device_array(dx)
    assert device.encode_ints_packed(dx) == intcodec.encode_ints(x, modes=(intcodec.PACKED,))
    codes = l3_delta.delta_encode(x, l3_delta.choose_orders(x, 512), 512)
    assert device.bitpack(device.upload(codes), 512) == l4_bitpack.pack(codes, 512)
    data = rng.integers(0, 256, 50_000, dtype=np.uint8)
    same(device.byte_histogram(device.upload(data)), np.bincount(data, minlength=256).astype(np.uint64))
    same(device.download(dx), x)
    # int32 device data is widened like NumPy would
    x32 = x.astype(np.int32)
    assert device.encode_ints_packed(device.upload(x32)) == intcodec.encode_ints(x32, modes=(intcodec.PACKED,))


def test_memory_api(backend):
    a = backend.allocate(10, np.uint32)
    assert a.size == 10
    b = backend.upload(np.arange(5, dtype=np.int64))
    backend.synchronize()
    same(backend.download(b), np.arange(5, dtype=np.int64))
    backend.free(a)
    info = backend.device_info()
    assert info.kind in ("cpu", "gpu", "accelerator") and info.name


# ---------------------------------------------------------------- properties


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(-(2**63), 2**63 - 1), max_size=300), st.integers(1, 40))
def test_property_delta_bitpack(values, chunk):
    x = np.array(values, np.int64)
    o = l3_delta.choose_orders(x, chunk)
    codes = l3_delta.delta_encode(x, o, chunk)
    ref = l4_bitpack.pack(codes, chunk, tags=o)
    for name in BACKENDS:
        if not accel.probe(name).usable:
            continue
        b = accel.get_backend(name)
        same(b.delta_encode(x, o, chunk), codes)
        same(b.delta_decode(codes, o, chunk), x)
        assert b.bitpack(codes, chunk, tags=o) == ref
        same(b.bitunpack(ref, len(values))[0], codes)


def test_cpu_thread_spans(monkeypatch):
    """The CPU backend's multi-span paths (normally only for inputs beyond an
    engine block) give the single-span results."""
    from cobol.accel import cpu as cpu_mod
    one = cpu_mod.CpuBackend(threads=1)
    many = cpu_mod.CpuBackend(threads=3)
    rng = rng_for("spans")
    v = rng.integers(0, 2**63, 50_001, dtype=np.uint64) >> rng.integers(0, 64, 50_001).astype(np.uint64)
    enc = one.varint_encode(v)
    data = rng.integers(0, 8, 100_003, dtype=np.uint8).tobytes()
    pats = [b"\x01", b"\x02\x03", b"\x00\x00\x00"]
    table = accel.DictionaryTable([bytes([i]) for i in range(5)])
    starts = np.arange(0, 100_000, dtype=np.uint64)
    ends = starts + np.uint64(1)
    expect = (one.varint_decode(enc, v.size), one.byte_histogram(data), one.find_patterns(data, pats),
              one.pattern_bitmap(data, pats), one.dictionary_lookup(table, data, starts, ends),
              one.hash_tokens(data, starts, ends))
    monkeypatch.setattr(cpu_mod, "PARALLEL_MIN_SPAN", 997)
    assert len(cpu_mod._spans(100_003, 3)) == 3
    got = (many.varint_decode(enc, v.size), many.byte_histogram(data), many.find_patterns(data, pats),
           many.pattern_bitmap(data, pats), many.dictionary_lookup(table, data, starts, ends),
           many.hash_tokens(data, starts, ends))
    for a, b in zip(got, expect):
        if isinstance(a, tuple):
            for x, y in zip(a, b):
                same(x, y)
        else:
            same(a, b)
    with pytest.raises(FormatError):
        many.varint_decode(enc[:5000] + b"\x80\x00" + enc[5000:], v.size + 2)


@pytest.mark.parametrize("name", BACKENDS)
def test_compress_device_ints(name):
    """A .cobl frame straight from (device) integer arrays; cobol.decompress reads it."""
    import cobol
    b = _backend(name)
    rng = rng_for("frame", name)
    cases = [
        mixed_ints(250_001, rng),
        rng.integers(-(2**31), 2**31, 10_001).astype(np.int32),
        np.array([0, 2**64 - 1, 2**63, 5], np.uint64),
        rng.integers(0, 200, 3001).astype(np.uint8),
        np.zeros(0, np.int64),
    ]
    for x in cases:
        src = b.upload(x) if name != "cpu" else x
        blob = compress_device_ints(src, backend=b, block_values=100_000)
        assert cobol.decompress(blob) == x.astype(x.dtype.newbyteorder("<")).tobytes()
    with pytest.raises(ValueError):
        compress_device_ints(np.zeros(3, np.float64), backend=b)
