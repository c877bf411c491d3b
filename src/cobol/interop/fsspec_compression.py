"""``fsspec.open("x.json.cobl", compression="cobol")`` (or ``compression="infer"``).

fsspec keeps its compressions in a dict filled by ``register_compression`` and
reads no entry points for them (it does for filesystems, ``fsspec.specs``), so
``import cobol`` registers ours: at once when fsspec is already imported, else
right after ``fsspec.compression`` is first imported (a one-shot import hook,
:class:`_RegisterAfterImport`), so ``import cobol`` does not pay fsspec's
import time and ``import cobol; import fsspec`` still works in either order.
"""

from __future__ import annotations

import sys

_TARGET = "fsspec.compression"


def _open(fileobj, mode: str = "rb", **kwargs):
    from ..fileobj import CobolFile
    return CobolFile(None, mode, fileobj=fileobj, **kwargs)


def register() -> bool:
    """Register now; False when fsspec is not installed."""
    try:
        from fsspec.compression import compr, register_compression
    except ImportError:
        return False
    if compr.get("cobol") is not _open:
        register_compression("cobol", _open, "cobl", force=True)
    return True


class _RegisterAfterImport:
    """A meta path finder that finds nothing itself: asked for ``fsspec.compression``,
    it takes itself off ``sys.meta_path``, gets the module's real spec from the
    other finders and wraps its loader so that :func:`register` runs right after
    the module's body. (A duck-typed finder: subclassing importlib.abc's would
    import importlib.resources, 13 ms, on every ``import cobol``.)"""

    def find_spec(self, fullname, path, target=None):
        if fullname != _TARGET or not _unhook(self):
            return None
        import importlib.util
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        exec_module = spec.loader.exec_module

        def exec_then_register(module):
            exec_module(module)
            register()

        spec.loader.exec_module = exec_then_register
        return spec


def _unhook(hook) -> bool:
    # the import system holds the module's lock while finding it, and
    # list.remove is atomic, so exactly one import wins here
    try:
        sys.meta_path.remove(hook)
    except ValueError:
        return False
    return True


def register_when_imported() -> None:
    """Register now if ``fsspec.compression`` is loaded, else once it is."""
    if _TARGET in sys.modules:
        register()
    elif not any(isinstance(f, _RegisterAfterImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _RegisterAfterImport())
