"""Which backend runs the batch kernels: detection, choice, override, cache.

Detection never raises: a missing library, driver or device, a failed kernel
compile, anything, makes that backend *unusable* and is recorded as the
reason (``describe_backends()``, ``cobol info``).

Choice (``get_backend()`` / ``get_backend("auto")``), first usable of:

1. ``cuda``   -- CuPy finds a CUDA device and compiles the kernels;
2. ``opencl`` -- only when an OpenCL **GPU or accelerator** device exists;
3. ``cpu``    -- always.

OpenCL on a CPU device (PoCL, Intel's CPU runtime) is never chosen
automatically: it runs the same kernels slower than the Numba CPU backend
(measured in docs/ACCEL.md); ask for it with ``COBOL_BACKEND=opencl`` (tests
and CI do). An explicit name (``COBOL_BACKEND=cpu|opencl|cuda|auto``,
``CobolEngine(backend="cuda")``, ``get_backend("opencl")``) overrides the
choice; asking by name for an unusable backend raises
:class:`~cobol.errors.UnsupportedError` with the reason, rather than quietly
running somewhere else.

Each backend is created once per process (its kernels compiled once) and
cached, like the automatic choice; :func:`reset` forgets them (tests).
"""

from __future__ import annotations

import os
import threading
import traceback
from dataclasses import dataclass, field

from ..errors import UnsupportedError
from .base import Backend

ENV_VAR = "COBOL_BACKEND"
#: in priority order
BACKEND_NAMES = ("cuda", "opencl", "cpu")


@dataclass
class BackendStatus:
    name: str
    usable: bool
    reason: str
    #: DeviceInfo dicts: the backend's device, or every OpenCL device seen
    devices: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"name": self.name, "usable": self.usable, "reason": self.reason, "devices": self.devices}


_lock = threading.RLock()
_status: dict = {}
_instances: dict = {}
_auto: list = []


def _why(exc: BaseException) -> str:
    msg = str(exc).strip().splitlines()
    text = msg[0] if msg else ""
    if len(msg) > 1:
        # compiler logs: keep the first line that names an error
        text += " | " + next((ln.strip() for ln in msg[1:] if "error" in ln.lower()), msg[1].strip())
    return f"{type(exc).__name__}: {text}"[:300]


def _probe_cpu() -> BackendStatus:
    from .cpu import CpuBackend
    b = CpuBackend()
    _instances["cpu"] = b
    return BackendStatus("cpu", True, f"Numba kernels, {b.threads} threads", [b.device_info().to_dict()])


def _probe_cuda() -> BackendStatus:
    try:
        from .cuda import CudaBackend
        b = CudaBackend()
    except ImportError as exc:
        return BackendStatus("cuda", False,
                             f"CuPy is not installed ({exc.name or exc}); pip install 'cobol-engine[cuda]'")
    except Exception as exc:  # noqa: BLE001 -- any driver/runtime/compiler failure means "not usable"
        return BackendStatus("cuda", False, _why(exc))
    _instances["cuda"] = b
    return BackendStatus("cuda", True, "CuPy RawModule (NVRTC)", [b.device_info().to_dict()])


def _opencl_device_dicts(devs) -> list:
    out = []
    for p, d, kind in devs:
        try:
            out.append({"name": d.name.strip(), "kind": kind, "vendor": d.vendor.strip(),
                        "platform": f"{p.name.strip()} ({d.version.strip()})",
                        "memory_bytes": int(d.global_mem_size), "compute_units": int(d.max_compute_units)})
        except Exception:  # noqa: BLE001
            out.append({"name": "?", "kind": kind})
    return out


def _opencl_listing() -> tuple:
    """(device dicts, reason they cannot be used or None); cheap: builds nothing. Cached."""
    if "opencl-listing" not in _status:
        try:
            from .opencl import list_devices
            devs = _opencl_device_dicts(list_devices())
            why = None if devs else "no OpenCL platform or device"
        except ImportError as exc:
            devs, why = [], f"PyOpenCL is not installed ({exc.name or exc}); pip install 'cobol-engine[opencl]'"
        except Exception as exc:  # noqa: BLE001
            devs, why = [], f"no OpenCL runtime: {_why(exc)}"
        _status["opencl-listing"] = (devs, why)
    return _status["opencl-listing"]


def _probe_opencl() -> BackendStatus:
    devs, why = _opencl_listing()
    if why:
        return BackendStatus("opencl", False, why, devs)
    try:
        from .opencl import OpenCLBackend
        b = OpenCLBackend()
    except Exception as exc:  # noqa: BLE001
        return BackendStatus("opencl", False, f"kernels do not build or run: {_why(exc)}", devs)
    _instances["opencl"] = b
    info = b.device_info()
    reason = f"device {info.name!r} ({info.kind})"
    if info.kind == "cpu":
        reason += "; a CPU device: used when asked for (COBOL_BACKEND=opencl), never automatically"
    return BackendStatus("opencl", True, reason, devs)


_PROBES = {"cpu": _probe_cpu, "cuda": _probe_cuda, "opencl": _probe_opencl}


def probe(name: str) -> BackendStatus:
    """Detect one backend (cached): creates it, which compiles its kernels."""
    if name not in _PROBES:
        raise UnsupportedError(f"unknown backend {name!r}; known: auto, {', '.join(BACKEND_NAMES)}")
    with _lock:
        st = _status.get(name)
        if st is None:
            try:
                st = _PROBES[name]()
            except Exception as exc:  # noqa: BLE001 -- a bug in a probe must not take the program down
                if os.environ.get("COBOL_TRACEBACK"):
                    traceback.print_exc()
                st = BackendStatus(name, False, f"probe failed: {_why(exc)}")
            _status[name] = st
        return st


def auto_backend_name() -> str:
    """The automatic choice (cached): cuda, else opencl on a GPU/accelerator, else cpu."""
    with _lock:
        if not _auto:
            name = "cpu"
            if probe("cuda").usable:
                name = "cuda"
            else:
                devs, why = _opencl_listing()
                if not why and any(d.get("kind") != "cpu" for d in devs) and probe("opencl").usable \
                        and _instances["opencl"].device_info().kind != "cpu":
                    name = "opencl"
            _auto.append(name)
        return _auto[0]


def get_backend(name: "str | Backend | None" = None) -> Backend:
    """The backend to use: ``name``, else ``$COBOL_BACKEND``, else the automatic choice.

    A :class:`Backend` instance is returned as is. Raises UnsupportedError for an
    unknown name or a backend that is not usable here (with the reason).
    """
    if isinstance(name, Backend):
        return name
    if name is None:
        name = os.environ.get(ENV_VAR, "") or "auto"
    name = str(name).strip().lower()
    if name == "auto":
        name = auto_backend_name()
    st = probe(name)
    if not st.usable:
        raise UnsupportedError(f"backend {name!r} is not usable: {st.reason}")
    return _instances[name]


def describe_backends(probe_all: bool = True) -> list:
    """One dict per backend, in priority order: name, usable, reason, devices and
    ``selected`` (what ``get_backend()`` returns now, or would fail with).

    ``probe_all=False`` skips building the OpenCL kernels when only CPU OpenCL
    devices exist (they would not be chosen automatically anyway)."""
    with _lock:
        try:
            selected = get_backend().name
        except UnsupportedError:
            selected = None
        out = []
        for name in BACKEND_NAMES:
            st = _status.get(name)
            if st is None and name == "opencl" and not probe_all:
                devs, why = _opencl_listing()
                st = BackendStatus("opencl", False, why or "not probed (CPU devices only)", devs)
            elif st is None:
                st = probe(name)
            d = st.to_dict()
            d["selected"] = name == selected
            out.append(d)
        return out


def reset() -> None:
    """Forget the detected backends and the automatic choice (tests)."""
    with _lock:
        _status.clear()
        _instances.clear()
        _auto.clear()
