"""cobol.open file objects with gzip's habits: tell(), seek() both ways, readers that need them."""

import io
import random
import tarfile
import zipfile

import numpy as np
import pytest

import cobol


def _data():
    head = bytes(random.Random(7).randrange(256) for _ in range(3000))
    body = b"".join(b'{"id": %d, "name": "user%d", "ok": true}\n' % (i, i * 7) for i in range(30000))
    return head + body


@pytest.fixture(scope="module")
def multi_frame():
    data = _data()
    tail = b"second frame " * 500
    blob = cobol.compress(data, block_size=128 << 10) + cobol.compress(tail, block_size=4096)
    return data + tail, blob


def test_random_seeks_read_the_right_bytes(multi_frame):
    data, blob = multi_frame
    rnd = random.Random(3)
    with cobol.open(io.BytesIO(blob)) as f:
        assert f.seekable()
        for _ in range(200):
            whence = rnd.choice([io.SEEK_SET, io.SEEK_CUR, io.SEEK_END])
            target = rnd.randrange(0, len(data) + 1)
            cur = f.tell()
            offset = {io.SEEK_SET: target, io.SEEK_CUR: target - cur, io.SEEK_END: target - len(data)}[whence]
            assert f.seek(offset, whence) == target == f.tell()
            n = rnd.randrange(0, 20000)
            assert f.read(n) == data[target:target + n]
            assert f.tell() == min(len(data), target + n)


def test_tell_while_reading_lines_and_writing(tmp_path):
    data = _data()
    p = tmp_path / "x.cobl"
    with cobol.open(p, "wb", block_size=64 << 10) as f:
        f.write(data[:1000])
        assert f.tell() == 1000
        f.write(data[1000:])
        assert f.tell() == len(data)
        assert not f.seekable()
        with pytest.raises(io.UnsupportedOperation):
            f.seek(0)
    with cobol.open(p) as f:
        pos = 0
        for _ in range(50):
            line = f.readline()
            pos += len(line)
            assert f.tell() == pos
        f.seek(0)
        assert f.read() == data


def test_negative_seek_is_refused_and_unseekable_sources_say_so():
    blob = cobol.compress(b"abc" * 1000)
    with cobol.open(io.BytesIO(blob)) as f:
        with pytest.raises(ValueError):
            f.seek(-1)
        with pytest.raises(ValueError):
            f.seek(0, 7)

    class Pipe(io.RawIOBase):
        def __init__(self, b):
            self._b = io.BytesIO(b)

        def readable(self):
            return True

        def readinto(self, buf):
            return self._b.readinto(buf)

    with cobol.open(Pipe(blob)) as f:
        assert not f.seekable()
        with pytest.raises(io.UnsupportedOperation):
            f.seek(0)
        assert f.read() == b"abc" * 1000


def test_seek_past_the_end_reads_nothing(multi_frame):
    data, blob = multi_frame
    with cobol.open(io.BytesIO(blob)) as f:
        assert f.seek(len(data) + 10) == len(data) == f.tell()  # like gzip: positioned at EOF
        assert f.read(10) == b""
        assert f.seek(5) == 5
        assert f.read(5) == data[5:10]


def test_max_output_size_still_holds_with_seeks(multi_frame):
    data, blob = multi_frame
    with cobol.open(io.BytesIO(blob), max_output_size=300 << 10) as f:
        f.seek(len(data) - 10)  # walks past blocks without decoding them
        assert f.read() == data[-10:]
        with pytest.raises(cobol.LimitError):
            for _ in range(20):  # decoding block after block passes the limit
                f.seek(0)
                f.read(1)
                f.seek(len(data) // 2)
                f.read(1)


def test_tarfile_reads_members_through_seek(tmp_path):
    raw = io.BytesIO()
    rnd = np.random.default_rng(5)
    members = {f"m{i}.bin": rnd.integers(0, 9, 40000, dtype=np.uint8).tobytes() for i in range(5)}
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name, payload in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    p = tmp_path / "a.tar.cobl"
    p.write_bytes(cobol.compress(raw.getvalue(), block_size=32 << 10))
    with cobol.open(p) as f, tarfile.open(fileobj=f, mode="r:") as tar:
        for name in reversed(list(members)):  # backwards: each extract seeks back
            assert tar.extractfile(name).read() == members[name]


def test_zipfile_reads_through_seek(tmp_path):
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w") as z:
        for i in range(4):
            z.writestr(f"f{i}.txt", f"line {i}\n".encode() * 5000)
    p = tmp_path / "a.zip.cobl"
    p.write_bytes(cobol.compress(raw.getvalue(), block_size=16 << 10))
    with cobol.open(p) as f, zipfile.ZipFile(f) as z:
        assert z.read("f3.txt") == b"line 3\n" * 5000
        assert z.read("f0.txt") == b"line 0\n" * 5000


def test_frame_info_takes_paths_and_file_objects(tmp_path):
    blob = cobol.compress(_data(), block_size=64 << 10)
    want = cobol.frame_info(blob).to_dict(blocks=True)
    p = tmp_path / "x.cobl"
    p.write_bytes(b"junk" * 1000 + blob)
    with open(p, "rb") as f:
        f.seek(4000)
        assert cobol.frame_info(f).to_dict(blocks=True) == want
    p.write_bytes(blob)
    assert cobol.frame_info(p).to_dict(blocks=True) == want
    assert cobol.frame_info(str(p)).to_dict(blocks=True) == want
    assert cobol.frame_info(io.BytesIO(blob)).to_dict(blocks=True) == want
    assert cobol.frame_info(memoryview(blob)).to_dict(blocks=True) == want
    p.write_bytes(b"")
    with pytest.raises(cobol.TruncatedError):
        cobol.frame_info(p)
