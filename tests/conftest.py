"""Test-session setup shared by every test module.

PoCL on CPUs its bundled LLVM cannot name fails every OpenCL program build;
``pocl_cpu_fix`` works around that for the test process only (the reason and
the method are in its docstring), before any OpenCL backend is built, so the
OpenCL kernels are tested here and in CI. The shipped library does not do it.
"""

from __future__ import annotations

import pocl_cpu_fix


def pytest_configure(config):
    pocl_cpu_fix.apply_to_all_devices()
