"""COBOL engine: a lossless, format-aware compressor for structured data.

>>> import cobol
>>> blob = cobol.compress(b'{"id": 1, "name": "x"}\\n' * 100)
>>> cobol.decompress(blob) == b'{"id": 1, "name": "x"}\\n' * 100
True

Importing the package is cheap: it loads the error classes and names the rest
(:data:`_LAZY`), which is imported on first use (PEP 562). The engine, NumPy
and the Numba kernels load with the first ``compress``/``decompress``, and each
transform's kernels only when a block uses that transform (see
:mod:`cobol.layers`), so ``cobol --help`` and small jobs never wait for them.
"""

from __future__ import annotations

from .errors import (
    ChecksumError, CobolError, DictionaryError, EncodeError, FormatError, LimitError,
    TruncatedError, UnsupportedError,
)
from .levels import DEFAULT_LEVEL

__version__ = "0.1.0"

__all__ = [
    "grep",
    "compress", "decompress", "open", "CobolEngine", "CobolFile", "frame_info", "FrameInfo",
    "CobolError", "FormatError", "TruncatedError", "ChecksumError", "LimitError",
    "DictionaryError", "UnsupportedError", "EncodeError", "__version__",
    "StreamCompressor", "StreamDecompressor", "StreamingConfig", "Profiler", "profile_compress",
]

#: public name -> (module, attribute), imported on first use
_LAZY = {
    "CobolEngine": ("engine", "CobolEngine"),
    "CobolFile": ("fileobj", "CobolFile"),
    "open": ("fileobj", "open"),
    "FrameInfo": ("info", "FrameInfo"),
    "frame_info": ("info", "frame_info"),
    # the streaming and profiling packages also pull in asyncio, ssl, rich
    "StreamCompressor": ("stream", "StreamCompressor"),
    "StreamDecompressor": ("stream", "StreamDecompressor"),
    "StreamingConfig": ("stream", "StreamingConfig"),
    "Profiler": ("profile", "Profiler"),
    "profile_compress": ("profile", "profile_compress"),
    "grep": ("logsearch", "grep"),
}


def __getattr__(name):
    if name in _LAZY:
        import importlib
        mod, attr = _LAZY[name]
        value = getattr(importlib.import_module(f".{mod}", __name__), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'cobol' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


def compress(data, level: int = DEFAULT_LEVEL, threads: int | None = None, **kwargs) -> bytes:
    """Compress ``data`` (any bytes-like object) into one .cobl frame.

    ``kwargs`` go to :class:`CobolEngine`: block_size, checksum, layers, plan,
    fmt, hints, dictionary, profiler. ``dtype="float64"`` is a shortcut for
    ``hints={"dtype": ...}`` on numeric arrays.
    """
    if not kwargs:
        return _engine(level, threads).compress(data)
    from .engine import CobolEngine
    dtype = kwargs.pop("dtype", None)
    if dtype is not None:
        kwargs["hints"] = {**kwargs.get("hints", {}), "dtype": str(dtype)}
    return CobolEngine(level, threads=threads, **kwargs).compress(data)


def decompress(blob, max_output_size: int | None = None, threads: int | None = None, **kwargs) -> bytes:
    """Decompress one or more concatenated .cobl frames.

    Raises a :class:`CobolError` subclass on corrupt, truncated or hostile
    input, and :class:`LimitError` once the output would pass ``max_output_size``.
    """
    if not kwargs:
        return _engine(DEFAULT_LEVEL, threads).decompress(blob, max_output_size)
    from .engine import CobolEngine
    return CobolEngine(threads=threads, **kwargs).decompress(blob, max_output_size)


#: (level, threads) -> the engine :func:`compress` and :func:`decompress` run
#: when they are given no other option. An engine holds its settings only (no
#: state from one call to the next), so one serves every such call, on any
#: thread: building and checking one per call, and importing its module, cost
#: 3-4 us, a tenth of a 4-9 KB frame's decode.
_ENGINES: dict = {}
#: distinct (level, threads) pairs kept at most (a caller cycling through
#: thread counts gets a fresh engine per call past it, as before)
_ENGINES_MAX = 64


def _engine(level, threads):
    cacheable = type(level) is int and (threads is None or type(threads) is int)
    engine = _ENGINES.get((level, threads)) if cacheable else None
    if engine is None:
        from .engine import CobolEngine
        engine = CobolEngine(level, threads=threads)  # raises on a bad level or thread count
        if cacheable and len(_ENGINES) < _ENGINES_MAX:
            _ENGINES[(level, threads)] = engine
    return engine


# fsspec.open(..., compression="cobol"): registered now when fsspec is already
# imported, else as soon as it is (fsspec reads no entry points for compressions).
from .interop import fsspec_compression as _fsspec_compression  # noqa: E402

_fsspec_compression.register_when_imported()
