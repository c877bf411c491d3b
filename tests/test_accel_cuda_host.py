"""The CUDA backend's host code (accel/cuda.py over accel/device.py) run
without a GPU, against a stand-in for CuPy whose kernels run on OpenCL.

``FakeCupy`` models the part of CuPy's API that cuda.py uses, as CuPy
documents it: ``ndarray`` (device memory: no implicit conversion to NumPy,
``get()``, views, ``astype``, 0-d results of integer indexing), ``empty``,
``zeros``, ``asarray``, ``asnumpy``, ``ascontiguousarray``, ``cuda.Device``
as a context manager, the runtime queries, ``RawModule(code, options)`` and
``get_function(name)(grid, block, args)``. A launch is refused unless
  - the module is the kernel source with ``cuda.NVRTC_OPTIONS`` and the
    launch happens on the module's device;
  - grid and block are 1-tuples of ints, the block is the kernel's work-group
    size and the grid is not empty;
  - every argument matches the kernel's C signature exactly: a contiguous
    device array of the pointee's dtype for a pointer, a NumPy scalar of the
    parameter's dtype for a scalar. (Real CuPy passes whatever it gets: a
    Python int as 8 bytes, an int64 array to a u32 pointer -- wrong results,
    no error. test_cuda_compile.py ties the C signatures to what NVRTC
    compiled.)
It then runs the same kernel from the same source on the OpenCL backend
(PoCL in CI), copying the arrays in and out.

So this checks cuda.py's primitives and every launch's arguments, and runs
the whole accel test suite through them; it does not check CuPy itself, the
NVIDIA driver, or that the kernels behave the same on a GPU as on PoCL
(bench/gpu_check.sh does, on an H100).
"""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest

from cobol import accel
from cobol.device_frame import compress_device_ints
from cobol.accel import cuda as cuda_mod
from cobol.accel import kernels as K
from support import require_opencl

import test_accel as T  # noqa: E402  (tests/ is on sys.path under pytest)


class FakeArray:
    """A CuPy-like device array: NumPy memory that NumPy may not see implicitly."""

    def __init__(self, a: np.ndarray):
        self._a = a

    # CuPy refuses implicit conversion (np.asarray(cupy_array) raises TypeError)
    def __array__(self, *args, **kwargs):
        raise TypeError("Implicit conversion to a NumPy array is not allowed. "
                        "Please use `.get()` to construct a NumPy array explicitly.")

    @property
    def dtype(self):
        return self._a.dtype

    @property
    def size(self):
        return self._a.size

    @property
    def shape(self):
        return self._a.shape

    @property
    def ndim(self):
        return self._a.ndim

    @property
    def nbytes(self):
        return self._a.nbytes

    @property
    def flags(self):
        return self._a.flags

    def __len__(self):
        return len(self._a)

    def get(self):
        return self._a.copy()

    def reshape(self, *shape):
        return FakeArray(self._a.reshape(*shape))

    def view(self, dtype):
        return FakeArray(self._a.view(dtype))

    def astype(self, dtype, copy=True):
        return FakeArray(self._a.astype(dtype, copy=copy))

    def __getitem__(self, key):
        r = self._a[key]
        # CuPy returns 0-d device arrays, never host scalars
        return FakeArray(np.asarray(r) if np.isscalar(r) or isinstance(r, np.generic) else r)

    def __int__(self):  # CuPy: size-1 arrays convert (copying to the host)
        return int(self._a.item())


class FakeDevice:
    def __init__(self, fake, i):
        self._fake, self.id = fake, int(i)

    def __enter__(self):
        self._fake.device_stack.append(self.id)
        return self

    def __exit__(self, *exc):
        self._fake.device_stack.pop()


class FakeKernel:
    def __init__(self, fake, name, device):
        self._fake, self.name, self.device = fake, name, device

    def __call__(self, grid, block, args):
        f = self._fake
        name = self.name
        assert f.current_device() == self.device, f"{name}: launched on device {f.current_device()}, module on {self.device}"
        assert isinstance(grid, tuple) and len(grid) == 1 and type(grid[0]) is int and 0 < grid[0] < 2**31, (name, grid)
        assert isinstance(block, tuple) and len(block) == 1 and type(block[0]) is int, (name, block)
        assert block[0] == K.launch_sizes()[name], f"{name}: block {block[0]}, kernel written for {K.launch_sizes()[name]}"
        assert isinstance(args, tuple), f"{name}: args must be a tuple"
        sig = K.kernel_signatures()[name]
        assert len(args) == len(sig), f"{name}: {len(args)} arguments for {len(sig)} parameters"
        for k, (a, (ctype, ptr)) in enumerate(zip(args, sig)):
            want = np.dtype(K.PARAM_DTYPES[ctype])
            if ptr:
                assert isinstance(a, FakeArray), f"{name} arg {k}: {type(a).__name__} for a {ctype} pointer"
                assert a.dtype == want, f"{name} arg {k}: {a.dtype} array for a {ctype} pointer"
                assert a.flags.c_contiguous, f"{name} arg {k}: not contiguous"
            else:
                assert isinstance(a, np.generic) and a.dtype == want, \
                    f"{name} arg {k}: {type(a).__name__} {getattr(a, 'dtype', '')} for a {ctype} scalar"
        f.launches[name] = f.launches.get(name, 0) + 1
        f.run_on_opencl(name, grid[0], block[0], args)


class FakeRawModule:
    def __init__(self, fake, code=None, options=()):
        assert code == K.source(), "RawModule got something other than the kernel source"
        assert tuple(options) == tuple(cuda_mod.NVRTC_OPTIONS), options
        self._fake = fake
        self.device = fake.current_device()

    def get_function(self, name):
        if name not in K.kernel_names():
            raise RuntimeError(f"CUDA_ERROR_NOT_FOUND: named symbol not found ({name})")
        return FakeKernel(self._fake, name, self.device)


def make_fake_cupy(ocl):
    """A module object standing in for ``cupy``, running kernels on ``ocl``."""
    import pyopencl as cl

    fake = types.ModuleType("cupy")
    fake.__version__ = "fake-14"
    fake.ndarray = FakeArray
    fake.uint8 = np.uint8
    fake.device_stack = [0]
    fake.launches = {}
    fake.current_device = lambda: fake.device_stack[-1]

    fake.empty = lambda n, dtype=np.float64: FakeArray(np.empty(n, dtype))
    fake.zeros = lambda n, dtype=np.float64: FakeArray(np.zeros(n, dtype))

    def asarray(x, dtype=None):
        if isinstance(x, FakeArray):
            return x if dtype is None else x.astype(dtype, copy=False)
        return FakeArray(np.array(x, dtype=dtype, copy=True))

    def asnumpy(x):
        return x.get() if isinstance(x, FakeArray) else np.asarray(x)

    def ascontiguousarray(x):
        assert isinstance(x, FakeArray), "cupy.ascontiguousarray of a host object"
        return x if x.flags.c_contiguous else FakeArray(np.ascontiguousarray(x._a))

    fake.asarray = asarray
    fake.asnumpy = asnumpy
    fake.ascontiguousarray = ascontiguousarray
    fake.RawModule = lambda code=None, options=(), **kw: FakeRawModule(fake, code, options)

    stream = types.SimpleNamespace(synchronize=lambda: None)
    props = {"name": b"Fake H100 (kernels on OpenCL)", "major": 9, "minor": 0,
             "totalGlobalMem": 80 << 30, "multiProcessorCount": 132}
    runtime = types.SimpleNamespace(getDeviceCount=lambda: 1, runtimeGetVersion=lambda: 13000,
                                    getDeviceProperties=lambda i: dict(props))
    fake.cuda = types.SimpleNamespace(Device=lambda i=0: FakeDevice(fake, i), runtime=runtime,
                                      get_current_stream=lambda: stream)

    def run_on_opencl(name, groups, local, args):
        bufs, cargs = [], []
        mf = cl.mem_flags
        for a in args:
            if isinstance(a, FakeArray):
                host = a._a
                buf = cl.Buffer(ocl.ctx, mf.READ_WRITE, size=max(host.nbytes, 1))
                if host.nbytes:
                    cl.enqueue_copy(ocl.queue, buf, host)
                bufs.append((host, buf))
                cargs.append(buf)
            else:
                cargs.append(a)
        with ocl._lock:
            ocl._kernels[name](ocl.queue, (groups * local,), (local,), *cargs)
        for host, buf in bufs:
            if host.nbytes:
                cl.enqueue_copy(ocl.queue, host, buf)
        ocl.queue.finish()

    fake.run_on_opencl = run_on_opencl
    return fake


def cuda_stand_in():
    """A CudaBackend over the CuPy stand-in (kernels on OpenCL: PoCL in CI)."""
    fake = make_fake_cupy(require_opencl())
    saved = sys.modules.get("cupy")
    sys.modules["cupy"] = fake
    try:
        b = cuda_mod.CudaBackend()
    finally:
        if saved is None:
            del sys.modules["cupy"]
        else:
            sys.modules["cupy"] = saved
    b.fake = fake
    return b


@pytest.fixture(scope="module")
def fake_cuda():
    return cuda_stand_in()


# the accel suite, with this backend as `backend` and `device`
@pytest.fixture
def backend(fake_cuda):
    return fake_cuda


@pytest.fixture
def device(fake_cuda):
    return fake_cuda


test_varint_round_trip = T.test_varint_round_trip
test_varint_every_bit_length = T.test_varint_every_bit_length
test_varint_decode_rejects = T.test_varint_decode_rejects
test_varint_decode_limit = T.test_varint_decode_limit
test_delta = T.test_delta
test_delta_decode_arbitrary_codes = T.test_delta_decode_arbitrary_codes
test_delta_decode_rejects = T.test_delta_decode_rejects
test_bitpack_mixed = T.test_bitpack_mixed
test_bitpack_every_width_and_strategy = T.test_bitpack_every_width_and_strategy
test_bitpack_max_chunk = T.test_bitpack_max_chunk
test_bitunpack_hostile = T.test_bitunpack_hostile
test_bitunpack_hostile_runs_and_patches = T.test_bitunpack_hostile_runs_and_patches
test_encode_ints_packed = T.test_encode_ints_packed
test_dictionary_lookup = T.test_dictionary_lookup
test_histogram = T.test_histogram
test_entropy_values = T.test_entropy_values
test_patterns = T.test_patterns
test_device_arrays_in = T.test_device_arrays_in
test_memory_api = T.test_memory_api


def test_device_info(fake_cuda):
    info = fake_cuda.device_info()
    assert info.kind == "gpu" and info.name == "Fake H100 (kernels on OpenCL)"
    assert "CUDA 13.0" in info.platform and "compute capability 9.0" in info.platform
    assert info.memory_bytes == 80 << 30 and info.compute_units == 132


def test_compress_device_ints(fake_cuda):
    import cobol
    rng = T.rng_for("frame", "cuda-host")
    for x in (T.mixed_ints(250_001, rng), rng.integers(-(2**31), 2**31, 10_001).astype(np.int32),
              np.array([0, 2**64 - 1, 2**63, 5], np.uint64), np.zeros(0, np.int64)):
        blob = compress_device_ints(fake_cuda.upload(x), backend=fake_cuda, block_values=100_000)
        assert cobol.decompress(blob) == x.tobytes()


def test_device_arrays_are_not_numpy(fake_cuda):
    """The stand-in is as strict as CuPy: host code cannot read device arrays implicitly."""
    d = fake_cuda.upload(np.arange(10, dtype=np.int64))
    with pytest.raises(TypeError):
        np.asarray(d)
    # offsets given as a device array are fetched with .get()
    data = np.arange(1000, dtype=np.uint8)
    off = np.array([0, 10, 1000], np.int64)
    T.same(fake_cuda.byte_histogram(fake_cuda.upload(data), fake_cuda.upload(off)),
           accel.get_backend("cpu").byte_histogram(data, off))


def test_launch_checks_catch_wrong_arguments(fake_cuda):
    """The launch checks can fail: a Python int, a wrong-width scalar or array, a wrong block size."""
    k = fake_cuda._kernels["varint_lengths"]
    v = fake_cuda.upload(np.arange(5, dtype=np.uint64))
    out = fake_cuda.allocate(5, np.uint64)
    with fake_cuda._device:
        k((1,), (K.WG,), (v, out, np.uint64(5)))  # the right call runs
        for bad in [((1,), (K.WG,), (v, out, 5)),
                    ((1,), (K.WG,), (v, out, np.uint32(5))),
                    ((1,), (K.WG,), (v.view(np.int64), out, np.uint64(5))),
                    ((1,), (K.WG_CHUNK,), (v, out, np.uint64(5))),
                    ((0,), (K.WG,), (v, out, np.uint64(5)))]:
            with pytest.raises(AssertionError):
                k(*bad)
    T.same(fake_cuda.download(out), np.ones(5, np.uint64))


def test_every_kernel_is_launched(fake_cuda):
    """One call of each operation goes through every kernel of the source (so
    the checks above cover every launch site's arguments)."""
    fake_cuda.fake.launches.clear()
    cpu = accel.get_backend("cpu")
    rng = T.rng_for("every-kernel")
    x = T.mixed_ints(5000, rng)
    v = x.view(np.uint64)
    assert fake_cuda.varint_decode(fake_cuda.varint_encode(v), v.size).tobytes() == v.tobytes()
    o = fake_cuda.choose_orders(x, 64)
    codes = fake_cuda.delta_encode(x, o, 64)
    T.same(fake_cuda.delta_decode(codes, o, 64), x)
    buf = fake_cuda.bitpack(codes, 64, tags=o)
    T.same(fake_cuda.bitunpack(buf, x.size)[0], codes)
    assert fake_cuda.encode_ints_packed(x) == cpu.encode_ints_packed(x)
    words = [b"ab", b"cd", b"ab", b"zz"]
    table = accel.DictionaryTable(words[:2])
    ends = np.cumsum([2, 2, 2, 2]).astype(np.uint64)
    starts = ends - np.uint64(2)
    T.same(fake_cuda.dictionary_lookup(table, b"".join(words), starts, ends), np.array([0, 1, 0, -1], np.int32))
    h = fake_cuda.hash_tokens(b"".join(words), starts, ends)
    htable = accel.DictionaryTable.from_hashes(h[:2])
    T.same(fake_cuda.hash_lookup(htable, h), np.array([0, 1, 0, -1], np.int32))
    text = bytes(rng.integers(0, 4, 3000, dtype=np.uint8)) + b"{}"
    T.same(fake_cuda.byte_histogram(text), cpu.byte_histogram(text))
    for a, b in zip(fake_cuda.find_patterns(text, [b"{", b"\x01\x02"]), cpu.find_patterns(text, [b"{", b"\x01\x02"])):
        T.same(a, b)
    T.same(fake_cuda.pattern_bitmap(text, [b"}"]), cpu.pattern_bitmap(text, [b"}"]))
    missing = set(K.kernel_names()) - set(fake_cuda.fake.launches)
    assert not missing, f"kernels never launched through cuda.py: {sorted(missing)}"
