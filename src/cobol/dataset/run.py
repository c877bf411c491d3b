from __future__ import annotations

import hashlib
import json
import math
import os
import posixpath
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field

from ..errors import CobolError, EncodeError

#: metadata tag of the block that records where a .cobl file came from
SOURCE_TAG = 0x534F5243  # "SORC"
SUFFIX = ".cobl"


@dataclass
class FileResult:
    src: str
    dst: str
    category: str
    status: str  # "done", "skipped", "failed"
    bytes_in: int = 0
    bytes_out: int = 0
    seconds: float = 0.0
    error: str = ""
    #: the path relative to the input root given (what reports print)
    rel: str = ""

    @property
    def ratio(self) -> float:
        return self.bytes_in / self.bytes_out if self.bytes_out else 0.0


@dataclass
class DatasetReport:
    results: list = field(default_factory=list)
    seconds: float = 0.0
    workers: int = 1
    scheduler: str | None = None

    @property
    def failed(self) -> list:
        return [r for r in self.results if r.status == "failed"]

    def by_category(self) -> dict:
        cats: dict = {}
        for r in self.results:  # every file counts, empty ones too; the geomean is over files with bytes
            if r.status == "failed":
                continue
            c = cats.setdefault(r.category, {"files": 0, "bytes_in": 0, "bytes_out": 0, "log_ratio": 0.0, "rated": 0})
            c["files"] += 1
            c["bytes_in"] += r.bytes_in
            c["bytes_out"] += r.bytes_out
            if r.bytes_in and r.bytes_out:
                c["log_ratio"] += math.log(r.ratio)
                c["rated"] += 1
        for c in cats.values():
            rated = c.pop("rated")
            c["geomean_ratio"] = math.exp(c.pop("log_ratio") / rated) if rated else None
        return cats

    def to_dict(self) -> dict:
        total_in = sum(r.bytes_in for r in self.results if r.status != "failed")
        return {
            "seconds": self.seconds, "workers": self.workers, "scheduler": self.scheduler,
            "bytes_in": total_in,
            "bytes_out": sum(r.bytes_out for r in self.results if r.status != "failed"),
            "mib_per_s": total_in / (1 << 20) / self.seconds if self.seconds else 0.0,
            "files": [dict(asdict(r), ratio=r.ratio) for r in self.results],
            "categories": self.by_category(),
        }


def _fs(url: str):
    import fsspec
    fs, path = fsspec.core.url_to_fs(url)
    return fs, path


def collect_inputs(paths, suffix_filter=None) -> list[tuple[str, str]]:
    """Expand files, directories and globs (fsspec URLs allowed) into
    (url, relative path) pairs, sorted, so outputs mirror the input tree."""
    out = []
    for p in paths:
        p = str(p)
        fs, path = _fs(p)
        protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
        prefix = "" if protocol in ("file", "local") else f"{protocol}://"
        if any(ch in path for ch in "*?["):
            matches = sorted(fs.glob(path))
            root = path.split("*")[0].rsplit("/", 1)[0]
        elif fs.isdir(path):
            matches = sorted(fs.find(path))
            root = path
        else:
            matches = [path]
            root = posixpath.dirname(path)
        for m in matches:
            if fs.isdir(m):
                continue
            if suffix_filter and not suffix_filter(m):
                continue
            rel = posixpath.relpath(m, root) if root else m
            out.append((prefix + m if prefix and not m.startswith(prefix) else m, rel))
    return out


def _category(rel: str) -> str:
    parent = posixpath.basename(posixpath.dirname(rel))
    return parent or "."


def _join(out_dir: str, rel: str) -> str:
    return out_dir.rstrip("/") + "/" + rel


def _source_digest(fs, path) -> tuple[int, str]:
    h = hashlib.sha256()
    n = 0
    with fs.open(path, "rb") as f:
        while True:
            b = f.read(1 << 22)
            if not b:
                break
            h.update(b)
            n += len(b)
    return n, h.hexdigest()


def _recorded_source(fs, path) -> dict | None:
    """The source record in an existing output, or None if absent/unreadable."""
    from ..format.frame import MetadataBlock, read_block, read_frame_header
    from ..format.wire import Reader
    try:
        with fs.open(path, "rb") as f:
            head = f.read(4096)
        r = Reader(head)
        header = read_frame_header(r)
        rec = read_block(r, header)
        if isinstance(rec, MetadataBlock) and rec.tag == SOURCE_TAG:
            return json.loads(rec.payload)
    except (CobolError, OSError, ValueError):
        return None
    return None


def _output_complete(fs, path, size: int) -> bool:
    """Cheap end check: the file parses to its end marker with the expected total."""
    from ..engine import FrameReader
    from ..format.frame import EndRecord
    try:
        with fs.open(path, "rb") as f:
            for _, rec in FrameReader(f):
                if isinstance(rec, EndRecord):
                    return rec.total_raw == size
    except (CobolError, OSError):
        return False
    return False


def compress_one(src: str, dst: str, category: str, engine_kwargs: dict, resume: bool = True) -> FileResult:
    """Compress one file (runs in a worker process or a Dask worker)."""
    from ..engine import CobolEngine, FrameWriter
    from ..format.frame import encode_metadata_block
    t0 = time.perf_counter()
    res = FileResult(src, dst, category, "failed")
    try:
        sfs, spath = _fs(src)
        dfs, dpath = _fs(dst)
        size, digest = _source_digest(sfs, spath)
        res.bytes_in = size
        if resume and dfs.exists(dpath):
            rec = _recorded_source(dfs, dpath)
            if rec and rec.get("sha256") == digest and rec.get("size") == size and _output_complete(dfs, dpath, size):
                res.status = "skipped"
                res.bytes_out = dfs.size(dpath)
                res.seconds = time.perf_counter() - t0
                return res
        engine = CobolEngine(**engine_kwargs)
        parent = posixpath.dirname(dpath)
        if parent:
            dfs.makedirs(parent, exist_ok=True)
        tmp = f"{dpath}.part-{os.getpid()}"
        try:
            with sfs.open(spath, "rb") as fin, dfs.open(tmp, "wb") as fout:
                writer = FrameWriter(engine, fout, preamble=encode_metadata_block(
                    SOURCE_TAG, json.dumps({"size": size, "sha256": digest, "name": posixpath.basename(spath),
                                            "mtime": _mtime(sfs, spath)}).encode()))
                engine.compress_stream(fin, None, writer=writer)
            dfs.mv(tmp, dpath)
        except BaseException:
            if dfs.exists(tmp):
                dfs.rm(tmp)
            raise
        res.bytes_out = dfs.size(dpath)
        res.status = "done"
    except Exception as e:  # one file's failure is reported in its row, never stops the others
        res.error = f"{type(e).__name__}: {e}"
    res.seconds = time.perf_counter() - t0
    return res


def _mtime(fs, path) -> float | None:
    """The source's modification time (seconds since the epoch), where the file system has one."""
    try:
        m = fs.modified(path)
    except (NotImplementedError, OSError, AttributeError):
        return None
    return m.timestamp() if hasattr(m, "timestamp") else None


def _restore_mtime(fs, path, record: dict | None) -> None:
    """Give a decompressed local file its source's mtime, as recorded by compress_one."""
    mtime = (record or {}).get("mtime")
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    if isinstance(mtime, (int, float)) and protocol in ("file", "local"):
        os.utime(path, (mtime, mtime))


def decompress_one(src: str, dst: str, category: str, engine_kwargs: dict, resume: bool = True) -> FileResult:
    from ..engine import CobolEngine
    t0 = time.perf_counter()
    res = FileResult(src, dst, category, "failed")
    try:
        sfs, spath = _fs(src)
        dfs, dpath = _fs(dst)
        res.bytes_out = sfs.size(spath)
        parent = posixpath.dirname(dpath)
        if parent:
            dfs.makedirs(parent, exist_ok=True)
        tmp = f"{dpath}.part-{os.getpid()}"
        try:
            with sfs.open(spath, "rb") as fin, dfs.open(tmp, "wb") as fout:
                _, res.bytes_in = CobolEngine(**engine_kwargs).decompress_stream(fin, fout)
            dfs.mv(tmp, dpath)
            _restore_mtime(dfs, dpath, _recorded_source(sfs, spath))
        except BaseException:
            if dfs.exists(tmp):
                dfs.rm(tmp)
            raise
        res.status = "done"
    except Exception as e:
        res.error = f"{type(e).__name__}: {e}"
    res.seconds = time.perf_counter() - t0
    return res


def _run_tasks(fn, tasks, workers: int | None, scheduler: str | None, progress) -> list:
    """Run fn(*task) for every task; results in task order."""
    results = [None] * len(tasks)
    if scheduler is not None:
        try:
            from distributed import Client, as_completed
        except ImportError as e:
            raise EncodeError("--scheduler needs Dask: pip install 'cobol-engine[dask]'") from e
        client = scheduler if hasattr(scheduler, "submit") else Client(scheduler)
        try:
            futures = {client.submit(fn, *t, pure=False): i for i, t in enumerate(tasks)}
            for fut in as_completed(futures):
                i = futures[fut]
                results[i] = fut.result()
                if progress:
                    progress(results[i])
        finally:
            if client is not scheduler:
                client.close()
        return results
    workers = workers or os.cpu_count() or 1
    if workers == 1:
        for i, t in enumerate(tasks):
            results[i] = fn(*t)
            if progress:
                progress(results[i])
        return results
    from concurrent.futures import as_completed as cf_completed
    import multiprocessing
    ctx = multiprocessing.get_context("spawn")  # numba and threads do not survive fork well
    with ProcessPoolExecutor(workers, mp_context=ctx) as pool:
        futures = {pool.submit(fn, *t): i for i, t in enumerate(tasks)}
        for fut in cf_completed(futures):
            i = futures[fut]
            results[i] = fut.result()
            if progress:
                progress(results[i])
    return results


def compress_files(inputs, out_dir: str, *, workers: int | None = None, scheduler=None,
                   resume: bool = True, progress=None, **engine_kwargs) -> DatasetReport:
    """Compress every file of ``inputs`` (paths, dirs, globs, URLs) into ``out_dir``.

    Each worker compresses with one thread (the parallelism is across files);
    pass ``threads=`` to change that.
    """
    engine_kwargs.setdefault("threads", 1)
    pairs = collect_inputs(inputs, lambda p: not p.endswith(SUFFIX))
    tasks = [(src, _join(str(out_dir), rel + SUFFIX), _category(rel), engine_kwargs, resume) for src, rel in pairs]
    t0 = time.perf_counter()
    results = _run_tasks(compress_one, tasks, workers, scheduler, progress)
    for r, (_, rel) in zip(results, pairs):
        r.rel = rel
    return DatasetReport(results, time.perf_counter() - t0, workers or os.cpu_count() or 1,
                         scheduler if isinstance(scheduler, str) or scheduler is None else "client")


def decompress_files(inputs, out_dir: str, *, workers: int | None = None, scheduler=None,
                     progress=None, **engine_kwargs) -> DatasetReport:
    engine_kwargs.setdefault("threads", 1)
    pairs = collect_inputs(inputs, lambda p: p.endswith(SUFFIX))
    tasks = [(src, _join(str(out_dir), rel[: -len(SUFFIX)]), _category(rel), engine_kwargs, False) for src, rel in pairs]
    t0 = time.perf_counter()
    results = _run_tasks(decompress_one, tasks, workers, scheduler, progress)
    for r, (_, rel) in zip(results, pairs):
        r.rel = rel
    return DatasetReport(results, time.perf_counter() - t0, workers or os.cpu_count() or 1,
                         scheduler if isinstance(scheduler, str) or scheduler is None else "client")
