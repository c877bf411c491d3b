"""The OpenCL backend (PyOpenCL): any OpenCL 1.2+ device, GPUs first.

It runs the shared kernels (``kernels/``) on one device. Devices are ranked
GPU > accelerator > CPU; ``COBOL_OPENCL_DEVICE=<index>`` picks one from
:func:`list_devices` instead. The CPU devices (PoCL, Intel's CPU runtime) make
the kernels testable without a GPU, but are slower than the Numba CPU
backend, so the factory never picks OpenCL on its own unless it has a GPU or
accelerator device (``COBOL_BACKEND=opencl`` forces it).

PoCL on CPUs newer than its bundled LLVM: the PoCL in the ``pocl-binary-
distribution`` wheel (3.0, LLVM 14) cannot name e.g. AMD Zen 5 and compiles
with ``-target-cpu generic``, which that LLVM rejects ("unknown target CPU
'generic'", pocl/pocl#1049): every program build fails. :func:`_pocl_cpu_fix`
works around it in-process by pointing the device's LLVM CPU name (a string in
PoCL's device structure, found by its value) at a CPU model this LLVM knows
and that the host can run (x86-64-v4/v3/v2 by the host's flags). It only acts
on a PoCL CPU device whose version string ends in ``-generic``, only reads
memory through ``/proc/self/mem`` (a bad address is an error, not a crash),
and ``COBOL_POCL_CPU_FIX=0`` turns it off.
"""

from __future__ import annotations

import ctypes
import os
import struct

import numpy as np

from .base import DeviceInfo
from .device import DeviceBackend
from . import kernels as K

_KIND_RANK = {"gpu": 0, "accelerator": 1, "cpu": 2}


def _kind(cl, dev) -> str:
    t = dev.type
    if t & cl.device_type.GPU:
        return "gpu"
    if t & cl.device_type.ACCELERATOR:
        return "accelerator"
    return "cpu"


def list_devices() -> list:
    """[(platform, device, kind)] of every OpenCL device, best first. Raises
    ImportError / OSError / pyopencl errors when there is no usable runtime."""
    import pyopencl as cl
    found = []
    for p in cl.get_platforms():
        try:
            devs = p.get_devices()
        except cl.Error:
            continue
        for d in devs:
            found.append((p, d, _kind(cl, d)))
    found.sort(key=lambda pdk: _KIND_RANK[pdk[2]])
    return found


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


#: why the fix was not applied, by device address (for build error messages)
_FIX_NOTES: dict = {}


def _pocl_cpu_fix(platform, device) -> str | None:
    """Apply the PoCL '-generic' CPU workaround (module docstring); returns what it did or None."""
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


class OpenCLBackend(DeviceBackend):
    name = "opencl"

    def __init__(self, device=None, platform=None):
        super().__init__()
        import pyopencl as cl
        import pyopencl.array as cla
        self._cl = cl
        self._cla = cla
        if device is None:
            devs = list_devices()
            if not devs:
                raise RuntimeError("no OpenCL device")
            idx = os.environ.get("COBOL_OPENCL_DEVICE")
            platform, device, _ = devs[int(idx)] if idx else devs[0]
        self.platform = platform or device.platform
        self.device = device
        self.workaround = _pocl_cpu_fix(self.platform, device)
        self.ctx = cl.Context([device])
        self.queue = cl.CommandQueue(self.ctx)
        try:
            self.program = cl.Program(self.ctx, K.source()).build()
        except cl.RuntimeError as e:
            # say whether the PoCL CPU fix ran: a CI log is often all there is
            note = self.workaround or _FIX_NOTES.get(device.int_ptr, "not needed or not attempted")
            raise RuntimeError(f"{e} [PoCL CPU fix: {note}]") from None
        self._kernels = {name: cl.Kernel(self.program, name) for name in K.kernel_names()}
        self._info = DeviceInfo(
            name=device.name.strip(), kind=_kind(cl, device), vendor=device.vendor.strip(),
            platform=f"{self.platform.name.strip()} ({device.version.strip()})",
            memory_bytes=int(device.global_mem_size), compute_units=int(device.max_compute_units))
        if device.max_work_group_size < K.WG:
            raise RuntimeError(f"work-group size {K.WG} above the device's {device.max_work_group_size}")

    def device_info(self) -> DeviceInfo:
        return self._info

    def is_device_array(self, x) -> bool:
        return isinstance(x, self._cla.Array)

    def synchronize(self) -> None:
        self.queue.finish()

    def free(self, array) -> None:
        if isinstance(array, self._cla.Array) and array.base_data is not None:
            array.base_data.release()

    # ------------------------------------------------------------ primitives

    def _empty(self, n: int, dtype):
        return self._cla.empty(self.queue, int(n), dtype)

    def _zeros(self, n: int, dtype):
        return self._cla.zeros(self.queue, int(n), dtype)

    def _to_device(self, host: np.ndarray):
        return self._cla.to_device(self.queue, np.ascontiguousarray(host))

    def _to_host(self, arr) -> np.ndarray:
        if arr.size == 0:
            return np.zeros(0, arr.dtype)
        return arr.get()

    def _item(self, arr, i: int) -> int:
        out = np.empty(1, arr.dtype)
        self._cl.enqueue_copy(self.queue, out, arr.base_data, src_offset=arr.offset + int(i) * arr.dtype.itemsize)
        return int(out[0])

    def _device_array(self, x, dtype):
        dtype = np.dtype(dtype)
        x = x.reshape(-1) if x.ndim != 1 else x
        if not x.flags.c_contiguous or x.offset:
            x = x.copy()
        if x.dtype == dtype:
            return x
        if x.dtype.itemsize == dtype.itemsize:
            return x.view(dtype)
        return x.astype(dtype)

    def _bytes_view(self, x):
        x = self._device_array(x, x.dtype)
        return x if x.dtype == np.uint8 else x.view(np.uint8)

    def _launch(self, name: str, groups: int, local: int, *args) -> None:
        cargs = [a.base_data if isinstance(a, self._cla.Array) else a for a in args]
        self._kernels[name](self.queue, (int(groups) * local,), (local,), *cargs)
