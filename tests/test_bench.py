"""``cobol bench`` and the harness in cobol.bench: inputs, codec selection,
verification of every round trip, summaries, the JSON schema."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from cobol import bench, cli
from cobol.cli import common

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


@pytest.fixture
def corpus(tmp_path):
    """A tiny corpus: two categories (folder names), one numeric file, a README to skip."""
    (tmp_path / "csv").mkdir()
    (tmp_path / "log").mkdir()
    (tmp_path / "numeric").mkdir()
    (tmp_path / "csv" / "a.csv").write_bytes((SAMPLES / "csv" / "vega-birdstrikes.csv").read_bytes()[:20000])
    (tmp_path / "csv" / "b.csv").write_bytes(b"x,y\n" + b"".join(b"%d,%d\n" % (i, i * i) for i in range(2000)))
    (tmp_path / "log" / "c.log").write_bytes((SAMPLES / "log" / "local-dpkg.log").read_bytes()[:20000])
    (tmp_path / "numeric" / "d.i32").write_bytes((SAMPLES / "numeric" / "vega-flights-200k-delay.i32").read_bytes()[:8000])
    (tmp_path / "README.md").write_text("not data\n")
    (tmp_path / "csv" / "a.csv.cobl").write_bytes(b"an output, not an input")
    return tmp_path


def test_collect_inputs_walks_sorted_and_skips_docs(corpus):
    inputs = bench.collect_inputs([corpus])
    assert [Path(i.name).relative_to(corpus).as_posix() for i in inputs] == \
        ["csv/a.csv", "csv/b.csv", "log/c.log", "numeric/d.i32"]
    assert [i.category for i in inputs] == ["csv", "csv", "log", "numeric"]
    assert [i.dtype for i in inputs] == [None, None, None, "int32"]
    [one] = bench.collect_inputs([corpus / "log" / "c.log"], max_bytes=1000)
    assert len(one.data) <= 1000 and one.data.endswith(b"\n") and len(one.data) > 500
    [num] = bench.collect_inputs([corpus / "numeric" / "d.i32"], max_bytes=1001)
    assert len(num.data) == 1000  # whole values only
    with pytest.raises(OSError):
        bench.collect_inputs([corpus / "missing"])


def test_parse_codecs():
    labels = [c.label for c in bench.parse_codecs(levels=(3, 19))]
    assert labels[:4] == ["cobol -3", "cobol -19", "zstd -3", "zstd -19"]
    assert {"xz -9", "brotli -11", "lz4"} <= set(labels)
    assert [c.label for c in bench.parse_codecs("zstd,cobol-7,xz:6,zstd-3", levels=(1,))] == \
        ["zstd -3", "zstd -19", "cobol -7", "xz -6"]
    with pytest.raises(bench.BenchError):
        bench.parse_codecs("gzip")
    with pytest.raises(bench.BenchError):
        bench.parse_codecs("zstd-x")


def test_every_round_trip_is_checked_and_failures_are_reported():
    data = b"abc" * 1000
    good = bench.parse_codecs("zstd-1")
    liar = bench.Codec("liar", 1, lambda d, _t: d[:10], lambda b, _s, _t: b)
    crasher = bench.Codec("crasher", 1, lambda d, _t: 1 / 0, lambda b, _s, _t: b)
    res = bench.run_bench([bench.BenchInput("x.txt", "text", data)], good + [liar, crasher], reps=1)
    ok, lie, crash = res.rows
    assert ok.verified and ok.ratio == round(len(data) / ok.compressed_size, 4)
    assert not lie.verified and "mismatch" in lie.error and lie.ratio == 0.0
    assert not crash.verified and "ZeroDivisionError" in crash.error
    assert not res.ok


def test_summaries_geomean_and_ratio_vs_zstd19(corpus):
    inputs = bench.collect_inputs([corpus])
    res = bench.run_bench(inputs, bench.parse_codecs("cobol-1,zstd-19,lz4"), reps=1)
    assert res.ok
    by = {(r.file, r.codec): r for r in res.rows}
    csv = {(s.codec, s.level): s for s in res.categories if s.category == "csv"}
    files = [i.name for i in inputs if i.category == "csv"]
    expect = math.sqrt(by[files[0], "zstd"].ratio * by[files[1], "zstd"].ratio)
    assert csv["zstd", 19].geomean_ratio == pytest.approx(expect, rel=1e-3)
    assert csv["zstd", 19].files == 2
    vs = {(v["category"], v["level"]): v["ratio_vs_zstd19"] for v in res.vs_reference}
    assert vs["csv", 1] == pytest.approx(csv["cobol", 1].geomean_ratio / csv["zstd", 19].geomean_ratio, rel=1e-3)
    assert {c for c, _ in vs} == {"csv", "log", "numeric", "all"}
    cols, rows = bench.category_table(res)
    assert cols[-1][0] == "cobol -1 vs zstd -19" and rows[-1][0] == "all"


def test_cli_bench_json_schema(corpus):
    p = subprocess.run([sys.executable, "-m", "cobol.cli", "bench", str(corpus), "--reps", "1",
                        "--codecs", "cobol-1,zstd-19,xz-1", "--json"], capture_output=True, timeout=300)
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["schema"] == "cobol-bench/1" and doc["ok"] and doc["reps"] == 1
    assert len(doc["results"]) == 4 * 3
    for r in doc["results"]:
        assert {"file", "category", "size", "codec", "level", "ratio", "c_mbps", "d_mbps"} <= r.keys()
        assert r["verified"] and r["ratio"] > 1 and r["c_mbps"] > 0 and r["d_mbps"] > 0
    cats = {(c["category"], c["codec"]) for c in doc["categories"]}
    assert ("csv", "cobol") in cats and ("all", "xz") in cats
    assert any(v["category"] == "all" for v in doc["vs_zstd19"])


def test_cli_bench_table_and_usage_errors(corpus, capsys):
    rc = cli.main(["bench", str(corpus / "csv"), "--reps", "1", "--codecs", "zstd-3,lz4", "-v"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "Compression ratio per file" in out and "a.csv" in out and "Geometric mean ratio" in out
    assert "Per file and codec" in out  # -v adds the long table
    assert cli.main(["bench", str(corpus), "--codecs", "nope"]) == common.EXIT_USAGE
    assert cli.main(["bench", str(corpus / "missing")]) == common.EXIT_IO
    assert cli.main(["bench", str(corpus), "--levels", "x"]) == common.EXIT_USAGE
    err = capsys.readouterr().err
    assert err.count("cobol: ") == 3 and "Traceback" not in err


def test_cli_bench_exit_code_on_a_failed_round_trip(corpus, monkeypatch, capsys):
    liar = bench.Codec("liar", 1, lambda d, _t: d, lambda b, _s, _t: b + b"!")
    monkeypatch.setattr(bench, "parse_codecs", lambda *a, **k: [liar])
    rc = cli.main(["bench", str(corpus / "log"), "--reps", "1"])
    assert rc == common.EXIT_INTERNAL
    assert "round trip mismatch" in capsys.readouterr().err
