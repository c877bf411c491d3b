"""The CUDA backend: the shared kernels (``kernels/``) compiled by NVRTC
through CuPy's ``RawModule``, on the current CUDA device
(``COBOL_CUDA_DEVICE=<index>`` picks another).

CuPy arrays are this backend's device arrays: every operation accepts them as
input without a copy, so data produced on the GPU (by CuPy, RAPIDS, PyTorch
through DLPack, ...) is compressed without a round trip through the host for
the numeric stages; see :meth:`~cobol.accel.base.Backend.encode_ints_packed`.
Kernels are launched on CuPy's current stream; CuPy caches the compiled
module on disk (``~/.cupy/kernel_cache``), so only the first process pays
for NVRTC.
"""

from __future__ import annotations

import os

import numpy as np

from .base import DeviceInfo
from .device import DeviceBackend
from . import kernels as K

#: NVRTC options this backend gives CuPy's RawModule. CuPy (14.x) adds
#: ``-ftz=true``, ``-arch=sm_<cc>`` (``compute_<cc>`` with
#: CUPY_COMPILE_WITH_PTX=1) and ``--device-as-default-execution-space``;
#: tests/test_cuda_compile.py compiles the kernels with exactly that set,
#: without a GPU.
NVRTC_OPTIONS = ("--std=c++11",)


def probe() -> tuple:
    """(cupy module, device count); raises when CuPy or a driver/device is missing."""
    import cupy
    n = cupy.cuda.runtime.getDeviceCount()
    if n < 1:
        raise RuntimeError("no CUDA device")
    return cupy, n


class CudaBackend(DeviceBackend):
    name = "cuda"

    def __init__(self, device: int | None = None):
        super().__init__()
        cupy, n = probe()
        self._cp = cupy
        if device is None:
            device = int(os.environ.get("COBOL_CUDA_DEVICE", "0"))
        if not 0 <= device < n:
            raise RuntimeError(f"CUDA device {device} does not exist ({n} found)")
        self.device_id = device
        self._device = cupy.cuda.Device(device)
        with self._device:
            self.module = cupy.RawModule(code=K.source(), options=NVRTC_OPTIONS)
            self._kernels = {name: self.module.get_function(name) for name in K.kernel_names()}
            props = cupy.cuda.runtime.getDeviceProperties(device)
        name = props["name"].decode() if isinstance(props["name"], bytes) else str(props["name"])
        rt = cupy.cuda.runtime.runtimeGetVersion()
        self._info = DeviceInfo(
            name=name, kind="gpu", vendor="NVIDIA",
            platform=f"CUDA {rt // 1000}.{rt % 1000 // 10}, CuPy {cupy.__version__}, "
                     f"compute capability {props['major']}.{props['minor']}",
            memory_bytes=int(props["totalGlobalMem"]), compute_units=int(props["multiProcessorCount"]))

    def device_info(self) -> DeviceInfo:
        return self._info

    def is_device_array(self, x) -> bool:
        return isinstance(x, self._cp.ndarray)

    def synchronize(self) -> None:
        with self._device:
            self._cp.cuda.get_current_stream().synchronize()

    def free(self, array) -> None:
        # CuPy's memory pool reuses blocks; dropping the last reference returns it
        del array

    # ------------------------------------------------------------ primitives

    def _empty(self, n: int, dtype):
        with self._device:
            return self._cp.empty(int(n), dtype)

    def _zeros(self, n: int, dtype):
        with self._device:
            return self._cp.zeros(int(n), dtype)

    def _to_device(self, host: np.ndarray):
        with self._device:
            return self._cp.asarray(np.ascontiguousarray(host))

    def _to_host(self, arr) -> np.ndarray:
        with self._device:
            return self._cp.asnumpy(arr)

    def _item(self, arr, i: int) -> int:
        with self._device:
            return int(arr[int(i)].get())

    def _device_array(self, x, dtype):
        dtype = np.dtype(dtype)
        cp = self._cp
        with self._device:
            x = cp.ascontiguousarray(x.reshape(-1))
            if x.dtype == dtype:
                return x
            if x.dtype.itemsize == dtype.itemsize:
                return x.view(dtype)
            return x.astype(dtype)

    def _bytes_view(self, x):
        with self._device:
            return self._cp.ascontiguousarray(x).reshape(-1).view(self._cp.uint8)

    def _launch(self, name: str, groups: int, local: int, *args) -> None:
        with self._device:
            self._kernels[name]((int(groups),), (int(local),), args)
