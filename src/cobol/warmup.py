"""Load the decoders before a long-running process takes work.

A decoder's Numba kernels load on their first call: from Numba's cache in
about a second for all of them together (with the Numba import), or compiled
when there is no cache yet. A fresh ``cobol serve`` paid that during its first
transfer, on the CPU the transfer needed (bench/bench_stream.py: 1.0-1.3 s of
server CPU on the first 70-96 MB transfer, 0.4-0.7 s on the next). So the
server decodes ``warmup.cobl`` before it listens: one small frame per
transform with kernels (json, csv, xml, html, l1, log, numeric as int32,
int64 and float64), written by ``bench/make_warmup_frames.py``. Like every
frame written by an earlier version, they must keep decoding; the test suite
checks that they do and that they cover those transforms.
"""

from __future__ import annotations

import time
from importlib.resources import files


def warmup_frames() -> bytes:
    """The bundled frames (a .cobl stream of several frames)."""
    return files("cobol").joinpath("warmup.cobl").read_bytes()


def warm_decoders() -> float:
    """Decode the bundled frames (loading every decoder's kernels); returns the CPU seconds it took."""
    from .engine import CobolEngine
    t0 = time.process_time()
    CobolEngine(threads=1).decompress(warmup_frames())
    return time.process_time() - t0


__all__ = ["warm_decoders", "warmup_frames"]
