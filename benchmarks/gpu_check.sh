#!/usr/bin/env bash
# The one prepared device check (issue 12), under 5 minutes on an H100/H200:
#   1. the card and the versions (python, numpy, cupy, torch);
#   2. the GPU tests: python3 -m pytest -m gpu on the device test files (they must run there:
#      0 passed is a failure);
#   3. benchmarks/bench_gpu.py: training steps on the GPU, side by side with PyTorch CUDA.
# Run from the repository root: bash benchmarks/gpu_check.sh
# It installs nothing (the GPU machine has no network): minitorch runs from this working tree
# (PYTHONPATH=$PWD). With $OUT set, everything is also written to $OUT/gpu_check.log.
# Each step has its own timeout; the exit status is 0 only when every step passed.
# Environment: PYTEST_TIMEOUT (default 150 s), BENCH_TIMEOUT (default 120 s), BENCH_ARGS.

set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONDONTWRITEBYTECODE=1

step() { printf '\n=== %s (%s) ===\n' "$1" "$(date -u +%H:%M:%S)"; }

check() {
status=0

step "machine"
nvidia-smi -L || { echo "gpu_check: nvidia-smi found no GPU"; status=1; }
python3 - <<'EOF' || status=1
import platform
import numpy
print(f"python {platform.python_version()}, numpy {numpy.__version__}")
try:
    import cupy
    print(f"cupy {cupy.__version__}, CUDA runtime {cupy.cuda.runtime.runtimeGetVersion()}")
except Exception as e:  # reported, and the tests below will say the same
    print(f"cupy: not usable ({type(e).__name__}: {e})")
try:
    import torch
    print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, "
          f"available {torch.cuda.is_available()}")
except Exception as e:
    print(f"torch: not usable ({type(e).__name__}: {e})")
import minitorch
print(f"minitorch from {minitorch.__file__}; minitorch.cuda.is_available() = "
      f"{minitorch.cuda.is_available()}")
EOF

step "GPU tests: pytest -m gpu"
log=$(mktemp)
# The device test files only, and past a collection error: the GPU machine's image may lack
# an optional package that some other test module imports (tqdm for the training app ...).
timeout -k 10 "${PYTEST_TIMEOUT:-150}" python3 -m pytest -m gpu -p no:cacheprovider -q \
    --continue-on-collection-errors -rs --durations=5 \
    tests/test_devices.py tests/test_devices_modules.py tests/test_train_device.py \
    2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
passed=$(grep -Eo '[0-9]+ passed' "$log" | tail -1 | grep -Eo '[0-9]+' || true)
rm -f "$log"
echo "gpu tests: exit status $rc, ${passed:-0} passed"
if [ "$rc" -ne 0 ]; then
    [ "$rc" -ge 124 ] && echo "gpu_check: the GPU tests ran past ${PYTEST_TIMEOUT:-150} s"
    status=1
fi
if [ "${passed:-0}" -eq 0 ]; then
    echo "gpu_check: no GPU test passed (skipped? the reasons are above): FAIL"
    status=1
fi

step "benchmark: benchmarks/bench_gpu.py ${BENCH_ARGS:-}"
# shellcheck disable=SC2086  # BENCH_ARGS is a list of options
timeout -k 10 "${BENCH_TIMEOUT:-120}" env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \
    python3 benchmarks/bench_gpu.py ${BENCH_ARGS:-}
rc=$?
if [ "$rc" -ne 0 ]; then
    [ "$rc" -ge 124 ] && echo "gpu_check: the benchmark ran past ${BENCH_TIMEOUT:-120} s"
    echo "gpu_check: bench_gpu.py exit status $rc"
    status=1
fi

step "done: $([ "$status" -eq 0 ] && echo PASS || echo FAIL)"
return "$status"
}

if [ -n "${OUT:-}" ]; then
    mkdir -p "$OUT"
    check 2>&1 | tee "$OUT/gpu_check.log"
    exit "${PIPESTATUS[0]}"
fi
check
