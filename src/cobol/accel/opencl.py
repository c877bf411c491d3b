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
'generic'", pocl/pocl#1049): every program build fails, and this backend is
then unusable with that reason. The library does not work around it (that
would mean writing into PoCL's memory); the test suite does, so that the
kernels are tested on such CPUs too: ``tests/pocl_cpu_fix.py``, applied by
``tests/conftest.py`` (docs/ACCEL.md).
"""

from __future__ import annotations

import os

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
        self.ctx = cl.Context([device])
        self.queue = cl.CommandQueue(self.ctx)
        try:
            self.program = cl.Program(self.ctx, K.source()).build()
        except cl.RuntimeError as e:
            hint = ""
            if device.version.rstrip().endswith("-generic"):
                hint = " [PoCL cannot name this CPU for its LLVM (pocl/pocl#1049); see docs/ACCEL.md]"
            raise RuntimeError(f"{e}{hint}") from None
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
