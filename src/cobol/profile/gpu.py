"""GPU figures for a profile, when a GPU backend ran.

The engine's ``backend`` (cobol.accel) names itself; CPU backends and no
backend give ``None``. For CUDA devices NVML (``pynvml``, from the
nvidia-ml-py package) adds memory and utilisation when it is importable;
without it the fields are there and null. Nothing here is needed on a machine
without a GPU.
"""

from __future__ import annotations


def backend_name(backend) -> str | None:
    if backend is None:
        return None
    if isinstance(backend, str):
        return backend
    return str(getattr(backend, "name", type(backend).__name__))


def is_gpu_backend(backend) -> bool:
    name = (backend_name(backend) or "").lower()
    return any(k in name for k in ("cuda", "opencl", "gpu", "cupy"))


def nvml_sample(device_index: int = 0) -> dict | None:
    """One NVML reading of a CUDA device, or None when pynvml or the driver is missing."""
    try:
        import pynvml
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
    except Exception:  # no driver / no device: NVML raises its own error types
        return None
    try:
        h = pynvml.nvmlDeviceGetHandleByIndex(device_index)
        name = pynvml.nvmlDeviceGetName(h)
        mem = pynvml.nvmlDeviceGetMemoryInfo(h)
        util = pynvml.nvmlDeviceGetUtilizationRates(h)
        try:
            power_w = pynvml.nvmlDeviceGetPowerUsage(h) / 1000.0
        except Exception:
            power_w = None
        return {
            "device": name.decode() if isinstance(name, bytes) else str(name),
            "memory_used_bytes": int(mem.used),
            "memory_total_bytes": int(mem.total),
            "utilization_gpu_pct": int(util.gpu),
            "utilization_memory_pct": int(util.memory),
            "power_w": power_w,
        }
    except Exception:
        return None
    finally:
        try:
            pynvml.nvmlShutdown()
        except Exception:
            pass


def gpu_figures(backend, before: dict | None, after: dict | None) -> dict | None:
    """The profile's ``gpu`` section: None unless a GPU backend ran."""
    if not is_gpu_backend(backend):
        return None
    peak = None
    if before and after:
        peak = max(before["memory_used_bytes"], after["memory_used_bytes"])
    return {
        "backend": backend_name(backend),
        "nvml_available": after is not None,
        "device": (after or before or {}).get("device"),
        "memory_used_bytes_start": (before or {}).get("memory_used_bytes"),
        "memory_used_bytes_end": (after or {}).get("memory_used_bytes"),
        "memory_used_bytes_max_sampled": peak,
        "memory_total_bytes": (after or before or {}).get("memory_total_bytes"),
        "utilization_gpu_pct_end": (after or {}).get("utilization_gpu_pct"),
        "power_w_end": (after or {}).get("power_w"),
    }
