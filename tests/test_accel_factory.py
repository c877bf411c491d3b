"""The backend factory (detection never crashes, priority, overrides, cache),
the offload hooks and the engine/CLI integration."""

from __future__ import annotations

import io
import json
import sys
from contextlib import redirect_stdout

import numpy as np
import pytest

from cobol import CobolEngine, accel
from cobol.accel import factory, offload
from cobol.errors import UnsupportedError
from cobol.layers import l3_delta, l4_bitpack
from support import require_opencl


@pytest.fixture
def fresh():
    accel.reset()
    yield
    accel.reset()


def test_cpu_always_usable(fresh):
    st = accel.probe("cpu")
    assert st.usable and st.devices
    assert accel.get_backend("cpu") is accel.get_backend("cpu")  # cached


def test_env_override(fresh, monkeypatch):
    monkeypatch.setenv("COBOL_BACKEND", "cpu")
    assert accel.get_backend().name == "cpu"
    monkeypatch.setenv("COBOL_BACKEND", "no-such")
    with pytest.raises(UnsupportedError, match="unknown backend"):
        accel.get_backend()
    monkeypatch.setenv("COBOL_BACKEND", "")
    assert accel.get_backend().name == accel.auto_backend_name()


def test_unusable_backend_by_name_says_why(fresh, monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)  # import cupy -> ImportError
    st = accel.probe("cuda")
    assert not st.usable and "CuPy is not installed" in st.reason
    with pytest.raises(UnsupportedError, match="not usable.*CuPy"):
        accel.get_backend("cuda")
    with pytest.raises(UnsupportedError):
        CobolEngine(backend="cuda")
    assert accel.auto_backend_name() != "cuda"


def test_probe_survives_broken_drivers(fresh, monkeypatch):
    from cobol.accel import cuda, opencl

    def boom(*a, **k):
        raise RuntimeError("driver exploded")

    monkeypatch.setattr(cuda, "probe", boom)
    monkeypatch.setattr(opencl, "list_devices", boom)
    for name in ("cuda", "opencl"):
        st = accel.probe(name)
        assert not st.usable and "driver exploded" in st.reason, st
    assert accel.get_backend().name == "cpu"
    entries = accel.describe_backends()
    assert [e["name"] for e in entries] == ["cuda", "opencl", "cpu"]
    assert [e["selected"] for e in entries] == [False, False, True]


def test_kernel_build_failure_is_recorded(fresh, monkeypatch):
    require_opencl()  # a device to list (PoCL in CI)
    accel.reset()
    from cobol.accel import opencl

    def bad_init(self, *a, **k):
        raise RuntimeError("clBuildProgram failed: BUILD_PROGRAM_FAILURE\nerror: something wrong")

    monkeypatch.setattr(opencl.OpenCLBackend, "__init__", bad_init)
    st = accel.probe("opencl")
    assert not st.usable and "do not build" in st.reason and "something wrong" in st.reason
    assert st.devices  # the devices are still listed


def test_opencl_runs_when_installed():
    """CI installs pyopencl[pocl]: then the OpenCL kernels must really build and
    run there (under CI=true an unusable backend fails here, with the probe's reason)."""
    b = require_opencl()
    assert b.varint_decode(b.varint_encode(np.arange(1000, dtype=np.uint64)), 1000).tolist() == list(range(1000))


def test_auto_never_picks_a_cpu_opencl_device(fresh):
    name = accel.auto_backend_name()
    if name == "opencl":
        assert accel.get_backend("opencl").device_info().kind != "cpu"
    elif name == "cpu":
        assert not accel.probe("cuda").usable


def test_describe_and_format(fresh):
    entries = accel.describe_backends()
    assert [e["name"] for e in entries] == list(accel.BACKEND_NAMES)
    assert sum(e["selected"] for e in entries) == 1
    assert all(isinstance(e["reason"], str) and e["reason"] for e in entries)
    lines = accel.format_backends(entries)
    assert any(line.startswith("*") for line in lines)
    json.dumps(entries)  # machine-readable for `cobol info --json`


def test_cli_info_lists_backends():
    from cobol.cli import main
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["info", "--json"]) == 0
    info = json.loads(out.getvalue())
    assert [b["name"] for b in info["backends"]] == ["cuda", "opencl", "cpu"]
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["info"]) == 0
    assert "backends" in out.getvalue() and "cpu" in out.getvalue()


# ---------------------------------------------------------------- offload hooks


def test_small_batches_never_probe(monkeypatch):
    def boom(*a, **k):
        raise AssertionError("probed a device for a small batch")

    monkeypatch.setattr(offload, "get_backend", boom)
    x = np.arange(100, dtype=np.int64)
    o = offload.choose_orders(x, 16)
    assert offload.delta_decode(offload.delta_encode(x, o, 16), o, 16).tolist() == x.tolist()


def test_layers_use_the_installed_provider_and_default_to_their_kernels():
    """The layers' interface (layers.batch_kernels): a provider installed for a
    block gets the int codec's batches; without one the CPU kernels run."""
    from cobol.accel.cpu import CpuBackend
    from cobol.layers import batch_kernels, intcodec

    calls = []

    class Recording(CpuBackend):
        def bitpack(self, *a, **k):
            calls.append("bitpack")
            return super().bitpack(*a, **k)

        def bitunpack(self, *a, **k):
            calls.append("bitunpack")
            return super().bitunpack(*a, **k)

    class Provider:
        def kernels_for(self, n):
            return Recording() if n >= 1000 else None

    x = np.cumsum(np.arange(5000) % 7).astype(np.int64)
    plain = intcodec.encode_ints(x, modes=(intcodec.PACKED,))
    assert calls == [] and batch_kernels.installed() is None
    with batch_kernels.using(Provider()):
        blob = intcodec.encode_ints(x, modes=(intcodec.PACKED,))
        back = intcodec.decode_ints(blob, x.size)
        intcodec.encode_ints(x[:100], modes=(intcodec.PACKED,))  # below the provider's size
    assert calls == ["bitpack", "bitunpack"]
    assert blob == plain and np.array_equal(back, x)
    assert batch_kernels.installed() is None


def _device(name, monkeypatch):
    """The ``name`` backend. Without a GPU, "cuda" is the CUDA backend's host code
    over the CuPy stand-in (test_accel_cuda_host.py, kernels on OpenCL), put
    where the factory hands out backends for the length of the test."""
    if name == "opencl":
        return require_opencl()
    if accel.probe("cuda").usable:
        return accel.get_backend("cuda")
    from test_accel_cuda_host import cuda_stand_in
    b = cuda_stand_in()
    monkeypatch.setitem(factory._status, "cuda", factory.BackendStatus("cuda", True, "CuPy stand-in on OpenCL"))
    monkeypatch.setitem(factory._instances, "cuda", b)
    return b


@pytest.mark.parametrize("name", ["opencl", "cuda"])
def test_offload_runs_on_the_device(name, monkeypatch):
    b = _device(name, monkeypatch)
    calls = []
    for op in ("choose_orders", "delta_encode", "delta_decode", "bitpack", "bitunpack"):
        real = getattr(b, op)
        monkeypatch.setattr(b, op, lambda *a, _real=real, _op=op, **k: calls.append(_op) or _real(*a, **k))
    rng = np.random.default_rng(3)
    x = np.cumsum(rng.integers(-5, 50, 200_000)).astype(np.int64)
    with offload.using(name):
        o = offload.choose_orders(x, 512)
        codes = offload.delta_encode(x, o, 512)
        buf = offload.pack(codes, 512, tags=o)
        back, tags = offload.unpack(buf, x.size)
        y = offload.delta_decode(back, tags, 512)
    assert calls == ["choose_orders", "delta_encode", "bitpack", "bitunpack", "delta_decode"]
    assert buf == l4_bitpack.pack(l3_delta.delta_encode(x, l3_delta.choose_orders(x, 512), 512), 512,
                                  tags=l3_delta.choose_orders(x, 512))
    assert np.array_equal(y, x)


# ---------------------------------------------------------------- engine


def test_engine_backend_argument():
    assert CobolEngine(backend="cpu").backend.name == "cpu"
    assert CobolEngine().backend is None  # automatic, chosen lazily
    with pytest.raises(UnsupportedError):
        CobolEngine(backend="quantum")


@pytest.mark.parametrize("name", ["opencl", "cuda"])
def test_engine_output_identical_across_backends(name, monkeypatch):
    """A numeric block whose int stream takes intcodec's PACKED layout runs
    L3/L4 on the device; the frame is byte-identical to the CPU's and each
    decodes the other's."""
    b = _device(name, monkeypatch)
    calls = []
    real = b.bitpack
    monkeypatch.setattr(b, "bitpack", lambda *a, **k: calls.append(1) or real(*a, **k))
    rng = np.random.default_rng(5)
    data = rng.integers(0, 1 << 20, 300_000).astype(np.int64).tobytes()
    blobs = {}
    for n in ("cpu", name):
        blobs[n] = CobolEngine(backend=n, hints={"dtype": "int64"}).compress(data)
    assert calls, "the device did not run"
    assert blobs["cpu"] == blobs[name]
    assert CobolEngine(backend="cpu").decompress(blobs[name]) == data
    assert CobolEngine(backend=name).decompress(blobs["cpu"]) == data
