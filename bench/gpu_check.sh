#!/usr/bin/env bash
# GPU check of cobol.accel, in one go: environment, backend listing, the accel
# tests (CUDA, and OpenCL on the NVIDIA driver when its ICD is there) and the
# throughput benchmark. Results go under $OUT (default ./gpu_check_out):
#   env.txt backends.txt tests.txt bench.txt bench.json summary.txt
#
# Made for the project's device machine (H100/H200 image with CuPy, numba,
# numpy, pytest, hypothesis; no network). Missing Python packages travel as
# wheels in .whl/ (see docs/ACCEL.md, "Running the GPU check"):
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

# ---- packages: the wheels carried in .whl (zstandard, pyopencl, ...) ----
if ls .whl/*.whl >/dev/null 2>&1 && ! $PY -c "import zstandard, pyopencl" 2>/dev/null; then
    $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
        && export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH} || say "wheel install failed"
fi
export PYTHONPATH=$PWD/src${PYTHONPATH:+:$PYTHONPATH}

# ---- OpenCL on the NVIDIA driver: give the ICD loader the vendor file if the image lacks it ----
if [ ! -e /etc/OpenCL/vendors/nvidia.icd ]; then
    lib=$(ldconfig -p 2>/dev/null | awk '/libnvidia-opencl\.so\.1/ {print $NF; exit}')
    if [ -n "$lib" ]; then
        mkdir -p /tmp/icd && echo "$lib" > /tmp/icd/nvidia.icd && export OCL_ICD_VENDORS=/tmp/icd
    fi
fi

# ---- environment ----
{
    date -u
    nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv 2>&1
    $PY - <<'EOF'
import platform, importlib
print("python", platform.python_version())
for m in ("numpy", "numba", "cupy", "zstandard", "pyopencl", "pytest", "hypothesis"):
    try:
        print(m, importlib.import_module(m).__version__)
    except Exception as e:
        print(m, "MISSING", type(e).__name__, e)
EOF
} > "$OUT/env.txt" 2>&1
say "env: $(grep -E '^(cupy|numba|numpy|zstandard)' "$OUT/env.txt" | tr '\n' ' ')"

# ---- backends as the factory sees them (compiles the CUDA kernels) ----
timeout 180 $PY -c "
from cobol import accel
print('\n'.join(accel.format_backends()))
print('auto choice:', accel.auto_backend_name())
" > "$OUT/backends.txt" 2>&1
say "backends: rc=$? $(grep -E 'auto choice' "$OUT/backends.txt")"
grep -E '^[* ] (cuda|opencl)' "$OUT/backends.txt" | tee -a "$OUT/summary.txt"

# ---- tests: every op on every backend against the CPU reference ----
set -o pipefail
timeout 300 $PY -m pytest -q -p no:cacheprovider -rs tests/test_accel.py tests/test_accel_factory.py \
    2>&1 | tee "$OUT/tests.txt" | tail -3
rc=$?
say "tests: rc=$rc $(tail -1 "$OUT/tests.txt")"
grep -E '^(FAILED|ERROR)' "$OUT/tests.txt" | head -20 | tee -a "$OUT/summary.txt"

# ---- throughput: 4 Mi values / 32 MiB per op, host in/out and device-resident ----
timeout 240 $PY bench/bench_accel.py --backends cpu,cuda,opencl --values "${BENCH_VALUES:-4194304}" --bytes "${BENCH_BYTES:-33554432}" --reps 5 \
    --json "$OUT/bench.json" 2>&1 | tee "$OUT/bench.txt" | tail -40
say "bench: rc=$?"
grep -E '^(cuda|note)' "$OUT/bench.txt" | tee -a "$OUT/summary.txt" >/dev/null
say "done"
