#!/usr/bin/env bash
# The CUDA tests on the device (no simulator) and the CUDA benchmarks, in one command, from the repository root:
#
#     bash benchmarks/gpu/run.sh [--dry-run] [--quick]
#
# --dry-run prints the steps without running them; --quick runs the benchmarks at their small sizes (written to
# benchmarks/quick/). Full sizes fit about 8 minutes of device time on one GPU (benchmarks/gpu/README.md).
set -euo pipefail

dry_run=0
quick=()
for argument in "$@"; do
    case "$argument" in
        --dry-run) dry_run=1 ;;
        --quick) quick=(--quick) ;;
        *) echo "usage: $0 [--dry-run] [--quick]" >&2; exit 2 ;;
    esac
done

step() {
    echo "+ $*"
    if [ "$dry_run" -eq 0 ]; then
        "$@"
    fi
}

if [ ! -f setup.cfg ] || [ ! -d refimpl ]; then
    echo "run.sh: run it from the repository root (the folder holding setup.cfg and refimpl/)" >&2
    exit 2
fi

# The CUDA major version: the compiler's where there is one, else the newest the driver supports.
cuda_major=""
if command -v nvcc > /dev/null; then
    cuda_major=$(nvcc --version | sed -n 's/.*release \([0-9]*\)\..*/\1/p' | head -n 1)
elif command -v nvidia-smi > /dev/null; then
    cuda_major=$(nvidia-smi | sed -n 's/.*CUDA Version: *\([0-9]*\)\..*/\1/p' | head -n 1)
fi
if [ -z "$cuda_major" ]; then
    if [ "$dry_run" -eq 0 ]; then
        echo "run.sh: neither nvcc nor nvidia-smi reports a CUDA version: no GPU here?" >&2
        exit 1
    fi
    cuda_major=12  # a dry run on a machine without a GPU shows the steps for CUDA 12
fi
echo "CUDA ${cuda_major}.x: CuPy wheel cupy-cuda${cuda_major}x"

venv=.venv-gpu
# The system packages stay visible: a GPU image often has numba-cuda, CuPy and a CUDA torch already, and no network.
step python3 -m venv --system-site-packages "$venv"
python="$venv/bin/python"
if [ "$dry_run" -eq 0 ] && "$python" -c "import numba.cuda, cupy, hypothesis, pytest" 2> /dev/null; then
    echo "numba-cuda, CuPy, hypothesis and pytest import already: installing refimpl alone, without its dependencies"
    step "$python" -m pip install --quiet --no-deps --no-build-isolation --editable .
else
    step "$python" -m pip install --quiet --editable ".[cuda,test]" "cupy-cuda${cuda_major}x"
fi

unset NUMBA_ENABLE_CUDASIM  # the tests and benchmarks run on the device, not in the simulator
export PYTHONUNBUFFERED=1
step "$python" -m pytest -q -m cuda -p no:cacheprovider tests/rd tests/core tests/prd
step "$python" -m refimpl bench rd --backend cuda "${quick[@]}"
step "$python" -m refimpl bench prd --backend cuda "${quick[@]}"
echo "done: benchmarks/rd-cuda.json and benchmarks/prd-cuda.json (benchmarks/quick/ with --quick)"
