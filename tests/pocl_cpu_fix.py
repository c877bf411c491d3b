"""Test setup: let PoCL build the OpenCL kernels on CPUs its LLVM cannot name.

Why this exists: the PoCL in the ``pocl-binary-distribution`` wheel (3.0,
LLVM 14) does not know CPUs newer than LLVM 14 (e.g. AMD family 26, Zen 5)
and compiles with ``-target-cpu generic``, which that LLVM rejects: every
program build fails with "unknown target CPU 'generic'" (pocl/pocl#1049). On
such a machine the OpenCL backend is unusable, which is the truth the shipped
library reports. The tests still want to run the OpenCL kernels on PoCL (it is
the only OpenCL device in CI), so this helper, applied once per test process by
``tests/conftest.py`` before any backend is built, points the device's LLVM
CPU name at a CPU model this LLVM knows and the host can run
(x86-64-v4/v3/v2 by the host's flags).

How: the name is a ``char *`` in PoCL's device structure pointing to
"generic", found by its value: the first 4 KiB at the device's address are
read through ``/proc/self/mem`` (a bad address is an error, not a crash) and
the first 8-byte word that points to the string "generic" is overwritten with
a pointer to the new name. That writes into another library's memory, which
is why it lives here and not in ``src/``. It only acts on a PoCL CPU device
whose version string ends in ``-generic`` on x86-64, and
``COBOL_POCL_CPU_FIX=0`` turns it off.
"""

from __future__ import annotations

import ctypes
import os
import struct


def _host_x86_level() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((ln.split(":", 1)[1].split() for ln in f if ln.startswith("flags")), [])
    except OSError:
        flags = []
    fl = set(flags)
    if {"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"} <= fl:
        return "x86-64-v4"
    if {"avx2", "bmi1", "bmi2", "fma", "movbe"} <= fl:
        return "x86-64-v3"
    if {"sse4_2", "ssse3", "popcnt"} <= fl:
        return "x86-64-v2"
    return "x86-64"


_FIXED: set = set()
_KEEP: list = []  # the replacement strings must outlive the device


#: why the fix was not applied, by device address
_FIX_NOTES: dict = {}


def fix_device(platform, device) -> str | None:
    """Apply the workaround to one device (module docstring); returns what it did or None."""
    if os.environ.get("COBOL_POCL_CPU_FIX", "1") == "0":
        return None
    if "Portable Computing Language" not in platform.name or not device.version.rstrip().endswith("-generic"):
        return None
    if os.uname().machine not in ("x86_64", "AMD64"):
        return None
    addr = device.int_ptr
    if addr in _FIXED:
        return "already applied"
    try:
        fd = os.open("/proc/self/mem", os.O_RDONLY)
    except OSError as e:
        _FIX_NOTES[addr] = f"not applied: /proc/self/mem unreadable ({e})"
        return None
    try:
        # page by page: the structure may sit near the end of its mapping, and one
        # read across into an unmapped page fails whole (EIO)
        blob = b""
        pos, end = addr, addr + 4096
        while pos < end:
            n = min(end, (pos // 4096 + 1) * 4096) - pos
            try:
                chunk = os.pread(fd, n, pos)
            except OSError:
                break
            blob += chunk
            pos += n
            if len(chunk) < n:
                break
        hits = []
        for off in range(0, len(blob) - 7, 8):
            (p,) = struct.unpack_from("<Q", blob, off)
            if not 4096 <= p < 1 << 47:
                continue
            try:
                if os.pread(fd, 8, p) == b"generic\0":
                    hits.append(off)
            except OSError:
                continue
    except OSError as e:
        _FIX_NOTES[addr] = f"not applied: reading the device structure failed ({e})"
        return None
    finally:
        os.close(fd)
    if not hits:  # not the layout we know: leave it alone
        _FIX_NOTES[addr] = "not applied: no pointer to 'generic' in the device structure"
        return None
    # The 4 KiB read runs past the structure's end into neighbouring heap objects,
    # which may hold a pointer to a 'generic' string of their own (PoCL 3.0 here:
    # the field at +640, and in 9 of 12 processes another pointer at +3728, which made
    # the old 'exactly one hit' rule skip the fix and fail every build, intermittently
    # in CI); the structure's own field is the first one.
    name = ctypes.create_string_buffer(_host_x86_level().encode())
    _KEEP.append(name)
    ctypes.c_uint64.from_address(addr + hits[0]).value = ctypes.addressof(name)
    _FIXED.add(addr)
    return f"PoCL LLVM CPU 'generic' -> {name.value.decode()} (device field at +{hits[0]}; pointers found at {hits})"


def apply_to_all_devices() -> list:
    """Apply :func:`fix_device` to every OpenCL device; returns what was done
    (one line per device acted on). No PyOpenCL or no runtime: nothing."""
    try:
        from cobol.accel.opencl import list_devices
        devices = list_devices()
    except Exception:  # noqa: BLE001 -- no OpenCL here: the OpenCL tests skip with the reason
        return []
    done = []
    for platform, device, _kind in devices:
        what = fix_device(platform, device)
        if what is None and device.int_ptr in _FIX_NOTES:
            what = _FIX_NOTES[device.int_ptr]
        if what:
            done.append(f"{device.name.strip()}: {what}")
    return done
