"""Where the tests find their data, and what a missing piece means.

No test names an absolute path of one machine:

- ``samples/`` is in the repository (:data:`SAMPLES`).
- The shared conformance inputs live in ``shared/`` beside the checkout
  (``<checkout>/../shared``, how CI lays out a fresh clone), or where
  ``COBOL_SHARED`` points.
- The development corpus is not distributed: ``COBOL_CORPUS`` names its folder
  (one sub-folder per format: ``json/``, ``csv/``, ...). Without it the corpus
  tests run on the bundled samples of the same format, which were cut from it.

Under CI (``CI=true``) a missing shared folder, or a missing optional part of
the test install (PoCL, NVRTC), is a failure, not a skip: there a skip would
mean a broken install that nobody sees.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples"
#: CI sets CI=true (GitHub Actions, GitLab, most others)
IN_CI = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def shared_dir() -> Path:
    """The shared test inputs: ``$COBOL_SHARED``, else ``shared/`` beside the checkout."""
    env = os.environ.get("COBOL_SHARED")
    return Path(env) if env else REPO.parent / "shared"


def missing(reason: str):
    """Skip with ``reason``, or fail under CI, where a missing piece is a broken setup."""
    if IN_CI:
        pytest.fail(f"{reason} (a failure under CI=true: the CI install must provide it)")
    pytest.skip(reason)


def require_shared(relative: str) -> Path:
    """``shared/<relative>``, or skip (fail under CI) saying where it was looked for."""
    path = shared_dir() / relative
    if not path.exists():
        missing(f"shared test inputs not found at {path} (clone the repository beside shared/, "
                f"or set COBOL_SHARED)")
    return path


def sample_files(fmt: str) -> list[Path]:
    """The bundled samples of one format folder (``samples/<fmt>/``), sorted."""
    folder = SAMPLES / fmt
    return sorted(p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []


def corpus_files(*folders: str) -> list[Path]:
    """Files of the dev corpus folders named (``$COBOL_CORPUS/<folder>/*``); without
    ``COBOL_CORPUS``, the bundled samples of those folders instead. A
    ``COBOL_CORPUS`` that does not exist is an error, not an empty list."""
    env = os.environ.get("COBOL_CORPUS")
    if not env:
        return [p for f in folders for p in sample_files(f)]
    root = Path(env)
    if not root.is_dir():
        raise RuntimeError(f"COBOL_CORPUS={env} is not a folder")
    return sorted(p for f in folders if (root / f).is_dir() for p in (root / f).iterdir() if p.is_file())


#: the sample folders whose data a format transform models, with the hints cobol bench passes
STRUCTURED_FOLDERS = ("csv", "json", "jsonl", "xml", "html", "log", "text", "numeric")


def _cut(data: bytes, limit: int, numeric: bool) -> bytes:
    if len(data) <= limit:
        return data
    if numeric:
        return data[:limit - limit % 8]
    end = data.rfind(b"\n", 0, limit)
    return data[:end + 1] if end > 0 else data[:limit]


def dtype_hint(path: Path) -> dict:
    """The dtype hint of a numeric sample (its suffix), as ``cobol bench`` passes it."""
    suffix = {".i32": "int32", ".i64": "int64", ".f64": "float64"}.get(path.suffix)
    return {"dtype": suffix} if suffix else {}


def structured_samples(limit: int = 24 << 10) -> list:
    """One ``pytest.param(data, hints, id=folder)`` per structured sample folder:
    its first file cut to ``limit`` bytes at a line end (numeric: at a value), so
    every format transform is a candidate in some test that compresses it."""
    out = []
    for folder in STRUCTURED_FOLDERS:
        files = sample_files(folder)
        if files:
            path = files[0]
            out.append(pytest.param(_cut(path.read_bytes(), limit, folder == "numeric"), dtype_hint(path),
                                    id=folder))
    return out


def require_opencl():
    """The OpenCL backend; skip (fail under CI, whose test extra installs
    pyopencl[pocl]) with the probe's reason when it is not usable."""
    from cobol import accel
    st = accel.probe("opencl")
    if not st.usable:
        missing(f"OpenCL backend not usable here: {st.reason}")
    return accel.get_backend("opencl")


def mutated_log_blocks(streams: list, params: bytes, n: int, rng, count: int, *, drop_streams: bool, flip_share: float):
    """``count`` hostile variants of one log block's (streams, params, raw length),
    for the log decoders' must-raise-CobolError tests: a params byte changed, a wrong
    length, a stream dropped (when ``drop_streams``), bytes of one stream set to
    delimiters and extremes (with probability ``flip_share``) or the stream cut short."""
    for case in range(count):
        ss, pp, m = list(streams), bytearray(params), n
        what = rng.randrange(6)
        if what == 0 and pp:
            pp[rng.randrange(len(pp))] = rng.randrange(256)
        elif what == 1:
            m = rng.choice([0, 1, n - 1, n + 1, n * 2])
        elif what == 2 and drop_streams:
            ss.pop(rng.randrange(len(ss)))
        else:
            k = rng.randrange(len(ss))
            s = bytearray(ss[k])
            if s and rng.random() < flip_share:
                for _ in range(rng.randint(1, 4)):
                    s[rng.randrange(len(s))] = rng.choice([0, 10, 0x11, 0x12, 0xFF, rng.randrange(256)])
            else:
                s = s[:rng.randrange(len(s) + 1)]
            ss[k] = bytes(s)
        yield case, ss, bytes(pp), m


def grep_output(result, opts) -> bytes:
    """What ``grep`` prints for a :func:`cobol.grep` result under ``opts``
    (``-c``: the count; ``-n``: ``number:line``; else the lines)."""
    if "-c" in opts:
        return b"%d\n" % result.count
    if "-n" in opts:
        return b"".join(b"%d:%s\n" % (k, ln) for k, ln in zip(result.numbers, result.lines))
    return b"".join(ln + b"\n" for ln in result.lines)


def decoded_or_none(decode, *args):
    """``decode(*args)``, or None when it raises a CobolError (it must raise
    nothing else): two decoders of one hostile block agree when both refuse
    it or both give the same bytes."""
    from cobol.errors import CobolError
    try:
        return decode(*args)
    except CobolError:
        return None


def count_candidate_line_searches(monkeypatch) -> dict:
    """Counts, in the returned dict, how often cobol grep's candidate-line
    search of a version-5/6 block (blocksearch.search_message_block) answered
    ("lines") or declined to the whole-block render ("whole")."""
    from cobol import blocksearch
    used = {"lines": 0, "whole": 0}
    real = blocksearch.search_message_block

    def spy(*args):
        got = real(*args)
        used["whole" if got is None else "lines"] += 1
        return got
    monkeypatch.setattr(blocksearch, "search_message_block", spy)
    return used
