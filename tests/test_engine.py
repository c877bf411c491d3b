"""Engine behaviour: round trips, threads, levels, plans, open()."""

import bisect
import io
import itertools
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import cobol
from cobol.engine import split_blocks
from cobol.errors import ChecksumError, CobolError, EncodeError, FormatError, UnsupportedError
from cobol import plan as plan_module
from cobol.plan import STRICT_ENV
from cobol.registry import transform_by_name
from support import structured_samples

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(st.binary(max_size=5000), st.sampled_from([0, 1, 3]), st.sampled_from([64, 1000, 1 << 20]))
def test_roundtrip_arbitrary_bytes(data, level, block_size):
    assert cobol.decompress(cobol.compress(data, level=level, block_size=block_size)) == data


@SETTINGS
@given(st.lists(st.sampled_from([b"{", b"}", b'"a"', b":", b",", b"\n", b" ", b"1", b"<p>", b"x,y", b"\xff"]), max_size=400))
def test_roundtrip_structured_fragments(parts):
    data = b"".join(parts)
    assert cobol.decompress(cobol.compress(data, block_size=256)) == data


@pytest.mark.parametrize("size", [0, 1, 2, 255, 65536, 3 << 20])
def test_roundtrip_sizes(size):
    data = (os.urandom(size // 2) + b"abc" * (size // 6))[:size]
    assert cobol.decompress(cobol.compress(data, block_size=1 << 20)) == data


def test_output_identical_for_any_thread_count():
    data = b"".join(b'{"t": %d, "v": "%s"}\n' % (i, str(i * 7).encode()) for i in range(200000))
    ref = cobol.compress(data, block_size=1 << 20, threads=1)
    for t in (2, 3, 8):
        assert cobol.compress(data, block_size=1 << 20, threads=t) == ref
    assert cobol.decompress(ref, threads=4) == data


def test_blocks_cut_at_newlines():
    data = b"line %d\n" * 0 + b"".join(b"line %d\n" % i for i in range(1000))
    spans = split_blocks(data, 500)
    assert spans[0][0] == 0 and spans[-1][1] == len(data)
    for (a, b), (c, _) in zip(spans, spans[1:]):
        assert b == c and data[b - 1:b] == b"\n" and b - a <= 500


def test_levels_and_plans():
    data = b"hello world, " * 10000
    stored = cobol.compress(data, level=0)
    assert len(stored) > len(data)
    assert cobol.frame_info(stored).plans == {"store": 1}
    assert cobol.frame_info(cobol.compress(data, plan="zstd")).plans == {"zstd": 1}
    for level in (1, 3, 9, 19, 22):
        assert cobol.decompress(cobol.compress(data, level=level)) == data
    with pytest.raises(EncodeError):
        cobol.compress(data, level=23)
    with pytest.raises(UnsupportedError):
        cobol.compress(data, plan="no-such-plan")
    with pytest.raises(EncodeError):
        cobol.compress(data, layers={"l9": False})


def test_zstd_plan_costs_little_against_bare_zstd():
    import zstandard
    data = b"".join(b"%d,%d,name%d\n" % (i, i * i % 977, i % 13) for i in range(100000))
    ours = len(cobol.compress(data, level=19, plan="zstd"))
    bare = len(zstandard.ZstdCompressor(level=19).compress(data))
    assert ours <= bare * 1.02 + 64


def test_open_write_read_lines_and_text():
    buf = io.BytesIO()
    lines = [b"row %d\n" % i for i in range(5000)]
    f = cobol.open(buf, "wb", block_size=4096)
    for ln in lines:
        f.write(ln)
    f.close()
    blob = buf.getvalue()
    assert blob == cobol.compress(b"".join(lines), block_size=4096)
    with cobol.open(io.BytesIO(blob)) as f:
        assert list(f) == lines
    with cobol.open(io.BytesIO(blob)) as f:
        assert f.readline() == lines[0]
        assert f.read(3) == b"row"
    with cobol.open(io.BytesIO(blob), "rt", encoding="ascii") as f:
        assert f.readlines()[-1] == "row 4999\n"


def test_open_path_modes(tmp_path):
    p = tmp_path / "x.txt.cobl"
    with cobol.open(p, "wt", encoding="utf-8") as f:
        f.write("héllo\n" * 10)
    with cobol.open(p, "ab") as f:
        f.write(b"more")
    with cobol.open(p) as f:
        assert f.read() == "héllo\n".encode() * 10 + b"more"
    with pytest.raises(FileExistsError):
        cobol.open(p, "xb")
    with pytest.raises(ValueError):
        cobol.open(p, "rbt")
    with cobol.open(p) as f:
        with pytest.raises(io.UnsupportedOperation):
            f.write(b"x")


def test_stream_api_matches_one_shot():
    data = os.urandom(300000) + b"text line\n" * 50000
    e = cobol.CobolEngine(block_size=100000, threads=2)
    out = io.BytesIO()
    e.compress_stream(io.BytesIO(data), out)
    assert out.getvalue() == e.compress(data)
    back = io.BytesIO()
    e.decompress_stream(io.BytesIO(out.getvalue()), back)
    assert back.getvalue() == data


def test_frame_info():
    data = b"a,b,c\n1,2,3\n" * 1000
    info = cobol.frame_info(cobol.compress(data, block_size=5000, checksum="xxh3"))
    assert info.raw_size == len(data) and info.blocks == len(split_blocks(data, 5000))
    assert info.checksum == "xxh3-64" and info.ratio > 1
    assert sum(b.raw_len for b in info.block_list) == len(data)


def test_short_writes_are_completed():
    class Trickle(io.RawIOBase):
        """Accepts at most 1000 bytes per write, like a pipe under pressure."""

        def __init__(self):
            self.out = bytearray()

        def writable(self):
            return True

        def write(self, b):
            n = min(len(b), 1000)
            self.out += bytes(memoryview(b)[:n])
            return n

    data = os.urandom(50000) + b"line\n" * 20000
    sink = Trickle()
    with cobol.open(sink, "wb", block_size=30000) as f:
        f.write(data)
    assert cobol.decompress(bytes(sink.out)) == data
    back = Trickle()
    cobol.CobolEngine().decompress_stream(io.BytesIO(bytes(sink.out)), back)
    assert bytes(back.out) == data


def test_binary_blocks_are_cut_at_the_block_size():
    import numpy as np
    data = (np.arange(300000, dtype=np.int64) * 10 + 10).tobytes()  # full of 0x0A bytes
    assert data.count(b"\n") > 1000
    spans = split_blocks(data, 65536)
    assert all(b - a == 65536 for a, b in spans[:-1])


def test_clear_wins_skip_the_whole_block_zstd_trial_at_low_levels():
    rows = b"".join(b'{"id": %d, "t": %d, "v": %d}\n' % (i, 1600000000 + i * 60, (i * 7919) % 1000)
                    for i in range(150000))
    e = cobol.CobolEngine(level=3, threads=1)
    blob, report = e.encode_block(rows[: 4 << 20], 0)
    names = [t[0] for t in report.trials]
    assert names[-1] == "raw (sampled)" and report.plan != "raw"
    # from level 10 up plain zstd is always run on the whole block
    _, report12 = cobol.CobolEngine(level=12, threads=1).encode_block(rows[: 4 << 20], 0)
    assert [t[0] for t in report12.trials][-1] == "raw"
    assert cobol.decompress(cobol.compress(rows)) == rows


def test_numeric_and_csv_blocks_estimate_plain_zstd_from_128_kib_up():
    import numpy as np
    rng = np.random.default_rng(5)
    walk = np.cumsum(rng.integers(-50, 51, 60000)).astype("<i4").tobytes()  # 240 kB
    e = cobol.CobolEngine(level=3, threads=1, hints={"dtype": "<i4"})
    blob, report = e.encode_block(walk, 0)
    assert report.fmt == "numeric" and report.plan == "numeric"
    assert [t[0] for t in report.trials][-1] == "raw (sampled)"
    # so are CSV tables (plan.RAW_TABLES) ...
    table = b"".join(b"%d,%d\n" % (i, i * i % 977) for i in range(30000))[: 240000]
    _, table_report = cobol.CobolEngine(level=3, threads=1).encode_block(table, 0)
    assert table_report.fmt == "csv" and table_report.plan == "csv"
    assert [t[0] for t in table_report.trials][-1] == "raw (sampled)"
    # ... while other formats compress such a block whole below 512 KiB
    text = b"".join(b'{"id": %d, "sq": %d}\n' % (i, i * i % 977) for i in range(30000))[: 240000]
    _, text_report = cobol.CobolEngine(level=3, threads=1).encode_block(text, 0)
    assert text_report.fmt != "csv"
    assert [t[0] for t in text_report.trials][-1] == "raw"
    assert cobol.decompress(e.compress(walk)) == walk


def test_default_checksum_is_xxh3_and_sha256_frames_still_decode():
    data = b'{"a": 1, "b": [1, 2, 3]}\n' * 4000  # 100 KB: past the small-frame CRC32 default
    default = cobol.compress(data)
    assert cobol.frame_info(default).to_dict()["checksum"] == "xxh3-64"
    sha = cobol.CobolEngine(checksum="sha256").compress(data)
    assert cobol.frame_info(sha).to_dict()["checksum"] == "sha256"
    # same transform and streams; only the 32-byte digest replaces the 8-byte one
    assert len(sha) - len(default) == 32 - 8
    assert cobol.decompress(sha) == cobol.decompress(default) == data


def test_small_compact_frames_default_to_crc32_unless_a_kind_is_named():
    from cobol.format.checksum import SMALL_FRAME_MAX
    row = b'{"a": 1, "b": [1, 2, 3]}\n'
    small = row * (SMALL_FRAME_MAX // len(row))
    big = small + row
    assert len(small) <= SMALL_FRAME_MAX < len(big)
    default = cobol.compress(small)
    assert cobol.frame_info(default).checksum == "crc32"
    assert cobol.frame_info(cobol.compress(big)).checksum == "xxh3-64"
    named = cobol.compress(small, checksum="xxh3")
    assert cobol.frame_info(named).checksum == "xxh3-64"
    # the same block; the digest is 4 bytes shorter
    assert len(named) - len(default) == 8 - 4
    # a full frame (several blocks) keeps xxh3 whatever the block sizes
    assert cobol.frame_info(cobol.compress(small, block_size=4096)).checksum == "xxh3-64"
    assert cobol.decompress(default) == cobol.decompress(named) == small


# ------------------------------------------------------------ structured samples, strict planning
#
# Every structured sample folder through the engine's entry points, so that a
# format transform that does not decode its own output fails these tests (the
# suite runs with COBOL_STRICT=1, tests/conftest.py): each candidate is
# round-tripped by the planner, and the frame is decoded here.

STRUCTURED = structured_samples()


@pytest.mark.parametrize("level", [1, 3, 9, 19])
@pytest.mark.parametrize("data,hints", STRUCTURED)
def test_structured_samples_round_trip_at_each_level_family(data, hints, level):
    blob = cobol.compress(data, level=level, hints=hints)
    assert cobol.decompress(blob) == data
    assert sum(cobol.frame_info(blob).plans.values()) == cobol.frame_info(blob).blocks


@pytest.mark.parametrize("data,hints", STRUCTURED)
def test_structured_samples_in_small_blocks_on_threads(data, hints):
    blob = cobol.compress(data, block_size=4096, threads=2, hints=hints)
    assert cobol.frame_info(blob).blocks >= len(data) // 4096
    assert cobol.decompress(blob, threads=2) == data
    assert blob == cobol.compress(data, block_size=4096, threads=1, hints=hints)


@pytest.mark.parametrize("data,hints", STRUCTURED)
def test_structured_samples_through_open_and_streams(data, hints):
    buf = io.BytesIO()
    with cobol.open(buf, "wb", block_size=8192, hints=hints) as f:
        for i in range(0, len(data), 1000):
            f.write(data[i:i + 1000])
    blob = buf.getvalue()
    with cobol.open(io.BytesIO(blob)) as f:
        assert f.read() == data
    e = cobol.CobolEngine(block_size=8192, hints=hints)
    out = io.BytesIO()
    e.compress_stream(io.BytesIO(data), out)
    back = io.BytesIO()
    e.decompress_stream(io.BytesIO(out.getvalue()), back)
    assert back.getvalue() == data


@pytest.mark.parametrize("data,hints", STRUCTURED)
def test_structured_samples_with_each_layer_switched_off(data, hints):
    for off in ("l1", "l2", "l3", "l4", "ppmd"):
        blob = cobol.compress(data, level=19 if off == "ppmd" else 6, layers={off: False}, hints=hints)
        assert cobol.decompress(blob) == data, off


def _break_decoder(monkeypatch, name):
    """Make the registered transform ``name`` decode one byte wrong."""
    cls = type(transform_by_name(name))
    decode = cls.decode

    def broken(self, *args, **kwargs):
        out = bytearray(decode(self, *args, **kwargs))
        out[len(out) // 2] ^= 1
        return bytes(out)

    monkeypatch.setattr(cls, "decode", broken)


CSV = b"id,name,score\n" + b"".join(b"%d,name%d,%d.%02d\n" % (i, i % 37, i % 100, i % 97) for i in range(3000))


def test_a_transform_failing_its_round_trip_falls_back_for_users(monkeypatch, fallback_planning, caplog):
    _break_decoder(monkeypatch, "csv")
    with caplog.at_level("WARNING", logger="cobol"):
        blob = cobol.compress(CSV, level=1)
    assert "transform csv failed on a csv block" in caplog.text
    assert set(cobol.frame_info(blob).plans) == {"zstd"}  # the raw transform, as frames name it
    assert cobol.decompress(blob) == CSV
    # from level 3 a table block left raw is also planned as text (plan._weak_table)
    blob = cobol.compress(CSV)
    assert "csv" not in cobol.frame_info(blob).plans and cobol.decompress(blob) == CSV


def test_strict_planning_raises_where_a_transform_fails_its_round_trip(monkeypatch):
    assert os.environ.get(STRICT_ENV) == "1"  # tests/conftest.py
    _break_decoder(monkeypatch, "csv")
    with pytest.raises(CobolError, match="csv failed its round-trip check"):
        cobol.compress(CSV)


JSON_LOG_ROWS = b"".join(
    b'{"ts": %d, "level": "%s", "delay": %d, "distance": %d, "origin": "%s"}\n'
    % (1600000000 + i * 37, [b"info", b"warn"][i % 7 == 0], (i * 7919) % 300 - 20, (i * 104729) % 3000,
       [b"SFO", b"LAX", b"JFK", b"ORD"][i % 4]) for i in range(8000))


def test_line_blocks_run_whole_only_the_candidates_their_sample_favours():
    # JSON lines with log keys: json and log are candidates; on records of
    # numbers json wins the sample by far, so log is not run on the whole block
    assert len(JSON_LOG_ROWS) >= plan_module.SAMPLE_MIN_BLOCK
    _, report = cobol.CobolEngine(level=3, threads=1).encode_block(JSON_LOG_ROWS, 0)
    names = [t[0] for t in report.trials]
    assert "json (sample)" in names and "log (sample)" in names
    assert "json" in names and "log" not in names and report.plan == "json"
    # from RAW_SAMPLED_BELOW_LEVEL up every candidate runs whole
    _, report12 = cobol.CobolEngine(level=12, threads=1).encode_block(JSON_LOG_ROWS, 0)
    names12 = [t[0] for t in report12.trials]
    assert "log" in names12 and not any(n.endswith("(sample)") for n in names12)
    assert cobol.decompress(cobol.compress(JSON_LOG_ROWS)) == JSON_LOG_ROWS
    # without log keys the log transform declines the sample, and json, the
    # one left, runs whole without a sample trial; json-dict (it needs a
    # shared dictionary) is not tried at all
    records = JSON_LOG_ROWS.replace(b'"ts"', b'"t0"').replace(b'"level"', b'"kind"')
    _, report = cobol.CobolEngine(level=3, threads=1).encode_block(records, 0)
    assert [t[:2] for t in report.trials if t[0].endswith("(sample)")] == [("log (sample)", None)]
    assert [t[0] for t in report.trials if not t[0].endswith("(sample)")][:1] == ["json"]


@pytest.mark.parametrize("fmt", ["log", "text"])
def test_log_runs_whole_only_when_its_sample_is_close_to_l1s(monkeypatch, fmt):
    # LOG_OVER_L1_SAMPLE_MARGIN and L1_OVER_LOG_SAMPLE_MARGIN: the sample sizes alone decide (the transforms are stand-ins)
    from types import SimpleNamespace
    from cobol.registry import EncodeContext
    block = b"Dec  5 10:00:01 host app[12]: request 7 done\n" * 8000
    assert len(block) >= plan_module.SAMPLE_MIN_BLOCK
    monkeypatch.setattr(plan_module, "_log_like", lambda data, ctx: True)
    candidates = [transform_by_name("log"), transform_by_name("l1")]
    margin = plan_module.LOG_OVER_L1_SAMPLE_MARGIN
    l1_margin = plan_module.L1_OVER_LOG_SAMPLE_MARGIN
    for log_size, l1_size, whole in [(1000, 1000, ["log", "l1"]), (int(1000 * (1 + margin)), 1000, ["log", "l1"]),
                                     (int(1000 * (1 + margin)) + 2, 1000, ["l1"]), (1090, 1000, ["l1"]),
                                     (800, 1000, ["log"]), (1000, 1050, ["log"]), (None, 1000, ["l1"]),
                                     # L1_OVER_LOG_SAMPLE_MARGIN: a log sample that much smaller spares l1's whole run
                                     (950, 1000, ["log"]), (int(1000 * (1 - l1_margin)), 1000, ["log"]),
                                     (int(1000 * (1 - l1_margin)) + 2, 1000, ["log", "l1"])]:
        sizes = {"log": log_size, "l1": l1_size}
        monkeypatch.setattr(plan_module, "_run", lambda t, data, ctx, **kw: None if sizes[t.name] is None
                            else SimpleNamespace(stored_size=sizes[t.name]))
        kept = plan_module._sampled_candidates(block, EncodeContext(level=3, fmt=fmt), candidates, [])
        assert [t.name for t in kept] == whole, (log_size, l1_size)
    # the sample trials are size-only runs (EncodeContext.size_only); the whole-block ones are not
    seen = []
    monkeypatch.setattr(plan_module, "_run", lambda t, data, ctx, **kw: seen.append(ctx.size_only)
                        or SimpleNamespace(stored_size=1000))
    plan_module._sampled_candidates(block, EncodeContext(level=3, fmt=fmt), candidates, [])
    assert seen == [True, True]
    # JSON lines keep the common margin: log within SAMPLE_MARGIN of json runs whole
    sizes = {"json": 1000, "log": 1050}
    json_candidates = [transform_by_name("json"), transform_by_name("log")]
    kept = plan_module._sampled_candidates(JSON_LOG_ROWS, EncodeContext(level=3, fmt="jsonl"), json_candidates, [])
    assert [t.name for t in kept] == ["json", "log"]


def test_templated_text_blocks_are_sampled_and_prose_skips_the_log_transform():
    # lines without timestamps (detect says text) that repeat templates: log and l1
    # run on a sample first, and l1, far behind there, does not run whole
    from cobol.detect import detect
    lines = b"".join(b"TEST: compiler/c%d/Test%d.java passed in %d ms (agentvm %d)\n" % (i % 40, i, i * 7 % 900, i % 3)
                     for i in range(6000))
    assert len(lines) >= plan_module.SAMPLE_MIN_BLOCK and detect(lines) == "text"
    _, report = cobol.CobolEngine(level=3, threads=1).encode_block(lines, 0)
    names = [t[0] for t in report.trials]
    assert "log (sample)" in names and "l1 (sample)" in names
    assert report.plan == "log" and "l1" not in names
    assert cobol.decompress(cobol.compress(lines)) == lines
    # prose (no line repeats a template): the log transform is not tried at all
    words = [b"alpha", b"beta", b"gamma", b"delta", b"epsilon", b"zeta", b"theta", b"kappa", b"lambda", b"sigma"]
    prose = b"".join(b" ".join(words[(i * 7 + k * k * 3 + i // 10) % 10] + words[(i + k) % 10][:k % 4]
                               for k in range(2 + i % 9)) + b".\n" for i in range(30000))
    assert len(prose) >= plan_module.SAMPLE_MIN_BLOCK and detect(prose) == "text"
    _, report = cobol.CobolEngine(level=3, threads=1).encode_block(prose, 0)
    names = [t[0] for t in report.trials]
    assert "l1" in names and not any(n.startswith("log") for n in names)


def test_blocks_of_lines_longer_than_a_sample_slice_run_every_candidate_whole():
    # one JSON record per line, each longer than a slice: no slice of whole lines, no sample
    row = b'{"ts": 1, "level": "info", "msg": "%s"}\n'
    block = b"".join(row % (b"abc%d " % i * 4000) for i in range(30))
    assert len(block) >= plan_module.SAMPLE_MIN_BLOCK and plan_module._line_sample(block) == b""
    _, report = cobol.CobolEngine(level=3, threads=1).encode_block(block, 0)
    names = [t[0] for t in report.trials]
    assert not any(n.endswith("(sample)") for n in names) and {"json", "log"} <= set(names)


def test_users_get_only_the_stored_plan_round_tripped(monkeypatch, fallback_planning, caplog):
    # level 12: json and log both run whole, json is stored; log's broken
    # decoder is never run for users, while strict planning checks every candidate
    _break_decoder(monkeypatch, "log")
    with caplog.at_level("WARNING", logger="cobol"):
        blob = cobol.compress(JSON_LOG_ROWS, level=12)
    assert "failed" not in caplog.text
    assert set(cobol.frame_info(blob).plans) == {"json"}
    assert cobol.decompress(blob) == JSON_LOG_ROWS
    monkeypatch.setenv(STRICT_ENV, "1")
    with pytest.raises(CobolError, match="log failed its round-trip check"):
        cobol.compress(JSON_LOG_ROWS, level=12)


def test_a_stored_plan_failing_its_round_trip_gives_way_to_the_next_smallest(monkeypatch, fallback_planning, caplog):
    _break_decoder(monkeypatch, "json")
    with caplog.at_level("WARNING", logger="cobol"):
        blob = cobol.compress(JSON_LOG_ROWS, level=12)
    assert "transform json failed on a jsonl block" in caplog.text
    assert "json" not in cobol.frame_info(blob).plans
    assert cobol.decompress(blob) == JSON_LOG_ROWS


def test_strict_planning_raises_where_a_transform_crashes(monkeypatch, fallback_planning):
    def crash(self, data, ctx):
        raise IndexError("a transform bug")

    monkeypatch.setattr(type(transform_by_name("csv")), "encode", crash)
    assert cobol.decompress(cobol.compress(CSV)) == CSV  # users: falls back
    monkeypatch.setenv(STRICT_ENV, "1")
    with pytest.raises(IndexError, match="a transform bug"):
        cobol.compress(CSV)


@pytest.mark.parametrize("folder", ["json", "jsonl", "html", "text", "csv", "log"])
def test_top_level_blocks_never_cost_more_than_plain_zstd_at_the_level(folder):
    """Levels 19+ compare candidates with cheaper coders (entropy.provisional_code)
    and finish only the winner; the block must still be no larger than plain
    zstd -19 of it (plan._finished) and decode."""
    import zstandard
    samples = Path(__file__).resolve().parents[1] / "samples" / folder
    for path in sorted(p for p in samples.iterdir() if p.is_file())[:2]:
        data = path.read_bytes()[: 1 << 20]
        if len(data) < 4096:
            continue
        e = cobol.CobolEngine(level=19, threads=1)
        blob, report = e.encode_block(data, 0)
        bare = len(zstandard.ZstdCompressor(level=19, write_content_size=False).compress(data))
        assert report.stored_len <= bare + 64, (path.name, report.plan)
        assert cobol.decompress(e.compress(data)) == data


def test_threads_decode_blocks_of_any_size_and_report_the_first_bad_block_in_frame_order():
    from cobol.format.frame import DataBlock, iter_frame_records
    # uneven blocks: with several threads they are decoded largest first, in no fixed order
    lines = [b"block %d line %d\n" % (i % 7, i) for i in range(30000)]
    data = b"".join(lines[:2000]) + os.urandom(150000) + b"".join(lines[2000:])
    blob = cobol.compress(data, block_size=64 << 10, plan="store")
    sizes = [rec.raw_len for _, rec in iter_frame_records(blob) if isinstance(rec, DataBlock)]
    assert len(set(sizes)) > 2
    for t in (1, 2, 3):
        assert cobol.decompress(blob, threads=t) == data
    # stored blocks hold the raw bytes: flip one byte in a late block, then in an earlier one
    bad = bytearray(blob)
    targets = (len(data) - 70000, data.index(lines[9000]))
    for target in targets:
        bad[bytes(bad).index(data[target:target + 64]) + 10] ^= 1
    ends = list(itertools.accumulate(sizes))
    first_bad = min(bisect.bisect_right(ends, t + 10) for t in targets)
    for t in (1, 2, 3):
        with pytest.raises(ChecksumError, match=rf"^block {first_bad} at offset "):
            cobol.decompress(bytes(bad), threads=t)


def test_in_order_map_keeps_threads_busy_behind_a_slow_head_within_its_bound():
    import threading
    eng = cobol.CobolEngine(threads=2)
    cap = eng.IMAP_AHEAD_PER_THREAD * eng.threads
    assert cap >= 8  # room for items 1..6 while item 0 runs (a window of 2 x threads had 4)
    done_behind_head = threading.Event()
    pulled, yielded = [0], [0]
    most_ahead = [0]

    def items():
        for i in range(40):
            pulled[0] += 1
            most_ahead[0] = max(most_ahead[0], pulled[0] - yielded[0])
            yield (i,)

    def fn(i):
        if i == 0:  # the slow head: waits until later items were done by the other thread
            assert done_behind_head.wait(10), "items behind a slow head were not run"
        elif i == 6:
            done_behind_head.set()
        return i * i

    out = []
    for r in eng._imap(fn, items()):
        out.append(r)
        yielded[0] += 1
    assert out == [i * i for i in range(40)]
    assert most_ahead[0] <= cap


def test_in_order_map_raises_the_first_failure_in_item_order():
    eng = cobol.CobolEngine(threads=2)

    def fn(i):
        if i in (3, 7):
            raise FormatError(f"item {i}")
        return i

    got = []
    with pytest.raises(FormatError, match="item 3"):
        for r in eng._imap(fn, ((i,) for i in range(12))):
            got.append(r)
    assert got == [0, 1, 2]


@pytest.mark.parametrize("threads", [2, 3, 4, 8])
def test_in_place_decode_repairs_the_slack_of_blocks_that_finish_out_of_order(threads):
    import random
    import threading
    import time

    import numpy as np

    from cobol.engine import decode_in_place
    slack = 16
    rng = random.Random(threads)
    ways = set()
    for trial in range(12):
        # blocks of 1..40 bytes (a short block's slack reaches past its neighbour) and larger ones
        sizes = [rng.choice([1, 3, 15, 16, 17, 40, 300, 5000]) for _ in range(rng.randint(2, 30))]
        starts = [0]
        for n in sizes:
            starts.append(starts[-1] + n)
        want = np.frombuffer(os.urandom(starts[-1]), np.uint8)
        out = np.zeros(starts[-1] + slack, np.uint8)
        in_place = set()
        lock = threading.Lock()
        clashes = []

        def decode(i, buf):
            a, b = starts[i], starts[i + 1]
            assert buf.size == b - a + slack
            here = np.shares_memory(buf, out)
            ways.add(here)
            if here:
                with lock:
                    # never in place while a block whose slack reaches it (or that its slack reaches) is
                    clashes.extend((i, j) for j in in_place
                                   if (j < i and starts[i] < starts[j + 1] + slack)
                                   or (i < j and starts[j] < starts[i + 1] + slack))
                    in_place.add(i)
            buf[:b - a] = want[a:b]
            time.sleep(rng.random() * 0.002)
            assert bytes(buf[:b - a]) == bytes(want[a:b])  # nobody wrote into this span meanwhile
            buf[b - a:b - a + slack - 1] = 0xEE  # garbage past the end, as the 16-byte copies leave it
            with lock:
                in_place.discard(i)

        decode_in_place(starts, slack, threads, decode, out)
        assert not clashes
        assert bytes(out[:starts[-1]]) == bytes(want), (trial, sizes)
    assert ways == {True, False}  # both ways were taken


def test_in_place_decode_raises_the_first_failing_block_and_starts_none_after_it():
    import numpy as np

    from cobol.engine import decode_in_place
    starts = list(range(0, 2001, 100))
    out = np.zeros(2000 + 16, np.uint8)
    ran = []

    def decode(i, buf):
        ran.append(i)
        if i in (7, 12):
            raise FormatError(f"block {i}")

    with pytest.raises(FormatError, match="^block 7$"):
        decode_in_place(starts, 16, 2, decode, out)
    assert set(range(7)) <= set(ran)  # the blocks before the first failure all ran


def test_output_identical_for_1_2_4_threads_on_mixed_blocks():
    text = b"".join(b"line %d of the prose, with words and words %d\n" % (i, i * 31) for i in range(6000))
    rows = b"".join(b"%d,%d,name%d,%.3f\n" % (i, i % 17, i % 50, i / 7) for i in range(6000))
    records = b"".join(b'{"id": %d, "tag": "t%d", "v": [%d, %d]}\n' % (i, i % 9, i, -i) for i in range(6000))
    data = text + rows + records + os.urandom(3000) + text[:70001]
    ref = cobol.compress(data, block_size=48 << 10, threads=1)
    for t in (2, 4):
        assert cobol.compress(data, block_size=48 << 10, threads=t) == ref
    for t in (1, 2, 3, 4):
        assert cobol.decompress(ref, threads=t) == data


def test_no_more_threads_than_usable_cores_and_the_same_frame(monkeypatch):
    import threading

    import cobol.engine as engine_mod
    data = b"".join(b"row %d, value %d\n" % (i, i * 13) for i in range(40000))
    ref = cobol.compress(data, block_size=32 << 10, threads=1)
    for cores, most in ((2, 2), (1, 2), (3, 3)):
        monkeypatch.setattr(engine_mod, "default_threads", lambda: cores)
        eng = cobol.CobolEngine(block_size=32 << 10, threads=8)
        seen = set()
        encode = eng.encode_block

        def spy(*args, **kwargs):
            seen.add(threading.get_ident())
            return encode(*args, **kwargs)

        eng.encode_block = spy
        assert eng.compress(data) == ref
        assert len(seen) <= most
        assert eng.decompress(ref) == data


def test_numeric_raw_estimate_reads_an_eighth_of_the_block(monkeypatch):
    """Numeric blocks estimate plain zstd from four slices of a 32nd of the block
    each (other formats: a 16th); the estimate stays near the real size."""
    import numpy as np
    import zstandard
    from cobol import entropy, plan
    rng = np.random.default_rng(9)
    walk = np.cumsum(rng.integers(-50, 51, 200000)).astype("<i4").tobytes()  # 800 kB
    coded = []
    real_code = entropy.entropy_code
    monkeypatch.setattr(entropy, "entropy_code", lambda s, level, *a, **k: (coded.append(len(s)), real_code(s, level, *a, **k))[1])
    est = plan._raw_estimate(walk, 3, plan._RAW_SAMPLE_MIN_BLOCK_NUMERIC, plan._RAW_SAMPLE_PARTS_NUMERIC)
    assert coded == [len(walk) // 32] * 4
    real = len(zstandard.ZstdCompressor(level=3).compress(walk))
    assert 0.9 * real < est < 1.3 * real
    coded.clear()
    plan._raw_estimate(walk, 3, plan._RAW_SAMPLE_MIN_BLOCK_NUMERIC)
    assert coded == [len(walk) // 16] * 4


def test_one_raw_block_frames_decode_through_the_short_path_with_the_same_checks():
    import random
    from cobol.errors import ChecksumError
    from cobol.format.frame import iter_frame_records
    from cobol.profile import Profiler
    data = random.Random(5).randbytes(10000)  # nothing beats the raw block
    text = b"a small page of words, not much to say; " * 200
    for blob in (cobol.compress(data), cobol.compress(data, compact=False), cobol.compress(data, plan="store"),
                 cobol.compress(text, plan="zstd")):
        header, rec = next(iter_frame_records(blob))
        assert rec.transform == 0  # raw
        raw = data if len(blob) > 5000 else text
        assert cobol.decompress(blob) == raw
        # the general path (a profiler takes it) gives the same bytes
        assert cobol.CobolEngine(profiler=Profiler()).decompress(blob) == raw
    # a flipped payload byte of a stored (codec none) raw block: the checksum catches it
    blob = bytearray(cobol.compress(data, plan="store"))
    blob[-5] ^= 1
    with pytest.raises(ChecksumError, match="checksum mismatch"):
        cobol.decompress(bytes(blob))
