"""Accelerated batch kernels behind one interface, on CPU, OpenCL or CUDA.

>>> from cobol import accel
>>> b = accel.get_backend("cpu")
>>> b.varint_decode(b.varint_encode([1, 300, 2**64 - 1]), 10).tolist()
[1, 300, 18446744073709551615]

``get_backend()`` picks CUDA > OpenCL (GPU devices only) > CPU, or what
``COBOL_BACKEND`` / its argument names (see :mod:`cobol.accel.factory`).
Every backend returns the same bytes as the CPU reference, so output never
depends on where it was computed. :mod:`cobol.accel.offload` is what the
engine installs into the layers' batch-kernel interface
(:mod:`cobol.layers.batch_kernels`): it sends a batch to the accelerator only
when it is large enough. Frames of device-resident integer arrays are written
by :func:`cobol.device_frame.compress_device_ints`, beside the engine.
docs/ACCEL.md has the details and measurements.
"""

from __future__ import annotations

from .base import Backend, DeviceInfo, DictionaryTable, PatternSet, shannon_entropy, token_hash
from .factory import BACKEND_NAMES, ENV_VAR, auto_backend_name, describe_backends, get_backend, probe, reset

__all__ = [
    "Backend", "DeviceInfo", "DictionaryTable", "PatternSet", "shannon_entropy", "token_hash",
    "BACKEND_NAMES", "ENV_VAR", "auto_backend_name", "describe_backends", "get_backend", "probe", "reset",
    "format_backends",
]


def format_backends(entries: list | None = None) -> list:
    """Lines for ``cobol info``: one per backend, then one per device."""
    entries = describe_backends() if entries is None else entries
    lines = []
    for e in entries:
        mark = "*" if e["selected"] else " "
        state = "usable" if e["usable"] else "unusable"
        lines.append(f"{mark} {e['name']:<7}{state:<9} {e['reason']}")
        for d in e["devices"]:
            mem = d.get("memory_bytes") or 0
            extra = f", {mem / 2**30:.1f} GiB" if mem else ""
            cu = d.get("compute_units") or 0
            extra += f", {cu} compute units" if cu else ""
            lines.append(f"    {d.get('kind', '?')}: {d.get('name', '?')} [{d.get('platform', '')}]{extra}")
    return lines
