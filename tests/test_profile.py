"""cobol.profile: the profiler's figures against the real run, attribution of
records, bottleneck rating, and every reporter's output parsed back."""

import csv
import io
import json
from html.parser import HTMLParser

import numpy as np
import pytest

import cobol
from cobol.engine import BlockReport, CobolEngine
from cobol.profile import (
    SCHEMA, Profile, Profiler, StreamingProfile, find_bottlenecks, profile_compress, profile_roundtrip, severity,
    to_csv, to_html, to_json, to_text,
)
from cobol.profile import gpu as profile_gpu
from cobol.profile.histogram import byte_histogram, entropy_bits, sampled_histogram
from cobol.profile.reporters import CSV_COLUMNS, print_text, write_report
from support import structured_samples


def _jsonl(n: int) -> bytes:
    return b"".join(b'{"id": %d, "name": "user%d", "score": %d.5, "tags": ["a", "b%d"]}\n'
                    % (i, i % 97, (i * 37) % 1000, i % 5) for i in range(n))


def _text(n: int) -> bytes:
    words = [b"alpha", b"beta", b"gamma", b"delta", b"compress", b"stream", b"block", b"the", b"of"]
    rng = np.random.default_rng(7)
    return b" ".join(words[i] for i in rng.integers(0, len(words), n)) + b"\n"


def _entropy_numpy(data: bytes) -> float:
    """Independent order-0 entropy (np.bincount) to check the Numba histogram against."""
    h = np.bincount(np.frombuffer(data, np.uint8), minlength=256).astype(float)
    p = h[h > 0] / h.sum()
    return float(-(p * np.log2(p)).sum())


@pytest.fixture(scope="module")
def jsonl_run():
    data = _jsonl(6000)
    blob, prof = profile_roundtrip(data, threads=1, block_size=128 << 10, profiler=Profiler(entropy="exact"))
    return data, blob, prof


# ---------------------------------------------------------------- figures agree with the run

def test_totals_add_up_to_the_frame(jsonl_run):
    data, blob, prof = jsonl_run
    t = prof.totals
    info = cobol.frame_info(blob)
    assert t["raw_bytes"] == len(data) == info.raw_size
    assert t["frame_bytes"] == len(blob)
    # streams' stored bytes + block headers + frame header and end marker = the frame
    assert t["stream_stored_bytes"] + t["block_overhead_bytes"] + t["frame_overhead_bytes"] == len(blob)
    assert t["stream_stored_bytes"] == sum(s["stored"] for b in info.block_list for s in b.streams)
    assert t["stream_decoded_bytes"] == sum(s["decoded"] for b in info.block_list for s in b.streams)
    assert t["record_bytes"] == sum(b.stored_len for b in info.block_list)
    assert t["blocks_compressed"] == t["blocks_decompressed"] == info.blocks > 1
    assert t["saved_bytes"] == len(data) - len(blob)


def test_blocks_match_the_frame(jsonl_run):
    data, blob, prof = jsonl_run
    info = cobol.frame_info(blob)
    comp = [b for b in prof.blocks if b["op"] == "compress"]
    dec = [b for b in prof.blocks if b["op"] == "decompress"]
    assert [b["seq"] for b in comp] == [b["seq"] for b in dec] == list(range(info.blocks))
    for row, bi in zip(comp, info.block_list):
        assert (row["raw_bytes"], row["stored_bytes"]) == (bi.raw_len, bi.stored_len)
        assert row["streams"] == len(bi.streams)
        assert row["plan"] == bi.plan or (bi.plan in ("zstd", "store") and row["plan"] == "raw")
        assert sum(row["layers_wall_s"].values()) == pytest.approx(row["wall_s"], rel=1e-6, abs=1e-6)
    assert sum(b["raw_bytes"] for b in dec) == len(data)


def test_layers_and_streams_agree(jsonl_run):
    _, blob, prof = jsonl_run
    t = prof.totals
    ent = prof.layer("entropy")
    assert ent["bytes_in"] == t["stream_decoded_bytes"] and ent["bytes_out"] == t["stream_stored_bytes"]
    assert prof.layer("transform")["bytes_out"] == t["stream_decoded_bytes"]
    assert prof.layer("frame")["bytes_out"] == t["record_bytes"]
    assert sum(s["bytes_out"] for s in prof.streams) == t["stream_stored_bytes"]
    assert sum(s["bytes_in"] for s in prof.streams) == t["stream_decoded_bytes"]
    tops = [r for r in prof.layers if r["op"] == "compress" and r["parent"] is None]
    assert {r["layer"] for r in tops} == {"detect", "plan", "transform", "verify", "entropy", "checksum", "frame", "other"}
    assert sum(r["time_share"] for r in tops) == pytest.approx(1.0)
    assert sum(r["wall_s"] for r in tops) == pytest.approx(sum(b["wall_s"] for b in prof.blocks if b["op"] == "compress"))
    for r in tops:
        assert r["wall_s"] >= 0 and (r["cpu_s"] is None or r["cpu_s"] >= 0)
    # savings: entropy + transform attribution covers raw - (plan sizes); the frame's own bytes are negative
    assert prof.layer("frame")["saved_bytes"] == -t["block_overhead_bytes"]
    comp, dec = prof.run("compress"), prof.run("decompress")
    assert comp["bytes_out"] == len(blob) == dec["bytes_in"] and dec["bytes_out"] == comp["bytes_in"]
    assert comp["blocks"] == dec["blocks"] == t["blocks_compressed"]


def test_entropy_matches_numpy_bincount(jsonl_run):
    data, _, prof = jsonl_run
    assert prof.totals["entropy_in_bits"] == pytest.approx(_entropy_numpy(data), abs=1e-9)
    # per block: the block's histogram is the raw candidate's stream, i.e. the block itself
    info_spans = cobol.engine.split_blocks(data, 128 << 10)
    for row, (a, b) in zip([b for b in prof.blocks if b["op"] == "compress"], info_spans):
        assert row["entropy_in_bits"] == pytest.approx(_entropy_numpy(data[a:b]), abs=1e-9)
    for s in prof.streams:
        if s["bytes_in"]:
            assert 0.0 <= s["entropy_in_bits"] <= 8.0 and 0.0 <= s["entropy_out_bits"] <= 8.0


def test_profiling_changes_no_output_byte():
    data = _jsonl(3000) + _text(20000)
    plain = cobol.compress(data, block_size=64 << 10, threads=1)
    blob, _ = profile_compress(data, block_size=64 << 10, threads=1)
    assert blob == plain


def test_threads_keep_block_figures_apart():
    # plan="zstd": every block is the raw transform, so each block's figures are known exactly
    data = _text(200000)
    blob, prof = profile_compress(data, threads=3, block_size=32 << 10, plan="zstd")
    info = cobol.frame_info(blob)
    rows = sorted((b for b in prof.blocks if b["op"] == "compress"), key=lambda b: b["seq"])
    assert len(rows) == info.blocks > 4
    for row, bi in zip(rows, info.block_list):
        assert (row["raw_bytes"], row["stored_bytes"]) == (bi.raw_len, bi.stored_len)
    assert prof.totals["stream_stored_bytes"] == sum(s["stored"] for b in info.block_list for s in b.streams)
    assert not any("outside any block" in n for n in prof.data["notes"])
    assert [s["name"] for s in prof.streams] == ["raw"]


def test_engine_without_profiler_times_nothing():
    out, report = CobolEngine(threads=1).encode_block(b"abc" * 100, 0)
    assert report.phases == {}
    out, report = CobolEngine(threads=1, profiler=Profiler()).encode_block(b"abc" * 100, 0)
    assert set(report.phases) == {"detect", "plan", "checksum", "frame"}


def test_minimal_profiler_object_is_enough():
    """The engine needs on_block/start/record only; on_block_decoded is optional."""
    class Minimal:
        def __init__(self):
            self.blocks = []

        def on_block(self, report):
            self.blocks.append(report)

        def start(self):
            return Profiler.start()

        def record(self, layer, stream=None, **kw):
            pass

    m = Minimal()
    eng = CobolEngine(threads=1, profiler=m, block_size=1000)
    data = _text(1000)
    assert eng.decompress(eng.compress(data)) == data
    assert len(m.blocks) == len(cobol.engine.split_blocks(data, 1000))


def test_profile_of_empty_input():
    blob, prof = profile_roundtrip(b"")
    assert prof.totals["raw_bytes"] == 0 and prof.totals["frame_bytes"] == len(blob)
    assert prof.blocks == [] and prof.streams == []
    json.loads(to_json(prof))
    to_text(prof)
    to_html(prof)


def test_store_plan_and_level_zero():
    data = _text(5000)
    blob, prof = profile_compress(data, level=0)
    assert prof.totals["stream_stored_bytes"] == len(data)
    assert prof.layer("entropy")["saved_bytes"] == 0
    assert [s["codec"] for s in prof.streams] == ["none"]


def test_profile_can_be_taken_twice():
    p = Profiler()
    eng = CobolEngine(threads=1, profiler=p, block_size=4096).compress(_text(3000))
    first = p.profile().totals
    second = p.profile().totals
    assert first == second
    assert eng and first["blocks_compressed"] == len(cobol.engine.split_blocks(_text(3000), 4096))


def test_two_runs_on_one_profiler_add_up():
    p = Profiler()
    eng = CobolEngine(threads=1, profiler=p, block_size=8192)
    sizes = 0
    for data in (_text(4000), _jsonl(500)):
        with p.run("compress", len(data)) as run:
            run.bytes_out = len(eng.compress(data))
        sizes += run.bytes_out
    t = p.profile().totals
    assert t["frame_bytes"] == sizes
    assert t["stream_stored_bytes"] + t["block_overhead_bytes"] + t["frame_overhead_bytes"] == sizes


# ---------------------------------------------------------------- records from transforms

def _fake_block(p: Profiler, winner: str, seq: int = 0):
    """Replay what plan.py records for two candidates (json wins) plus inner-layer records."""
    tok = p.start()
    p.record("l2", "keys", bytes_in=1000, bytes_out=100, dict_size=40, dict_hits=90, dict_misses=10,
             nesting={"max_depth": 3, "containers": 5, "depth_histogram": [1, 2, 3]})
    p.record("l1", "strings", seconds=0.004, bytes_in=500, bytes_out=400, saved_bytes=50)
    p.record("transform", transform="json", started=tok, bytes_in=2000, bytes_out=700)
    p.record("verify", transform="json", seconds=0.001, bytes_in=2000, bytes_out=2000)
    p.record("entropy", "keys", transform="json", seconds=0.002, bytes_in=100, bytes_out=60,
             data_in=b"k" * 100, data_out=b"z" * 60)
    p.record("entropy", "strings", transform="json", seconds=0.003, bytes_in=600, bytes_out=300,
             data_in=bytes(range(256)) * 2 + b"x" * 88, data_out=b"y" * 300)
    tok = p.start()
    p.record("l1", "whole", seconds=0.5, bytes_in=2000, bytes_out=1)  # made inside the losing candidate
    p.record("transform", transform="text", started=tok, bytes_in=2000, bytes_out=2000)
    p.record("entropy", "raw", transform="raw", seconds=0.002, bytes_in=2000, bytes_out=500,
             data_in=b"a" * 2000, data_out=b"b" * 500)
    streams = [("keys", "zstd", 100, 60), ("strings", "zstd", 600, 300)] if winner == "json" \
        else [("raw", "zstd", 2000, 500)]
    trials = [("json", 380, 0.02), ("text", 2100, 0.5), ("raw", 520, 0.003)]
    p.on_block(BlockReport(seq, "json", winner, 2000, 400 if winner == "json" else 530, streams, trials, 0.6,
                           {"detect": (0.001, 0.001), "plan": (0.55, 0.5), "checksum": (0.01, 0.01),
                            "frame": (0.001, 0.001)}))


def test_inner_records_go_to_the_winning_transform():
    p = Profiler(entropy="exact")
    _fake_block(p, "json", 0)
    _fake_block(p, "json", 1)
    prof = p.profile()
    l2 = prof.layer("l2")
    assert l2["parent"] == "transform" and l2["calls"] == 2 and l2["bytes_in"] == 2000
    assert (l2["dict_size"], l2["dict_hits"], l2["dict_misses"]) == (40, 180, 20)
    assert l2["dict_hit_rate"] == pytest.approx(0.9)
    assert l2["nesting"]["max_depth"] == 3 and l2["nesting"]["containers"] == 10
    assert l2["nesting"]["depth_histogram"] == [2, 4, 6]
    l1 = prof.layer("l1")
    assert l1["bytes_in"] == 1000 and l1["saved_bytes"] == 100  # the losing candidate's "whole" record is not here
    assert prof.layer("l1", stream="strings")["wall_s"] == pytest.approx(0.008)
    assert prof.layer("l1", stream="whole") is None
    # transform = json's own record; verify and the losers' time are not in it
    assert prof.layer("verify")["wall_s"] == pytest.approx(0.002)
    ent = prof.layer("entropy")
    assert ent["wall_s"] == pytest.approx(0.010) and ent["bytes_in"] == 1400 and ent["bytes_out"] == 720
    assert ent["saved_bytes"] == 2 * (2000 - 520)  # raw - plain zstd of the block
    assert prof.layer("transform")["saved_bytes"] == 2 * (520 - 380)
    # block entropy is the raw candidate's stream (b"a" * 2000): 0 bits
    assert prof.layer("detect")["entropy_in_bits"] == 0.0
    names = {(s["transform"], s["name"]): s for s in prof.streams}
    assert set(names) == {("json", "keys"), ("json", "strings")}
    assert names[("json", "strings")]["entropy_in_bits"] == pytest.approx(_entropy_numpy(bytes(range(256)) * 2 + b"x" * 88))
    assert names[("json", "keys")]["layers_wall_s"]["l2"] >= 0
    trials = {t["transform"]: t for t in prof.data["trials"]}
    assert trials["json"]["won"] == 2 and trials["text"]["won"] == 0 and trials["raw"]["tried"] == 2


def test_raw_winner_takes_no_inner_records():
    p = Profiler()
    _fake_block(p, "raw")
    prof = p.profile()
    assert prof.layer("l1") is None and prof.layer("l2") is None
    assert prof.layer("transform")["saved_bytes"] == 0
    assert [s["name"] for s in prof.streams] == ["raw"]


def test_record_with_explicit_seconds_and_extra_numbers():
    p = Profiler()
    p.record("l3", "col:price", seconds=0.25, cpu_seconds=0.2, bytes_in=800, bytes_out=800, order2_chunks=3)
    p.record("transform", transform="csv", seconds=0.3, bytes_in=800, bytes_out=800)
    p.record("entropy", "col:price", transform="csv", seconds=0.01, bytes_in=800, bytes_out=100)
    p.on_block(BlockReport(0, "csv", "csv", 800, 120, [("col:price", "zstd", 800, 100)], [("csv", 110, 0.3)], 0.4,
                           {"plan": (0.35, 0.3)}))
    row = p.profile().layer("l3")
    assert row["wall_s"] == pytest.approx(0.25) and row["cpu_s"] == pytest.approx(0.2)
    assert row["extra"] == {"order2_chunks": 3}


# ---------------------------------------------------------------- bottlenecks

@pytest.mark.parametrize("time_share,savings_share,level", [
    (0.40, 0.01, 4),   # the example: critical
    (0.60, 0.90, 0),   # zstd doing most of the work: fine
    (0.04, 0.00, 0),   # too small to matter
    (0.08, 0.00, 2),   # capped at medium under 10 %
    (0.15, 0.00, 3),   # capped at high under 20 %
    (0.30, 0.15, 1),   # 2x
    (0.30, 0.06, 2),   # 5x
    (0.30, 0.02, 3),   # 15x
    (None, None, 0),
])
def test_severity_levels(time_share, savings_share, level):
    assert severity(time_share, savings_share) == level


def test_recommendation_names_the_layer_and_the_switch():
    layers = [
        {"op": "compress", "layer": "transform", "parent": None, "stream": None, "time_share": 0.5,
         "savings_share": 0.3, "wall_s": 1.0, "saved_bytes": 30},
        {"op": "compress", "layer": "l1", "parent": "transform", "stream": "strings", "time_share": 0.40,
         "savings_share": 0.01, "wall_s": 0.8, "saved_bytes": 1},
        {"op": "compress", "layer": "checksum", "parent": None, "stream": None, "time_share": 0.12,
         "savings_share": 0.0, "wall_s": 0.2, "saved_bytes": None},
    ]
    streams = [{"transform": "json", "name": "nums", "time_share": 0.3, "savings_share": 0.0, "ratio": 1.01,
                "total_wall_s": 0.6, "saved_bytes": 0, "layers_wall_s": {"entropy": 0.6}}]
    data = {"engine": {"level": 9, "checksum": "sha256"}, "trials": [], "layers": layers, "streams": streams}
    rows = find_bottlenecks(data)
    top = rows[0]
    assert top["subject"] == "l1 on strings" and top["severity_name"] == "critical"
    assert "L1 on strings takes 40% of the time for 1% of the savings" in top["recommendation"]
    assert "--no-l1" in top["recommendation"]
    by = {r["subject"]: r for r in rows}
    assert "xxh3" in by["checksum"]["recommendation"] and by["checksum"]["severity"] == 3
    assert "barely compresses" in by["stream nums"]["recommendation"]
    assert [r["severity"] for r in rows] == sorted((r["severity"] for r in rows), reverse=True)


def test_recommendation_gives_the_level_below_the_winning_transform(monkeypatch):
    from cobol.profile import bottleneck
    monkeypatch.setattr(bottleneck, "_transform_info", lambda name: {"min_level": 6} if name == "text" else {})
    layers = [{"op": "compress", "layer": "l1", "parent": "transform", "stream": "strings", "time_share": 0.40,
               "savings_share": 0.01, "wall_s": 0.8, "saved_bytes": 1}]
    trials = [{"transform": "text", "tried": 3, "won": 3}, {"transform": "raw", "tried": 3, "won": 0}]
    (row,) = find_bottlenecks({"engine": {"level": 9}, "trials": trials, "layers": layers, "streams": []})
    assert row["recommendation"] == ("L1 on strings takes 40% of the time for 1% of the savings: use level 5 or "
                                     "lower (-l 5), where text is not tried, or layers={'l1': False} (--no-l1)")


def test_real_profile_rates_every_layer_and_stream(jsonl_run):
    _, _, prof = jsonl_run
    subjects = {(b["kind"], b["subject"]) for b in prof.bottlenecks if b["op"] == "compress"}
    for r in prof.layers:
        if r["op"] == "compress" and r["parent"] is None:
            assert ("layer", r["layer"]) in subjects
    for s in prof.streams:
        assert ("stream", f"stream {s['name']}") in subjects
    for b in prof.bottlenecks:
        assert 0 <= b["severity"] <= 4 and (b["recommendation"] is None) == (b["severity"] == 0)


# ---------------------------------------------------------------- reporters parse back

def test_json_report_is_the_schema_and_round_trips(jsonl_run):
    _, _, prof = jsonl_run
    text = to_json(prof)
    d = json.loads(text)
    assert d == prof.data and d["schema"] == SCHEMA
    for key in ("created", "tool", "engine", "runs", "totals", "layers", "streams", "trials", "blocks", "memory",
                "gpu", "streaming", "bottlenecks", "notes"):
        assert key in d
    back = Profile.from_json(text)
    assert to_html(back, "t") == to_html(prof, "t") and to_text(back) == to_text(prof)
    with pytest.raises(ValueError):
        Profile({"schema": "something else"})


def test_csv_report_parses(jsonl_run):
    _, _, prof = jsonl_run
    rows = list(csv.DictReader(io.StringIO(to_csv(prof))))
    kinds = [r["kind"] for r in rows]
    assert kinds.count("run") == 2
    assert kinds.count("layer") == len(prof.layers)
    assert kinds.count("stream") == len(prof.streams)
    assert kinds.count("block") == len(prof.blocks)
    assert kinds.count("bottleneck") == len(prof.bottlenecks)
    with io.StringIO(to_csv(prof)) as f:
        assert tuple(next(csv.reader(f))) == CSV_COLUMNS
    for r in rows:
        for col in ("wall_s", "bytes_in", "bytes_out", "ratio", "time_share"):
            if r[col]:
                float(r[col])
        if r["details"]:
            json.loads(r["details"])
    layer_rows = {(r["op"], r["name"]): r for r in rows if r["kind"] == "layer" and not r["stream"] and not r["parent"]}
    assert int(layer_rows["compress", "entropy"]["bytes_out"]) == prof.totals["stream_stored_bytes"]


def test_text_report(jsonl_run):
    _, _, prof = jsonl_run
    text = to_text(prof, "my title")
    assert text.startswith("my title\n")
    for word in ("compress:", "decompress:", "Layers (compress", "Streams", "Bottlenecks", "Memory", "transform"):
        assert word in text
    buf = io.StringIO()
    print_text(prof, buf, "t", color=True)  # the rich path
    assert "transform" in buf.getvalue() and "Layers" in buf.getvalue()


class _Checker(HTMLParser):
    """Collects what a validity check needs: tag balance, scripts, external references."""

    VOID = {"meta", "br", "img", "input", "link", "hr", "col", "area", "base", "source", "wbr", "embed", "track"}
    SVG_EMPTY = {"rect", "line", "circle", "polyline", "path", "ellipse", "polygon"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack = []
        self.errors = []
        self.counts = {}
        self.scripts = []
        self.refs = []
        self.decl = None

    def handle_decl(self, decl):
        self.decl = decl

    def handle_starttag(self, tag, attrs):
        if "svg" not in self.stack or tag == "svg":  # <title> inside an SVG is the chart's tooltip
            self.counts[tag] = self.counts.get(tag, 0) + 1
        a = dict(attrs)
        if tag == "script":
            self.scripts.append(a.get("type"))
        for k in ("src", "href", "xlink:href"):
            if k in a:
                self.refs.append(a[k])
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.counts[tag] = self.counts.get(tag, 0) + 1
        if tag not in self.VOID and tag not in self.SVG_EMPTY:
            self.errors.append(f"self-closed <{tag}/>")

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1] if self.stack else 'nothing'}")
            if tag in self.stack:
                while self.stack.pop() != tag:
                    pass
        else:
            self.stack.pop()


def _check_html(page: str) -> _Checker:
    c = _Checker()
    c.feed(page)
    c.close()
    assert c.decl and c.decl.lower() == "doctype html"
    assert not c.errors, c.errors[:5]
    assert not c.stack, c.stack
    for tag in ("html", "head", "body", "title"):
        assert c.counts.get(tag) == 1
    assert c.scripts == ["application/json"]  # data only, nothing executable
    assert c.refs == [] and "<link" not in page and "@import" not in page and "url(" not in page
    return c


def test_html_report_is_valid_and_self_contained(jsonl_run):
    _, _, prof = jsonl_run
    page = to_html(prof, "profile <of> & things")
    c = _check_html(page)
    assert c.counts.get("svg", 0) >= 6  # time x2, bytes, ratio per stream, throughput over blocks x2
    assert "profile &lt;of&gt; &amp; things" in page
    # the embedded data is the profile
    start = page.index('<script type="application/json" id="profile-data">') + len(
        '<script type="application/json" id="profile-data">')
    data = json.loads(page[start:page.index("</script>", start)].replace("<\\/", "</"))
    assert data == prof.data


def test_write_report_by_suffix(tmp_path, jsonl_run):
    _, _, prof = jsonl_run
    for name in ("p.json", "p.csv", "p.html", "p.txt"):
        write_report(prof, str(tmp_path / name))
    assert json.loads((tmp_path / "p.json").read_text()) == prof.data
    _check_html((tmp_path / "p.html").read_text())
    with pytest.raises(ValueError):
        write_report(prof, str(tmp_path / "p.xyz"))


def test_streaming_section_reaches_the_reports():
    sp = StreamingProfile()
    for seq in range(20):
        sp.on_block_sent(seq, 1000, t=seq * 0.01)
        sp.on_block_received(seq, 1000, t=seq * 0.01 + 0.005 + (seq % 3) * 0.001)
    p = Profiler()
    p.attach_streaming(sp)
    prof = p.profile()
    assert prof.data["streaming"]["blocks_received"] == 20
    page = to_html(prof)
    _check_html(page)
    assert "Streaming throughput over time" in page and "Streaming latency per block" in page
    assert "jitter" in to_text(prof)


# ---------------------------------------------------------------- histogram and GPU

@pytest.mark.parametrize("n", [0, 1, 3, 4, 5, 1000, 65536, 65537, 300001])
def test_histograms(n):
    data = np.random.default_rng(n).integers(0, 40, n, dtype=np.uint8).tobytes()
    h = byte_histogram(data)
    assert np.array_equal(h, np.bincount(np.frombuffer(data, np.uint8), minlength=256))
    hs, sampled = sampled_histogram(data)
    assert sampled == (n > 65536)
    assert abs(int(hs.sum()) - n) <= 256
    if n:
        assert entropy_bits(hs) == pytest.approx(_entropy_numpy(data), abs=0.05)
    else:
        assert entropy_bits(h) is None
    arr = np.arange(10, dtype=np.int32)
    assert byte_histogram(arr).sum() == 40


def test_gpu_fields_absent_without_a_gpu_backend(jsonl_run):
    _, _, prof = jsonl_run
    assert prof.data["gpu"] is None
    assert profile_gpu.gpu_figures(None, None, None) is None
    assert profile_gpu.is_gpu_backend("cuda") and not profile_gpu.is_gpu_backend("cpu")
    g = profile_gpu.gpu_figures("cuda", None, None)
    assert g["backend"] == "cuda" and g["nvml_available"] is False and g["memory_used_bytes_end"] is None
    try:
        import pynvml  # noqa: F401
    except ImportError:
        assert profile_gpu.nvml_sample() is None


@pytest.mark.parametrize("data,hints", structured_samples(32 << 10))
def test_structured_samples_profiled(data, hints):
    """Each format under the profiler: the round trip holds, the figures add up
    to the frame, and the winning transform of each block is in the report."""
    blob, prof = profile_roundtrip(data, threads=1, block_size=8192, hints=hints, level=9)
    info = cobol.frame_info(blob)
    assert prof.totals["raw_bytes"] == len(data) and prof.totals["frame_bytes"] == len(blob)
    assert prof.totals["blocks_compressed"] == prof.totals["blocks_decompressed"] == info.blocks
    json.loads(to_json(prof))
