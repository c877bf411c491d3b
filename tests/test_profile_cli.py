"""``cobol profile FILE`` and ``cobol bench --profile``."""

import csv
import io
import json

import pytest

from cobol.cli import main


@pytest.fixture
def jsonl_file(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"".join(b'{"id": %d, "kind": "k%d", "v": %d}\n' % (i, i % 7, i * 13) for i in range(3000)))
    return path


def test_profile_prints_the_text_report_and_writes_the_others(jsonl_file, tmp_path, capsys):
    out_json, out_csv, out_html = tmp_path / "p.json", tmp_path / "p.csv", tmp_path / "p.html"
    rc = main(["profile", str(jsonl_file), "-T", "1", "--json", str(out_json), "--csv", str(out_csv),
               "--html", str(out_html)])
    assert rc == 0
    text = capsys.readouterr().out
    assert text.startswith("cobol profile: events.jsonl")
    assert "Layers (compress" in text and "Layers (decompress" in text and "Bottlenecks" in text
    d = json.loads(out_json.read_text())
    assert d["schema"] == "cobol-profile/1" and d["totals"]["raw_bytes"] == jsonl_file.stat().st_size
    assert [r["op"] for r in d["runs"]] == ["compress", "decompress"]
    assert d["engine"]["threads"] == 1
    rows = list(csv.DictReader(io.StringIO(out_csv.read_text())))
    assert {"run", "layer", "stream", "block"} <= {r["kind"] for r in rows}
    assert out_html.read_text().startswith("<!DOCTYPE html>")


def test_profile_report_to_stdout_replaces_the_text(jsonl_file, capsys):
    assert main(["profile", str(jsonl_file), "-T", "1", "--json", "-", "--entropy", "off", "--no-warmup"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["totals"]["entropy_in_bits"] is None
    assert any("entropy figures off" in n for n in d["notes"])


def test_profile_options_reach_the_engine(jsonl_file, capsys):
    assert main(["profile", str(jsonl_file), "-T", "1", "--json", "-", "--plan", "zstd", "--checksum", "xxh3",
                 "--no-verify", "--no-l1", "--block-size", "16K", "-l", "5"]) == 0
    d = json.loads(capsys.readouterr().out)
    e = d["engine"]
    assert (e["plan"], e["checksum"], e["verify"], e["block_size"], e["level"]) == ("zstd", "xxh3-64", False, 16384, 5)
    assert "l1" not in e["layers"]
    assert {b["plan"] for b in d["blocks"]} == {"raw"} and len(d["blocks"]) > 2


def test_profile_errors_use_the_cli_exit_codes(jsonl_file, tmp_path, capsys):
    assert main(["profile", str(tmp_path / "missing.json")]) == 3
    assert main(["profile", str(jsonl_file), "-l", "99"]) == 1
    assert main(["profile", str(jsonl_file), "--plan", "no-such-plan"]) != 0
    capsys.readouterr()


def test_bench_profile_adds_the_breakdown(jsonl_file, capsys):
    rc = main(["bench", str(jsonl_file), "--profile", "--reps", "1", "--levels", "3", "--codecs", "cobol-3",
               "--json", "-q"])
    assert rc == 0
    d = json.loads(capsys.readouterr().out)
    (row,) = d["layer_breakdown"]
    assert row["level"] == 3 and row["ratio"] > 1
    assert sum(row["time_share"].values()) == pytest.approx(1.0)
    assert main(["bench", str(jsonl_file), "--profile", "--reps", "1", "--levels", "3", "--codecs", "cobol-3", "-q"]) == 0
    assert "per-layer breakdown" in capsys.readouterr().out
