"""Output buffers filled in place (cobol.outbuf) and the engine's in-place decode paths."""

import sys

import numpy as np
import pytest

import cobol
from cobol import outbuf
from cobol.engine import CobolEngine
from cobol.format.frame import DataBlock, iter_frame_records
from cobol.registry import OUTPUT_SLACK, DecodeContext, Transform, get_transform, register_transform


def _fill(buf, payload: bytes):
    buf.array[:len(payload)] = np.frombuffer(payload, np.uint8)
    buf.array[len(payload):] = 0xEE  # the slack: must not show up in the result


@pytest.mark.parametrize("in_place", [True, False])
@pytest.mark.parametrize("n", [0, 1, 15, 16, 17, 4096, outbuf.IN_PLACE_MIN - 1, outbuf.IN_PLACE_MIN, (1 << 20) + 3])
def test_buffer_gives_back_exactly_what_was_written(in_place, n):
    payload = bytes((i * 7 + 3) & 0xFF for i in range(n))
    buf = outbuf.OutputBuffer(n, OUTPUT_SLACK, in_place=in_place)
    assert buf.array.size == n + OUTPUT_SLACK and buf.array.flags.writeable
    _fill(buf, payload)
    out = buf.finish()
    assert type(out) is bytes and out == payload
    assert hash(out) == hash(payload)


@pytest.mark.skipif(outbuf._C_API is None, reason="in-place bytes need CPython's C API through ctypes")
def test_a_surviving_view_makes_finish_copy_instead_of_moving_the_body():
    n = outbuf.IN_PLACE_MIN + 100
    buf = outbuf.OutputBuffer(n, OUTPUT_SLACK)
    assert buf._ptr is not None  # built in place
    _fill(buf, b"x" * n)
    view = buf.array[10:20]  # a view the caller forgot: the body must stay where it is
    out = buf.finish()
    assert out == b"x" * n
    view[:] = ord("y")  # still valid memory, and not the returned bytes
    assert out == b"x" * n and bytes(view) == b"y" * 10


@pytest.mark.skipif(outbuf._C_API is None, reason="in-place bytes need CPython's C API through ctypes")
def test_an_abandoned_buffer_stays_valid_while_a_view_holds_it():
    n = outbuf.IN_PLACE_MIN + 1000
    buf = outbuf.OutputBuffer(n, OUTPUT_SLACK)
    assert buf._ptr is not None
    view = buf.array[:n]
    buf.abandon()
    view[:] = 1  # the bytes object lives on as the view's owner
    assert int(view.sum()) == n
    del view


def test_small_outputs_are_a_numpy_array_copied_out():
    # below IN_PLACE_MIN the copy is cheaper than the ctypes calls of the in-place path
    buf = outbuf.OutputBuffer(outbuf.IN_PLACE_MIN - 1, OUTPUT_SLACK)
    assert buf._ptr is None
    _fill(buf, b"z" * (outbuf.IN_PLACE_MIN - 1))
    assert buf.finish() == b"z" * (outbuf.IN_PLACE_MIN - 1)


def test_the_slack_is_the_kernels_copy_slack():
    from cobol.layers.primitives import COPY_SLACK
    assert COPY_SLACK == OUTPUT_SLACK == 16


def _mixed_frame(block_size):
    parts = [b'{"id": %d, "name": "user %d", "tags": ["a", "b"]}\n' % (i, i) for i in range(3000)]
    parts += [b"<p class='x'>Some <b>text</b> here %d</p>\n" % i for i in range(3000)]
    parts += [b"The quick brown fox jumps over the lazy dog, %d times.\n" % i for i in range(3000)]
    data = b"".join(parts)
    return data, cobol.compress(data, 3, block_size=block_size, threads=1)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_blocks_decode_in_place_on_any_thread_count(threads):
    data, blob = _mixed_frame(1 << 16)
    assert sum(isinstance(r, DataBlock) for _, r in iter_frame_records(blob)) > 4
    assert cobol.decompress(blob, threads=threads) == data
    assert cobol.decompress(blob + blob, threads=threads) == data + data
    assert b"".join(CobolEngine(threads=threads).iter_decompress(blob)) == data


@pytest.mark.parametrize("threads", [1, 2])
def test_a_corrupt_block_among_others_raises_a_checksum_error(threads):
    data, blob = _mixed_frame(1 << 16)
    recs = [r for _, r in iter_frame_records(blob) if isinstance(r, DataBlock)]
    # flip a byte of the third block's checksum: the block decodes, then fails its check
    pos = recs[2].offset + bytes(blob[recs[2].offset:]).index(bytes(recs[2].checksum))
    bad = bytearray(blob)
    bad[pos] ^= 0xFF
    with pytest.raises(cobol.ChecksumError, match="block 2"):
        cobol.decompress(bytes(bad), threads=threads)


def test_a_transform_with_only_decode_is_copied_into_the_buffer(monkeypatch):
    from cobol import registry
    monkeypatch.setattr(registry, "_TRANSFORMS", dict(registry._TRANSFORMS))
    monkeypatch.setattr(registry, "_TRANSFORMS_BY_NAME", dict(registry._TRANSFORMS_BY_NAME))

    class BytesOnly(Transform):
        id = 250
        name = "test-bytes-only"

        def encode(self, data, ctx):
            return None

        def decode(self, streams, params, raw_len, ctx):
            return bytes(streams[0])

    register_transform(BytesOnly)
    t = get_transform(250)
    out = np.full(5 + OUTPUT_SLACK, 7, np.uint8)
    t.decode_into([b"hello"], b"", 5, DecodeContext(), out)
    assert bytes(out[:5]) == b"hello"
    with pytest.raises(cobol.FormatError, match="decoded to 5 bytes"):
        t.decode_into([b"hello"], b"", 4, DecodeContext(), out[:4 + OUTPUT_SLACK])


def test_a_transform_must_decode_somehow():
    class Neither(Transform):
        id = 251
        name = "test-neither"

        def encode(self, data, ctx):
            return None

    with pytest.raises(TypeError, match="decode or decode_into"):
        register_transform(Neither)


def test_the_text_transforms_decode_into_the_callers_array():
    data, blob = _mixed_frame(1 << 20)
    eng = CobolEngine(threads=1)
    for header, rec in iter_frame_records(blob):
        if isinstance(rec, DataBlock):
            out = np.zeros(rec.raw_len + OUTPUT_SLACK, np.uint8)
            eng.decode_block_into(rec, header, out)
            assert bytes(out[:rec.raw_len]) == eng.decode_block(rec, header)
            assert type(get_transform(rec.transform)).decode_into is not Transform.decode_into


def test_sizes_refcounts_and_leaks_of_in_place_bytes():
    out = CobolEngine(threads=1).decompress(cobol.compress(b"abc" * 1000))
    assert out == b"abc" * 1000 and sys.getrefcount(out) == 2


def test_output_buffers_are_not_advised_as_huge_pages(monkeypatch):
    """Decode outputs stay on ordinary pages (outbuf's docstring: the first large
    decode of a process paid for direct compaction); the bytes round-trip."""
    from cobol.layers import pages
    calls = []
    monkeypatch.setattr(pages, "_MADVISE", lambda a, n, advice: calls.append((a, n, advice)) or 0)
    n = pages.HUGEPAGE_MIN + 12345
    big = outbuf.OutputBuffer(n, slack=16)
    big.array[:n] = np.arange(n, dtype=np.uint64).astype(np.uint8)
    assert big.finish() == np.arange(n, dtype=np.uint64).astype(np.uint8).tobytes()
    assert calls == []


def test_scratch_arrays_from_two_mib_are_advised(monkeypatch):
    from cobol.layers import pages
    calls = []
    monkeypatch.setattr(pages, "_MADVISE", lambda a, n, advice: calls.append((a, n, advice)) or 0)
    assert pages.empty(1000, np.int64).shape == (1000,) and calls == []
    a = pages.empty((pages.HUGEPAGE_SCRATCH_MIN // 8 + 3,), np.int64)
    (start, size, advice), = calls
    assert advice == 14 and a.ctypes.data <= start < a.ctypes.data + 4096 and start + size <= a.ctypes.data + a.nbytes
