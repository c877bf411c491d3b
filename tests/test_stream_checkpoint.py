"""Receiver durability: atomic checkpoints and the store of partial transfers."""

import json
import os

import pytest

import cobol
from cobol.stream import StreamCompressor, StreamingConfig, TransferRefused
from cobol.stream.block import ZERO_CHAIN
from cobol.stream.checkpoint import Checkpoint, TransferStore, atomic_write, load_checkpoint, safe_name
from cobol.stream.decompressor import StreamDecompressor
from cobol.stream.protocol import ResumePoint, TransferInfo

CFG = StreamingConfig(block_size=1000, plan="zstd", level=1, fsync=False)


def info(name="f.txt", tid=b"\7" * 16, fresh=False):
    return TransferInfo(tid, name, None, CFG.block_size, CFG.checksum_id, CFG.level, fresh)


def delivered(data):
    c = StreamCompressor(CFG)
    d = StreamDecompressor(CFG)
    out = []
    for b in c.feed(data) + c.flush():
        out += d.receive(b)
    return out


def rp_after(blocks, raw):
    last = blocks[-1]
    return ResumePoint(last.seq + 1, raw, last.chain)


def test_atomic_write_replaces_or_keeps_and_leaves_no_temp(tmp_path, monkeypatch):
    p = tmp_path / "state.json"
    atomic_write(p, b"one")
    atomic_write(p, b"two")
    assert p.read_bytes() == b"two"

    def boom(*a):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        atomic_write(p, b"three")
    assert p.read_bytes() == b"two"
    assert os.listdir(tmp_path) == ["state.json"]


def test_atomic_write_fsyncs_file_then_directory(tmp_path, monkeypatch):
    calls = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append(os.path.isdir(f"/proc/self/fd/{fd}")), real(fd)))
    atomic_write(tmp_path / "x", b"data")
    assert calls == [False, True]  # the temp file, then (after the rename) the folder


@pytest.mark.parametrize("mode", ["raw", "cobl"])
def test_reopen_cuts_back_to_the_checkpoint(tmp_path, mode):
    data = b"".join(b"row %d\n" % i for i in range(2000))
    blocks = delivered(data)
    store = TransferStore(tmp_path, mode, fsync=True)
    p = store.open(info())
    assert p.resume_point == ResumePoint()
    p.write(blocks[:5])
    raw5 = sum(len(b.raw) for b in blocks[:5])
    p.checkpoint(rp_after(blocks[:5], raw5))
    p.write(blocks[5:8])  # written but never checkpointed: a crash loses it
    p.close()

    store2 = TransferStore(tmp_path, mode)  # a restarted receiver
    q = store2.open(info())
    assert q.resume_point == rp_after(blocks[:5], raw5)
    q.write(blocks[5:])
    n, total = len(blocks), len(data)
    name = q.finalize(n, total, blocks[-1].chain)
    out = (tmp_path / name).read_bytes()
    if mode == "raw":
        assert name == "f.txt" and out == data
    else:
        assert name == "f.txt.cobl" and cobol.decompress(out) == data
    assert not (tmp_path / ".cobol-partial" / (b"\7".hex() * 16 + ".ckpt")).exists()
    # the transfer is remembered as complete: a sender whose DONE was lost is told so
    again = TransferStore(tmp_path, mode).open(info())
    assert again.resume_point.complete and again.resume_point.seq == n
    assert again.finalize(n, total, blocks[-1].chain) == name


def test_names_never_escape_or_overwrite(tmp_path):
    assert safe_name("../../etc/passwd") == "passwd"
    assert safe_name("C:\\x\\evil.txt") == "evil.txt"
    assert safe_name("a\x00b\nc") == "a_b_c"
    for bad in ("", ".", "..", ".hidden", "dir/", "x" * 300):
        with pytest.raises(TransferRefused):
            safe_name(bad)
    (tmp_path / "taken.txt").write_bytes(b"keep me")
    store = TransferStore(tmp_path)
    p = store.open(info("taken.txt"))
    p.write(delivered(b"new"))
    assert p.finalize(1, 3, ZERO_CHAIN) == "taken.txt.1"
    assert (tmp_path / "taken.txt").read_bytes() == b"keep me"
    assert (tmp_path / "taken.txt.1").read_bytes() == b"new"


def test_unreadable_or_mismatched_checkpoint_starts_over(tmp_path):
    store = TransferStore(tmp_path)
    blocks = delivered(b"z" * 5000)
    p = store.open(info())
    p.write(blocks[:2])
    p.checkpoint(rp_after(blocks[:2], 2000))
    p.close()
    ckpt = tmp_path / ".cobol-partial" / (b"\7".hex() * 16 + ".ckpt")
    assert load_checkpoint(ckpt).next_seq == 2
    # different parameters under the same id: start over
    other = TransferInfo(b"\7" * 16, "f.txt", None, 2000, CFG.checksum_id, 1)
    assert store.open(other).resume_point == ResumePoint()
    ckpt.write_bytes(b"{not json")
    assert load_checkpoint(ckpt) is None
    assert store.open(info()).resume_point == ResumePoint()
    ckpt.write_text(json.dumps({"version": 99}))
    assert load_checkpoint(ckpt) is None


def test_fresh_discards_partial_data(tmp_path):
    store = TransferStore(tmp_path)
    blocks = delivered(b"q" * 3000)
    p = store.open(info())
    p.write(blocks[:1])
    p.checkpoint(rp_after(blocks[:1], 1000))
    p.close()
    assert store.open(info()).resume_point.seq == 1
    assert store.open(info(fresh=True)).resume_point == ResumePoint()


def test_checkpoint_json_roundtrip():
    c = Checkpoint("ab" * 16, "n", 5, 1000, 1, "raw", 3, 3000, 3000, ZERO_CHAIN.hex(), 1.5)
    assert Checkpoint.from_json(c.to_json()) == c
