"""Issue 9: datasets in parallel (process pool and Dask), fsspec, numcodecs/Zarr."""

import json
import os

import numpy as np
import pytest

import cobol
from cobol.dataset import compress_files, decompress_files


def _make_tree(root):
    files = {
        "jsonl/a.jsonl": b"".join(json.dumps({"id": i, "v": i * 3 % 17}).encode() + b"\n" for i in range(3000)),
        "jsonl/b.jsonl": b'{"x": "y"}\n' * 500,
        "csv/c.csv": b"a,b\n" + b"".join(b"%d,%d\n" % (i, i * i) for i in range(2000)),
        "text/empty.txt": b"",
        "bin/r.bin": os.urandom(5000),
    }
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return files


def _check_roundtrip(src_files, out, tmp_path):
    back = tmp_path / "back"
    rep = decompress_files([str(out)], str(back), workers=1)
    assert not rep.failed
    for rel, data in src_files.items():
        assert (back / rel).read_bytes() == data


def test_pool_compress_resume_and_roundtrip(tmp_path):
    src = tmp_path / "src"
    files = _make_tree(src)
    out = tmp_path / "out"
    rep = compress_files([str(src)], str(out), workers=2, level=3)
    assert [r.status for r in rep.results] == ["done"] * len(files)
    cats = rep.by_category()
    assert set(cats) == {"jsonl", "csv", "bin", "text"}  # every file counts, an empty one too
    assert cats["text"]["files"] == 1 and cats["text"]["geomean_ratio"] is None  # but has no ratio
    _check_roundtrip(files, out, tmp_path)
    # a rerun skips finished outputs whose recorded source digest still matches
    (src / "jsonl/b.jsonl").write_bytes(b'{"x": "z"}\n' * 500)
    rep2 = compress_files([str(src)], str(out), workers=1, level=3)
    status = {os.path.relpath(r.src, src): r.status for r in rep2.results}
    assert status.pop("jsonl/b.jsonl") == "done"
    assert set(status.values()) == {"skipped"}
    assert cobol.decompress((out / "jsonl/b.jsonl.cobl").read_bytes()) == b'{"x": "z"}\n' * 500
    # a damaged output is not trusted: it is redone
    damaged = out / "csv/c.csv.cobl"
    damaged.write_bytes(damaged.read_bytes()[:-5])
    rep3 = compress_files([str(src / "csv")], str(out / "csv"), workers=1, level=3)
    assert rep3.results[0].status == "done"


def test_one_failure_does_not_stop_the_others(tmp_path):
    src = tmp_path / "src"
    files = _make_tree(src)
    (src / "text" / "dangling.txt").symlink_to(tmp_path / "missing")
    rep = compress_files([str(src / "text"), str(src / "csv")], str(tmp_path / "out"), workers=1)
    failed = rep.failed
    assert len(failed) == 1 and "dangling" in failed[0].src and failed[0].error
    assert sum(r.status == "done" for r in rep.results) == 2
    for rel, data in files.items():  # the sources are left as they were
        assert (src / rel).read_bytes() == data
    done, = (r for r in rep.results if r.src.endswith("c.csv"))
    assert cobol.decompress(open(done.dst, "rb").read()) == files["csv/c.csv"]


def test_fsspec_memory_filesystem_in_and_out():
    import fsspec
    fs = fsspec.filesystem("memory")
    data = b"".join(b"line %d\n" % i for i in range(5000))
    with fs.open("/ds/in/logs/x.log", "wb") as f:
        f.write(data)
    rep = compress_files(["memory:///ds/in"], "memory:///ds/out", workers=1)
    assert [r.status for r in rep.results] == ["done"], rep.results
    blob = fs.cat("/ds/out/logs/x.log.cobl")
    assert cobol.decompress(blob) == data
    # cobol is a registered fsspec compression
    with fsspec.open("memory:///ds/y.txt.cobl", "wb", compression="cobol") as f:
        f.write(data)
    with fsspec.open("memory:///ds/y.txt.cobl", "rb", compression="infer") as f:
        assert f.read() == data


def test_dask_local_cluster_matches_process_pool(tmp_path):
    distributed = pytest.importorskip("distributed")
    src = tmp_path / "src"
    files = _make_tree(src)
    out_pool = tmp_path / "pool"
    out_dask = tmp_path / "dask"
    compress_files([str(src)], str(out_pool), workers=2, level=5)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, silence_logs=40) as cluster, \
            distributed.Client(cluster) as client:
        rep = compress_files([str(src)], str(out_dask), scheduler=client, level=5)
    assert not rep.failed
    for rel in files:
        assert (out_dask / (rel + ".cobl")).read_bytes() == (out_pool / (rel + ".cobl")).read_bytes()
    _check_roundtrip(files, out_dask, tmp_path)


@pytest.mark.parametrize("dtype", ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
                                   "uint64", "float32", "float64", ">i4", "bool", "complex64"])
def test_numcodecs_codec_all_dtypes(dtype):
    import numcodecs
    codec = numcodecs.get_codec({"id": "cobol", "level": 3})
    rng = np.random.default_rng(1)
    a = (rng.normal(size=3001) * 1000).cumsum().astype(dtype)
    enc = codec.encode(a)
    assert np.array_equal(np.frombuffer(codec.decode(enc), dtype=a.dtype), a, equal_nan=a.dtype.kind in "fc")
    out = np.empty_like(a)
    codec.decode(enc, out=out)
    assert np.array_equal(out, a, equal_nan=a.dtype.kind in "fc")
    assert numcodecs.get_codec(codec.get_config()).get_config() == codec.get_config()


@pytest.mark.parametrize("shape,chunks,dtype", [((1000, 37), (128, 10), "float64"),
                                                 ((50, 60, 7), (16, 16, 7), "int32"),
                                                 ((10,), (3,), "uint16")])
def test_zarr_array_roundtrip(shape, chunks, dtype):
    zarr = pytest.importorskip("zarr")
    from cobol.interop.numcodecs_codec import Cobol
    store = zarr.storage.MemoryStore()
    rng = np.random.default_rng(2)
    data = (rng.normal(size=shape) * 100).cumsum(axis=0).astype(dtype)
    arr = zarr.create_array(store=store, shape=shape, chunks=chunks, dtype=dtype, zarr_format=2, compressors=Cobol())
    arr[:] = data
    back = zarr.open_array(store=store, mode="r")
    assert np.array_equal(back[:], data)
