"""Suite-wide test configuration.

Strict planning (``COBOL_STRICT=1``, :data:`cobol.plan.STRICT_ENV`): a
candidate transform that raises or fails its round-trip check raises out of
the planner instead of falling back to zstd. For users the fallback is right
(a transform bug costs ratio, not data), but in the tests it would hide the
bug: with every format transform's decoder broken, the engine, frame, stream
and CLI tests would still pass. It is set here, at import, so pytest-xdist
workers and the subprocesses tests start (CLI, fuzz children) inherit it. An
explicit ``COBOL_STRICT=0`` in the environment turns it off for a whole run
(to see what the fallback hides); the tests of the fallback itself use the
``fallback_planning`` fixture.

PoCL on CPUs its bundled LLVM cannot name fails every OpenCL program build;
``pocl_cpu_fix`` works around that for the test process only (the reason and
the method are in its docstring), before any OpenCL backend is built, so the
OpenCL kernels are tested here and in CI. The shipped library does not do it.
"""

from __future__ import annotations

import os

import pytest

import pocl_cpu_fix

os.environ.setdefault("COBOL_STRICT", "1")


def pytest_configure(config):
    pocl_cpu_fix.apply_to_all_devices()


@pytest.fixture
def fallback_planning(monkeypatch):
    """The planner as users get it: a failing candidate falls back."""
    monkeypatch.setenv("COBOL_STRICT", "0")
