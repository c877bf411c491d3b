"""``fsspec.open("x.json.cobl", compression="cobol")`` (or ``compression="infer"``).

Registered when ``cobol`` is imported and fsspec is installed.
"""

from __future__ import annotations


def _open(fileobj, mode: str = "rb", **kwargs):
    from ..fileobj import CobolFile
    return CobolFile(None, mode, fileobj=fileobj, **kwargs)


def register() -> bool:
    try:
        from fsspec.compression import compr, register_compression
    except ImportError:
        return False
    if compr.get("cobol") is not _open:
        register_compression("cobol", _open, "cobl", force=True)
    return True
