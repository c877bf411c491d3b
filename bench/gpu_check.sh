#!/usr/bin/env bash
# GPU check of cobol.accel, in one go (about 3-6 minutes on an H100):
#   1. installs the carried wheels (.whl/: zstandard, pyppmd, pyopencl and its
#      deps, nvCOMP) into /tmp/site -- the device image has no network;
#   2. records the environment and what the backend factory sees (this
#      compiles the kernels with NVRTC through CuPy);
#   3. runs the accel tests: every operation on the real CUDA backend against
#      the CPU reference, the NVRTC compile test, the CuPy stand-in test;
#      a CUDA test that skips is reported as a failure of this check;
#   4. runs every kernel once under compute-sanitizer (memcheck, racecheck):
#      out-of-bounds accesses and shared-memory races that PoCL cannot show;
#   5. runs the throughput benchmark (CPU, CUDA, OpenCL on the NVIDIA driver
#      when its ICD is there) and the nvCOMP comparison.
# Results under $OUT (default ./gpu_check_out), at most 7 files:
#   summary.txt env.txt backends.txt tests.txt sanitize.txt bench.txt bench.json
#
# On the project's device machine (wheels prepared once, see docs/ACCEL.md):
#   run(command="bash bench/gpu_check.sh", carry=[".whl"], timeout_s=540)
# Also runs on any CUDA machine with `pip install -e .[cuda,test]`.
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-gpu_check_out}
mkdir -p "$OUT"
PY=${PYTHON:-python3}
export PYTHONUNBUFFERED=1
T0=$(date +%s)
say() { echo "[$(( $(date +%s) - T0 ))s] $*" | tee -a "$OUT/summary.txt"; }

# ---- 1. packages: the carried wheels ----
if ls .whl/*.whl >/dev/null 2>&1; then
    if $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
            > "$OUT/env.txt" 2>&1; then
        export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
        say "wheels: installed $(ls .whl/*.whl | wc -l) into /tmp/site"
    else
        say "wheels: INSTALL FAILED (see env.txt)"
    fi
fi
export PYTHONPATH=$PWD/src${PYTHONPATH:+:$PYTHONPATH}

# OpenCL on the NVIDIA driver: give the ICD loader the vendor file if the image lacks it
if [ ! -e /etc/OpenCL/vendors/nvidia.icd ]; then
    lib=$(ldconfig -p 2>/dev/null | awk '/libnvidia-opencl\.so\.1/ {print $NF; exit}')
    if [ -n "$lib" ]; then
        mkdir -p /tmp/icd && echo "$lib" > /tmp/icd/nvidia.icd && export OCL_ICD_VENDORS=/tmp/icd
    fi
fi

# ---- 2. environment and backends ----
{
    date -u
    nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv 2>&1
    nvcc --version 2>&1 | tail -2
    $PY - <<'EOF'
import platform, importlib
print("python", platform.python_version())
for m in ("numpy", "numba", "cupy", "zstandard", "pyppmd", "xxhash", "pyopencl", "pytest", "hypothesis",
          "xdist", "cuda.bindings", "nvidia.nvcomp"):
    try:
        print(m, getattr(importlib.import_module(m), "__version__", "?"))
    except Exception as e:
        print(m, "MISSING", type(e).__name__, e)
try:
    import cupy
    print("cupy CUDA runtime", cupy.cuda.runtime.runtimeGetVersion(), "NVRTC", cupy.cuda.nvrtc.getVersion())
except Exception as e:
    print("cupy runtime/NVRTC: ", type(e).__name__, e)
EOF
} >> "$OUT/env.txt" 2>&1
say "env: $(grep -E '^(cupy|numba|numpy|zstandard|pyppmd|nvidia.nvcomp) ' "$OUT/env.txt" | tr '\n' ' ')"

timeout 180 $PY -c "
from cobol import accel
print('\n'.join(accel.format_backends()))
print('auto choice:', accel.auto_backend_name())
" > "$OUT/backends.txt" 2>&1
say "backends: rc=$? $(grep -E 'auto choice' "$OUT/backends.txt")"
grep -E '^[* ] (cuda|opencl)' "$OUT/backends.txt" | tee -a "$OUT/summary.txt"

# ---- 3. tests: every op on every backend against the CPU reference ----
XDIST=""
$PY -c "import xdist" 2>/dev/null && XDIST="-n 4"
timeout 300 $PY -m pytest -q -p no:cacheprovider -rs $XDIST tests/test_accel.py tests/test_accel_factory.py \
    tests/test_cuda_compile.py tests/test_accel_cuda_host.py > "$OUT/tests.txt" 2>&1
rc=$?
say "tests: rc=$rc $(tail -1 "$OUT/tests.txt")"
grep -E '^(FAILED|ERROR)' "$OUT/tests.txt" | head -20 | tee -a "$OUT/summary.txt"
cuda_skips=$(grep -E '^SKIPPED.*(cuda|NVRTC)' "$OUT/tests.txt" | head -5)
[ -n "$cuda_skips" ] && say "CHECK FAILED: CUDA tests skipped on a GPU machine:" && echo "$cuda_skips" | tee -a "$OUT/summary.txt"

# ---- 4. compute-sanitizer: every kernel once, small inputs, no memory pool ----
cat > /tmp/cobol_sanitize.py <<'EOF'
import numpy as np, cupy
cupy.cuda.set_allocator(None)  # plain cudaMalloc per array: memcheck sees exact bounds
from cobol import accel
from cobol.accel import kernels as K
b, cpu = accel.get_backend("cuda"), accel.get_backend("cpu")
rng = np.random.default_rng(1)
x = np.concatenate([np.cumsum(rng.integers(0, 9, 3000)), rng.integers(-2**62, 2**62, 2001)]).astype(np.int64)
v = x.view(np.uint64)
launched = set()
orig = b._launch
b._launch = lambda name, *a: (launched.add(name), orig(name, *a))[1]
assert b.varint_decode(b.varint_encode(v), v.size).tobytes() == v.tobytes()
o = b.choose_orders(x, 64); c = b.delta_encode(x, o, 64)
assert np.array_equal(b.delta_decode(c, o, 64), x)
for allowed in ((0, 1, 2, 3, 4), (2,), (4,)):
    buf = b.bitpack(c, 64, tags=o, allowed=allowed)
    assert buf == cpu.bitpack(c, 64, tags=o, allowed=allowed)
    assert np.array_equal(b.bitunpack(buf, x.size)[0], c)
assert b.encode_ints_packed(x) == cpu.encode_ints_packed(x)
words = [b"ab", b"cd", b"ab", b"zz"] * 500
ends = np.cumsum([len(w) for w in words]).astype(np.uint64); starts = ends - np.uint64(2)
t = accel.DictionaryTable([b"ab", b"cd"])
assert b.dictionary_lookup(t, b"".join(words), starts, ends).tolist() == [0, 1, 0, -1] * 500
h = b.hash_tokens(b"".join(words), starts, ends)
assert b.hash_lookup(accel.DictionaryTable.from_hashes(h[:2]), h).tolist() == [0, 1, 0, -1] * 500
text = bytes(rng.integers(0, 4, 70001, dtype=np.uint8)) + b"{}"
assert np.array_equal(b.byte_histogram(text), cpu.byte_histogram(text))
for p, q in zip(b.find_patterns(text, [b"{", b"\x01\x02"]), cpu.find_patterns(text, [b"{", b"\x01\x02"])):
    assert np.array_equal(p, q)
assert np.array_equal(b.pattern_bitmap(text, [b"}"]), cpu.pattern_bitmap(text, [b"}"]))
missing = set(K.kernel_names()) - launched
print("kernels launched:", len(launched), "missing:", sorted(missing))
print("SANITIZE-SCRIPT-OK" if not missing else "SANITIZE-SCRIPT-INCOMPLETE")
EOF
: > "$OUT/sanitize.txt"
if command -v compute-sanitizer >/dev/null; then
    for tool in memcheck racecheck; do
        echo "==== compute-sanitizer --tool $tool" >> "$OUT/sanitize.txt"
        timeout 150 compute-sanitizer --tool $tool --print-limit 20 $PY /tmp/cobol_sanitize.py >> "$OUT/sanitize.txt" 2>&1
        src=$?
        say "sanitize $tool: rc=$src $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY|SANITIZE-SCRIPT' "$OUT/sanitize.txt" | tail -2 | tr '\n' ' ')"
    done
else
    $PY /tmp/cobol_sanitize.py >> "$OUT/sanitize.txt" 2>&1
    say "sanitize: compute-sanitizer not found; plain run rc=$? $(tail -1 "$OUT/sanitize.txt")"
fi

# ---- 5. throughput: 4 Mi values / 32 MiB per op, host in/out and device-resident; nvCOMP ----
timeout 240 $PY bench/bench_accel.py --backends cpu,cuda,opencl --values "${BENCH_VALUES:-4194304}" \
    --bytes "${BENCH_BYTES:-33554432}" --reps 5 --nvcomp --json "$OUT/bench.json" > "$OUT/bench.txt" 2>&1
say "bench: rc=$?"
grep -E '^(cuda|nvcomp|note)' "$OUT/bench.txt" | tee -a "$OUT/summary.txt" >/dev/null
say "done"
