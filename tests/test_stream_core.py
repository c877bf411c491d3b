"""Sans-IO streaming core: StreamCompressor, CompressedBlock, StreamDecompressor.

No sockets, no threads (but one test of the decode pipeline on a pool): blocks are
handed from one object to the other.
"""

import random
import time
from concurrent.futures import Future, ThreadPoolExecutor

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import cobol
from cobol.engine import DEFAULT_BLOCK_SIZE, CobolEngine
from cobol.errors import ChecksumError, CobolError, EncodeError, FormatError, LimitError
from cobol.format import checksum as ck
from cobol.format.frame import DataBlock, StreamEntry, encode_data_block
from cobol.stream import (
    BlockMissingError, CompressedBlock, StreamCompressor, StreamDecompressor, StreamingConfig, StreamingStatistics,
)
from cobol.stream.block import ZERO_CHAIN, chain_next
from cobol.stream.decompressor import DecodeBudget, Reassembler
from support import structured_samples

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FAST = dict(plan="zstd", level=1)


def lines(n: int, seed: int = 0) -> bytes:
    rnd = random.Random(seed)
    return b"".join(b'{"id": %d, "v": "%s"}\n' % (i, bytes(rnd.choices(b"abcdefgh", k=rnd.randrange(30))))
                    for i in range(n))


def compress_all(data: bytes, cfg: StreamingConfig, step: int = 1000) -> list:
    c = StreamCompressor(cfg)
    blocks = []
    for i in range(0, len(data), step):
        blocks += c.feed(data[i:i + step])
    return blocks + c.flush()


# ---------------------------------------------------------------- compressor

@SETTINGS
@given(st.binary(max_size=6000), st.lists(st.integers(1, 3000), max_size=8), st.sampled_from([64, 700, 4096]))
def test_blocks_make_the_same_cobl_file_as_the_engine(data, cuts, block_size):
    """However the bytes are fed, header + records + end == CobolEngine.compress."""
    cfg = StreamingConfig(block_size=block_size, **FAST)
    c = StreamCompressor(cfg)
    blocks, pos = [], 0
    for n in cuts:
        blocks += c.feed(data[pos:pos + n])
        pos += n
    blocks += c.feed(data[pos:]) + c.flush()
    assert [b.seq for b in blocks] == list(range(len(blocks)))
    cobl = c.frame_header() + b"".join(b.record for b in blocks) + c.end_record()
    assert cobl == CobolEngine(1, block_size=block_size, threads=1, plan="zstd", checksum=cfg.checksum,
                                compact=False).compress(data)  # streams write the full layout
    assert cobol.decompress(cobl) == data


def test_default_config():
    cfg = StreamingConfig()
    # the file path's block size, and a window of 32 MiB of blocks whatever their size
    assert (cfg.block_size, cfg.window, cfg.block_timeout, cfg.checksum) == (DEFAULT_BLOCK_SIZE, 16, 60.0, "xxh3")
    assert (cfg.window_for(), cfg.window_for(2 << 20), cfg.window_for(64 << 10), cfg.window_for(64 << 20)) == (4, 16, 16, 4)
    assert (cfg.max_unacked_for(), cfg.max_unacked_for(2 << 20), cfg.checkpoint_blocks_for()) == (8, 32, 4)
    assert cfg.receiver_memory_bound() < 100 << 20 and cfg.sender_memory_bound() < 100 << 20
    # the bound follows the window's bytes, not the block size
    assert cfg.receiver_memory_bound() < 1.3 * cfg.receiver_memory_bound(2 << 20)


def test_feed_returns_blocks_as_they_fill_and_flush_emits_the_rest():
    c = StreamCompressor(StreamingConfig(block_size=1000, **FAST))
    assert c.feed(b"x" * 1000) == []          # exactly one block: the cut needs one more byte
    [b0] = c.feed(b"y")
    assert (b0.seq, b0.raw_len, c.buffered) == (0, 1000, 1)
    [b1] = c.flush()
    assert (b1.seq, b1.raw_len) == (1, 1)
    assert c.flush() == []
    [b2] = c.feed(b"z" * 10) + c.flush()      # the stream goes on after a flush
    assert b2.seq == 2
    assert c.chain == chain_next(chain_next(chain_next(ZERO_CHAIN, 1000, b0.checksum), 1, b1.checksum), 10, b2.checksum)


def test_an_executor_gives_identical_blocks_in_order():
    from concurrent.futures import ThreadPoolExecutor
    data = lines(3000)
    one = compress_all(data, StreamingConfig(block_size=4096, **FAST), step=50000)
    with ThreadPoolExecutor(3) as pool, StreamCompressor(StreamingConfig(block_size=4096, **FAST), executor=pool) as c:
        many = []
        for i in range(0, len(data), 7000):
            many += c.feed(data[i:i + 7000])  # what is done so far, without waiting
            assert c.in_flight <= len(data[:i + 7000]) // 2048
        while c.in_flight:
            many += c.wait_oldest()
        many += c.flush()
        assert c.in_flight == 0 and c.seq == len(many)
    assert [b.seq for b in many] == list(range(len(many)))
    assert [b.record for b in one] == [b.record for b in many]
    assert c.chain == compress_chain(one)


def compress_chain(blocks) -> bytes:
    chain = ZERO_CHAIN
    for b in blocks:
        chain = chain_next(chain, b.raw_len, b.checksum)
    return chain


def test_default_plan_roundtrips_structured_data():
    data = lines(2000)
    blocks = compress_all(data, StreamingConfig(block_size=16384))
    d = StreamDecompressor(StreamingConfig(block_size=16384))
    assert b"".join(d.feed_block(b) for b in blocks) == data
    assert d.stats.ratio > 1.5


@pytest.mark.parametrize("kw", [dict(block_size=0), dict(window=0), dict(level=23), dict(checksum="md5"),
                                dict(block_timeout=0), dict(checkpoint_blocks=100, max_unacked=10),
                                dict(block_size=16 << 20), dict(max_delay=0),
                                dict(window_bytes=0)])
def test_config_rejects_bad_values(kw):
    with pytest.raises(EncodeError):
        StreamingConfig(**kw)


# ---------------------------------------------------------------- CompressedBlock

def test_compressed_block_wire_roundtrip_and_fields():
    cfg = StreamingConfig(block_size=4096, checksum="sha256", **FAST)
    before = time.time()
    [b] = StreamCompressor(cfg).feed(b"abc" * 2000)[:1]
    after = time.time()
    wire = b.to_bytes()
    back = CompressedBlock.from_bytes(wire)
    assert back == b
    assert (b.seq, b.raw_len, b.checksum_kind, len(b.checksum)) == (0, 4096, ck.SHA256, 32)
    assert b.checksum == ck.compute(ck.SHA256, (b"abc" * 2000)[:4096])
    assert int(before * 1e6) - 1 <= b.timestamp_us <= int(after * 1e6) + 1  # stamped when it was made
    assert b.data_block().seq == 0


def test_compressed_block_rejects_every_truncation_and_trailing_bytes():
    [b] = StreamCompressor(StreamingConfig(block_size=512, **FAST)).feed(b"q" * 513)
    wire = b.to_bytes()
    for n in range(len(wire)):
        with pytest.raises(CobolError):
            CompressedBlock.from_bytes(wire[:n])
    with pytest.raises(CobolError):
        CompressedBlock.from_bytes(wire + b"\0")


def test_single_byte_corruption_never_yields_wrong_data():
    data = lines(40)
    cfg = StreamingConfig(block_size=2048, **FAST)
    [b] = compress_all(data[:2048], cfg)
    wire = bytearray(b.to_bytes())
    rnd = random.Random(5)
    for i in range(len(wire)):
        bad = bytearray(wire)
        bad[i] ^= 1 << rnd.randrange(8)
        try:
            blk = CompressedBlock.from_bytes(bytes(bad))
            out = StreamDecompressor(cfg).feed_block(blk)
        except CobolError:
            continue
        # survivors: the timestamp (informational) and bits zstd ignores
        assert out == data[:2048]


def test_envelope_must_agree_with_the_record():
    [b0, b1] = compress_all(b"x" * 3000, StreamingConfig(block_size=2000, **FAST))
    swapped = CompressedBlock(b1.seq, b0.timestamp_us, b0.raw_len, b0.checksum_kind, b0.checksum, b0.record)
    with pytest.raises(FormatError, match="disagrees"):
        CompressedBlock.from_bytes(swapped.to_bytes())


# ---------------------------------------------------------------- decompressor

def shuffled_within(blocks, window, rnd):
    """A random order in which every block arrives less than `window` ahead
    of the first one still missing (what a receiver's window allows)."""
    left = list(blocks)  # in sequence order
    out = []
    while left:
        allowed = sum(1 for b in left[:window] if b.seq < left[0].seq + window)
        out.append(left.pop(rnd.randrange(allowed)))
    return out


@SETTINGS
@given(st.integers(0, 10_000), st.integers(1, 200), st.sampled_from([2, 4, 16]))
def test_any_order_within_the_window_with_duplicates_gives_the_input(seed, n_lines, window):
    rnd = random.Random(seed)
    data = lines(n_lines, seed)
    cfg = StreamingConfig(block_size=256, window=window, **FAST)
    blocks = compress_all(data, cfg)
    order = shuffled_within(blocks, window, rnd)
    d = StreamDecompressor(cfg)
    out = []
    for i, b in enumerate(order):
        out.append(d.feed_block(b.to_bytes() if rnd.random() < 0.5 else b))
        if rnd.random() < 0.3:  # a copy of a block that already came (pending or delivered)
            out.append(d.feed_block(order[rnd.randrange(i + 1)]))
    d.finish(len(blocks))
    assert b"".join(out) == data
    assert d.stats.max_pending_blocks < window
    assert d.stats.blocks == len(blocks)


def test_duplicates_and_stale_blocks_are_dropped_and_counted():
    cfg = StreamingConfig(block_size=100, **FAST)
    b = compress_all(bytes(range(256)) * 2, cfg)
    d = StreamDecompressor(cfg)
    assert d.feed_block(b[1]) == b""
    assert d.feed_block(b[1]) == b""           # duplicate of a pending block
    assert d.feed_block(b[0]) == (bytes(range(256)) * 2)[:200]
    assert d.feed_block(b[0]) == b""           # stale: already delivered
    assert (d.stats.duplicates, d.stats.stale, d.stats.out_of_order) == (1, 1, 1)


def test_a_block_past_the_window_is_a_clear_error_and_changes_nothing():
    cfg = StreamingConfig(block_size=100, window=4, **FAST)
    data = bytes(range(200)) * 5
    b = compress_all(data, cfg)
    d = StreamDecompressor(cfg)
    d.feed_block(b[1])
    with pytest.raises(BlockMissingError, match=r"block 0 is missing: block 4 arrived .* window of 4"):
        d.feed_block(b[4])
    out = d.feed_block(b[0]) + b"".join(d.feed_block(x) for x in b[2:])
    assert out == data


def test_a_missing_block_times_out():
    now = [100.0]
    cfg = StreamingConfig(block_size=100, block_timeout=60, **FAST)
    b = compress_all(bytes(300), cfg)
    d = StreamDecompressor(cfg, clock=lambda: now[0])
    d.feed_block(b[1])
    now[0] += 59
    d.poll()
    now[0] += 2
    with pytest.raises(BlockMissingError, match="block 0 is missing: waited 61.0 s"):
        d.poll()
    with pytest.raises(BlockMissingError):
        d.feed_block(b[2])


def test_the_gap_timer_restarts_when_the_gap_moves():
    r = Reassembler(window=8, timeout=10)
    r.push(1, "b1", 1, now=0)
    r.push(3, "b3", 1, now=1)
    assert r.push(0, "b0", 1, now=9) == ["b0", "b1"]   # gap at 2 starts now
    r.check_timeout(18)
    with pytest.raises(BlockMissingError, match="block 2"):
        r.check_timeout(20)


def test_checksum_failure_is_reported_and_a_good_copy_still_fits():
    cfg = StreamingConfig(block_size=100, level=0, plan="store", checksum="sha256")
    [good] = compress_all(b"A" * 100, cfg)
    wrong = ck.compute(ck.SHA256, b"B" * 100)
    rec = encode_data_block(DataBlock(seq=0, raw_len=100, transform=0, params=b"",
                                      streams=[StreamEntry(0, 100, 100)], checksum=wrong, payloads=[b"A" * 100]))
    bad = CompressedBlock(0, good.timestamp_us, 100, ck.SHA256, wrong, rec)
    d = StreamDecompressor(cfg)
    with pytest.raises(ChecksumError, match="block 0"):
        d.feed_block(bad)
    assert d.stats.checksum_failures == 1 and d.next_seq == 0
    assert d.feed_block(good) == b"A" * 100


def test_finish_names_what_is_missing():
    cfg = StreamingConfig(block_size=100, **FAST)
    b = compress_all(bytes(350), cfg)
    d = StreamDecompressor(cfg)
    d.feed_block(b[0])
    d.feed_block(b[2])
    with pytest.raises(BlockMissingError, match="block 1 missing"):
        d.finish()
    d.feed_block(b[1])
    with pytest.raises(BlockMissingError, match="expected 4"):
        d.finish(4)
    d.feed_block(b[3])
    d.finish(4)


def test_wrong_checksum_kind_is_refused():
    blocks = compress_all(b"x" * 300, StreamingConfig(block_size=100, checksum="sha256", **FAST))
    with pytest.raises(FormatError, match="checksum kind"):
        StreamDecompressor(StreamingConfig(block_size=100, checksum="xxh3", **FAST)).feed_block(blocks[0])
    d = StreamDecompressor(StreamingConfig(block_size=100, checksum="sha256", **FAST))
    assert b"".join(d.feed_block(b) for b in blocks) == b"x" * 300


def test_blocks_larger_than_the_receivers_block_size_are_refused():
    [b] = compress_all(b"x" * 1000, StreamingConfig(block_size=1000, **FAST))
    with pytest.raises(CobolError):
        StreamDecompressor(StreamingConfig(block_size=500, **FAST)).feed_block(b.to_bytes())


def test_statistics_snapshot():
    s = StreamingStatistics("receive")
    s.raw_bytes, s.compressed_bytes = 1000, 250
    d = s.to_dict()
    assert d["ratio"] == 4.0 and d["direction"] == "receive" and d["throughput"] > 0
    assert "4.00" in s.summary()


@pytest.mark.parametrize("data,hints", structured_samples(32 << 10))
def test_structured_samples_through_the_streaming_core(data, hints):
    """Each format at the default plan, blocks handed over in reverse order within the window."""
    cfg = StreamingConfig(block_size=4096, window=64)
    with StreamCompressor(cfg) as c:
        blocks = []
        for i in range(0, len(data), 777):
            blocks += c.feed(data[i:i + 777])
        blocks += c.flush()
        cobl = c.frame_header() + b"".join(b.record for b in blocks) + c.end_record()
    assert cobol.decompress(cobl) == data
    d = StreamDecompressor(StreamingConfig(block_size=4096, window=64))
    assert b"".join(d.feed_block(b) for b in reversed(blocks)) == data


# ---------------------------------------------------------------- pipelined decoding (executor=)

class HeldExecutor:
    """An executor that runs nothing until told: ``run(i)`` runs the i-th held call, so a
    test chooses the order in which decodes finish (deterministic, no threads)."""

    def __init__(self):
        self.held = []

    def submit(self, fn, *args):
        fut = Future()
        self.held.append((fut, fn, args))
        return fut

    def run(self, i: int) -> None:
        fut, fn, args = self.held.pop(i)
        try:
            fut.set_result(fn(*args))
        except BaseException as exc:
            fut.set_exception(exc)


@SETTINGS
@given(st.integers(0, 10_000), st.integers(1, 200), st.sampled_from([2, 4, 16]))
def test_pipelined_decoding_delivers_in_order_whatever_order_decodes_finish(seed, n_lines, window):
    rnd = random.Random(seed)
    data = lines(n_lines, seed)
    cfg = StreamingConfig(block_size=256, window=window, **FAST)
    blocks = compress_all(data, cfg)
    ex = HeldExecutor()
    d = StreamDecompressor(cfg, executor=ex)
    out = []
    for b in shuffled_within(blocks, window, rnd):
        while b.seq >= d.next_seq + window:  # the window counts from the last block delivered
            ex.run(rnd.randrange(len(ex.held)))
            out += d.collect()
        out += d.receive(b)
        if rnd.random() < 0.3:
            out += d.receive(b)  # a duplicate while it is decoding: dropped
        while ex.held and rnd.random() < 0.5:  # some decodes finish, in any order
            ex.run(rnd.randrange(len(ex.held)))
            out += d.collect()
        assert d.undelivered <= window
    while ex.held:
        ex.run(rnd.randrange(len(ex.held)))
    out += d.collect()
    d.finish(len(blocks))
    assert [x.seq for x in out] == list(range(len(blocks)))
    assert b"".join(x.raw for x in out) == data
    sync = StreamDecompressor(cfg)
    for b in blocks:
        sync.feed_block(b)
    assert d.chain == sync.chain and [x.chain for x in out][-1] == sync.chain
    assert d.stats.blocks == len(blocks) and d.stats.max_undelivered_blocks <= window


def test_pipelined_window_counts_from_the_last_block_delivered():
    cfg = StreamingConfig(block_size=100, window=2, **FAST)
    b = compress_all(bytes(range(250)) * 2, cfg)
    ex = HeldExecutor()
    d = StreamDecompressor(cfg, executor=ex)
    d.receive(b[0])
    d.receive(b[1])
    with pytest.raises(BlockMissingError, match="block 2 arrived while block 0 is still being decoded"):
        d.receive(b[2])
    ex.run(0)
    assert [x.seq for x in d.collect()] == [0]
    assert d.receive(b[2]) == []


def test_pipelined_decoding_on_a_thread_pool_with_a_budget():
    data = lines(3000)
    cfg = StreamingConfig(block_size=4096, window=8, **FAST)
    blocks = compress_all(data, cfg)
    budget = DecodeBudget(64 << 20)
    with ThreadPoolExecutor(2) as pool:
        d = StreamDecompressor(cfg, executor=pool, budget=budget)
        out = []
        for b in blocks:
            while d.decoding >= cfg.window:  # what credit does on the wire
                out += d.wait_oldest()
            out += d.receive(b.to_bytes())
        while d.decoding:
            out += d.wait_oldest()
    d.finish(len(blocks))
    assert b"".join(x.raw for x in out) == data
    assert budget.in_use == 0 and 0 < budget.peak


def test_pipelined_bad_block_fails_when_its_turn_comes_after_the_good_ones():
    cfg = StreamingConfig(block_size=100, level=0, plan="store", checksum="sha256")
    good = compress_all(b"A" * 100 + b"C" * 100, cfg)
    wrong = ck.compute(ck.SHA256, b"B" * 100)
    rec = encode_data_block(DataBlock(seq=1, raw_len=100, transform=0, params=b"",
                                      streams=[StreamEntry(0, 100, 100)], checksum=wrong, payloads=[b"C" * 100]))
    bad = CompressedBlock(1, good[1].timestamp_us, 100, ck.SHA256, wrong, rec)
    ex = HeldExecutor()
    d = StreamDecompressor(cfg, executor=ex)
    assert d.receive(bad) == [] and d.receive(good[0]) == []   # nothing is decoded yet
    ex.run(0)                                                  # the bad one finishes first...
    assert d.collect() == []                                   # ...but its turn has not come
    ex.run(0)
    [first] = d.collect()                                      # block 0 is handed out, then block 1 fails
    assert first.raw == b"A" * 100
    with pytest.raises(ChecksumError, match="block 1"):
        d.collect()
    assert d.stats.checksum_failures == 1 and d.next_seq == 1
    with pytest.raises(ChecksumError):                          # a pipelined decompressor stays failed
        d.receive(good[1])


def test_pipelined_block_over_the_decode_budget_is_refused_at_once():
    cfg = StreamingConfig(block_size=1 << 16, **FAST)
    [b] = compress_all(lines(2000)[: 1 << 16], cfg)
    ex = HeldExecutor()
    d = StreamDecompressor(cfg, executor=ex, budget=DecodeBudget(1 << 20))
    d.budget.total = 1000  # smaller than any block's bound (the config floor is 1 MiB)
    with pytest.raises(LimitError, match="block 0 needs up to"):
        d.receive(b)
    assert ex.held == [] and d.decoding == 0


def test_pipelined_small_blocks_decode_at_once_but_keep_their_turn():
    """Partial blocks (an interactive source's, cut by max_delay) are decoded in the calling
    thread, not queued on the pool behind full blocks; they are still delivered in order."""
    cfg = StreamingConfig(block_size=4096, **FAST)

    def block(seq: int, data: bytes, flush: bool) -> CompressedBlock:
        c = StreamCompressor(cfg, start_seq=seq)
        return (c.feed(data) + (c.flush() if flush else []))[0]

    ex = HeldExecutor()
    d = StreamDecompressor(cfg, executor=ex)
    [first] = d.receive(block(0, b"one line\n", flush=True))  # 9 bytes: decoded at once
    assert first.raw == b"one line\n" and ex.held == []
    big = block(1, lines(400), flush=False)
    assert big.raw_len > 4096 // 2 and d.receive(big) == [] and len(ex.held) == 1  # a full block: on the pool
    assert d.receive(block(2, b"two\n", flush=True)) == [] and len(ex.held) == 1  # decoded, but behind block 1
    ex.run(0)
    assert [x.seq for x in d.collect()] == [1, 2]
