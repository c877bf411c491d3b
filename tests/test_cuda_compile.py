"""The CUDA kernels compile with NVRTC, on a machine without a GPU.

NVRTC (the CUDA runtime compiler CuPy uses) is a plain library: the
``nvidia-cuda-nvrtc`` wheel ships it and ``cuda-bindings`` wraps it
(``cuda.bindings.nvrtc``); neither needs a driver or a device. These tests
compile exactly what ``cobol.accel.cuda.CudaBackend`` hands to
``cupy.RawModule`` -- ``kernels.source()`` (prelude.h and every .cl file, in
order) with ``cuda.NVRTC_OPTIONS`` -- plus the options CuPy 14 adds itself
(cupy/cuda/compiler.py: ``-ftz=true`` in ``_compile_with_cache_cuda``,
``-arch=sm_<cc>`` or ``compute_<cc>`` and ``--device-as-default-execution-
space`` in ``_compile_using_nvrtc_no_warning``), for the H100 (sm_90), as
PTX for it (what CuPy builds with CUPY_COMPILE_WITH_PTX=1), and for the
oldest GPU CUDA 13 supports (sm_75).

They fail on any compile error or warning, on a kernel missing from the
output or an extra one, and on a kernel whose compiled parameters differ in
size from the C signature that the host launches are checked against
(test_accel_cuda_host.py checks every launch's arguments against that
signature). What they cannot show: that the kernels give the right results on
a GPU (bench/gpu_check.sh does that on a device machine).

The ``test`` extra installs both wheels (Linux and Windows, x86-64 and
aarch64). Elsewhere the tests skip; under CI (CI=true) on Linux x86-64 a
missing NVRTC is a failure, so a broken install cannot pass as a skip.
"""

from __future__ import annotations

import os
import platform
import re
import sys

import pytest

from cobol.accel import cuda as cuda_backend
from cobol.accel import kernels as K

#: what CuPy adds to RawModule's options (see the module docstring), in its order
CUPY_FIRST = ("-ftz=true",)
CUPY_LAST = ("--device-as-default-execution-space",)
#: H100 as CuPy builds it (cubin), H100 as PTX, the oldest target of CUDA 13
TARGETS = ("sm_90", "compute_90", "sm_75")
#: PTX parameter sizes in bytes
PTX_SIZES = {"u8": 1, "s8": 1, "b8": 1, "u16": 2, "s16": 2, "b16": 2, "u32": 4, "s32": 4, "b32": 4,
             "f32": 4, "u64": 8, "s64": 8, "b64": 8, "f64": 8}
C_SIZES = {"u8": 1, "u32": 4, "i32": 4, "u64": 8, "i64": 8}


def _nvrtc():
    try:
        from cuda.bindings import nvrtc
        err, major, minor = nvrtc.nvrtcVersion()  # loads libnvrtc
        if err != nvrtc.nvrtcResult.NVRTC_SUCCESS:
            raise RuntimeError(f"nvrtcVersion: {err}")
    except Exception as exc:  # noqa: BLE001 -- ImportError, library not found, ...
        why = f"NVRTC not available ({type(exc).__name__}: {exc}); pip install nvidia-cuda-nvrtc cuda-bindings"
        if os.environ.get("CI") == "true" and sys.platform == "linux" and platform.machine() == "x86_64":
            pytest.fail(f"{why} -- the test extra installs it, so CI must run this")
        pytest.skip(why)
    return nvrtc, (major, minor)


def compile_source(src: str, options) -> dict:
    """Compile with NVRTC; {ok, log, ptx, cubin} (ptx/cubin b"" when not produced)."""
    nvrtc, _ = _nvrtc()
    ok = nvrtc.nvrtcResult.NVRTC_SUCCESS
    err, prog = nvrtc.nvrtcCreateProgram(src.encode(), b"cobol_accel.cu", 0, [], [])
    assert err == ok, err
    try:
        opts = [o.encode() for o in options]
        (res,) = nvrtc.nvrtcCompileProgram(prog, len(opts), opts)
        # output buffers are bytearrays: NVRTC writes into them, and a bytes
        # object of length 1 (an empty log is 1 byte) is CPython's shared
        # single-byte object -- writing into b" " * 1 changed b" " for the
        # whole process (and broke unrelated tests)
        err, n = nvrtc.nvrtcGetProgramLogSize(prog)
        log = bytearray(n)
        nvrtc.nvrtcGetProgramLog(prog, log)
        out = {"ok": res == ok, "result": res, "log": bytes(log).rstrip(b"\0 ").decode(errors="replace"),
               "ptx": b"", "cubin": b""}
        if out["ok"]:
            err, n = nvrtc.nvrtcGetPTXSize(prog)
            if err == ok and n > 1:
                ptx = bytearray(n)
                nvrtc.nvrtcGetPTX(prog, ptx)
                out["ptx"] = bytes(ptx).rstrip(b"\0")
            err, n = nvrtc.nvrtcGetCUBINSize(prog)
            if err == ok and n > 0:
                cubin = bytearray(n)
                nvrtc.nvrtcGetCUBIN(prog, cubin)
                out["cubin"] = bytes(cubin)
        return out
    finally:
        nvrtc.nvrtcDestroyProgram(prog)


def cupy_options(target: str) -> tuple:
    return tuple(cuda_backend.NVRTC_OPTIONS) + CUPY_FIRST + (f"-arch={target}",) + CUPY_LAST


def diagnostics(log: str) -> list:
    """Warning and error lines of an NVRTC log (ptxas's -v 'info' lines are neither)."""
    return [ln for ln in log.splitlines() if re.search(r"\b(warning|error)\b", ln, re.I)]


def ptx_entries(ptx: bytes) -> dict:
    """{kernel: (param type, ...)} of the .entry points of a PTX module."""
    out = {}
    for name, params in re.findall(rb"\.entry\s+(\w+)\s*\(([^)]*)\)", ptx):
        out[name.decode()] = tuple(t.decode() for t in re.findall(rb"\.param\s+\.(\w+)", params))
    return out


_CACHE: dict = {}


def compiled(target: str) -> dict:
    if target not in _CACHE:
        _CACHE[target] = compile_source(K.source(), cupy_options(target) + ("-Xptxas=-v",) * target.startswith("sm_"))
    return _CACHE[target]


@pytest.mark.parametrize("target", TARGETS)
def test_kernels_compile_without_warnings(target):
    out = compiled(target)
    assert out["ok"], f"NVRTC failed for {target} ({out['result']}):\n{out['log']}"
    assert not diagnostics(out["log"]), "\n".join(diagnostics(out["log"]))
    assert out["ptx"], "no PTX"
    if target.startswith("sm_"):
        assert out["cubin"][:4] == b"\x7fELF", "no cubin for a real architecture"
    # ptxas (-v) names every kernel it built; a kernel whose properties show
    # a stack frame is fine, one that fails to build would not be listed
    if target.startswith("sm_"):
        built = set(re.findall(r"Compiling entry function '(\w+)' for '" + target + "'", out["log"]))
        assert built == set(K.kernel_names())
    # the compile wrote only into its own buffers (see compile_source)
    assert bytes([32])[0] == 32 and (b" " * 1)[0] == 32


@pytest.mark.parametrize("target", TARGETS)
def test_every_kernel_is_an_entry_with_its_signature(target):
    out = compiled(target)
    assert out["ok"], out["log"]
    entries = ptx_entries(out["ptx"])
    names = K.kernel_names()
    assert len(names) == len(set(names)) >= 20
    # extern "C": the names CuPy's get_function looks up, unmangled, and nothing else
    assert set(entries) == set(names)
    sigs = K.kernel_signatures()
    for name in names:
        want = tuple(8 if ptr else C_SIZES[ctype] for ctype, ptr in sigs[name])
        got = tuple(PTX_SIZES[t] for t in entries[name])
        assert got == want, f"{name}: PTX parameter sizes {got}, C signature {want}"


def test_source_is_what_the_backend_loads():
    """K.source() is prelude.h then every kernel file, and nothing in it needs a header."""
    src = K.source()
    assert src.startswith('#line 1 "prelude.h"')
    for f in K.FILES:
        assert f'#line 1 "{f}"' in src
    assert "#include" not in src  # NVRTC is given no include paths by CuPy's RawModule
    assert set(K.kernel_names()) == set(K.kernel_signatures()) == set(K.launch_sizes())


def test_nvrtc_reports_what_the_checks_look_for():
    """The checks above can fail: NVRTC flags a planted error and warning in
    the same setting, and ptx_entries reads the parameters of a planted kernel."""
    bad = compile_source(K.source() + "\nKERNEL void oops(GLOBAL u32 *p) { p[0] = undeclared; }\n",
                         cupy_options("sm_90"))
    assert not bad["ok"] and "undeclared" in bad["log"]
    warn = compile_source(K.source() + "\nKERNEL void shifty(GLOBAL u64 *p, i32 k)"
                          " { u32 u = 1; if (u >= 0) p[0] = (u64)k; }\n", cupy_options("sm_90"))
    assert warn["ok"] and diagnostics(warn["log"]), warn["log"]
    assert ptx_entries(warn["ptx"])["shifty"] == ("u64", "u32")

