#!/usr/bin/env bash
# The GPU checks of the training and performance work in one short call of a GPU machine
# that has python3 with torch + CUDA, torchvision, scipy, pandas, seaborn, scikit-learn, pytest,
# hypothesis (the device machines of this workplace), but no network:
#
#   bash benchmarks/device_check.sh prepare [EXAMPLES]   # here, with the network: the wheels the GPU
#        # machine lacks into .whl/ (for its Python, PY=3.12 by default), dcgan/main.py of a
#        # pytorch/examples checkout EXAMPLES into .bench/examples/ (both ignored by git)
#   bash benchmarks/device_check.sh pins                 # the wheels prepare fetches, NAME==VERSION
#   bash benchmarks/device_check.sh run [all|tests|bench]  # there, in the repository root (.whl and .bench
#        # carried): the tests marked gpu, then the training, inception and frechet benchmarks on CUDA
#        # (each part alone with `tests` or `bench`, for two shorter calls)
#
# `run` writes into $OUT (default: /tmp/device-check): gpu-tests.log, benchmarks.log, nvidia-smi.txt and
# the benchmarks' {name}-cuda-{date}.json; copy the JSON to benchmarks/results/ to quote it.
# Each step has its own time limit (GPU_TESTS_S 240, BENCH_S 270 seconds: together inside one
# 600 s call), so one that hangs cannot use up the machine's time; the exit code is the first
# failing step's (4: torch sees no CUDA device).
set -uo pipefail
cd "$(dirname "$0")/.."

# What the GPU machine lacks of pyproject.toml's dependencies (+ the bench extra), at the versions
# of requirements/constraints.txt; snakemake and dvc are not needed: no driver runs there.
WHEELS="jsonschema jsonschema-specifications referencing rpds-py torch_fidelity pytorch-fid zc.lockfile"

pinned() {  # NAME -> NAME==VERSION from the constraints (names compared as pip does)
    local want
    want=$(echo "$1" | tr 'A-Z_.' 'a-z--')
    while IFS= read -r line; do
        [[ "$line" == *==* ]] || continue
        if [ "$(echo "${line%%==*}" | tr 'A-Z_.' 'a-z--')" = "$want" ]; then echo "$line"; return; fi
    done < requirements/constraints.txt
    echo "device_check.sh: $1 is not pinned in requirements/constraints.txt" >&2
    return 2
}

pins() {  # the wheels `prepare` fetches, NAME==VERSION
    local name
    for name in $WHEELS; do pinned "$name" || exit 2; done
}

prepare() {
    local py=${PY:-3.12} specs
    specs=$(pins) || exit 2
    rm -rf .whl && mkdir -p .whl
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version "$py" --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
        -d .whl $specs || exit 2
    if [ $# -ge 1 ]; then
        [ -f "$1/dcgan/main.py" ] || { echo "device_check.sh: $1/dcgan/main.py: no such file (a checkout of github.com/pytorch/examples)" >&2; exit 2; }
        rm -rf .bench/examples && mkdir -p .bench/examples/dcgan
        cp "$1/dcgan/main.py" .bench/examples/dcgan/
        git -C "$1" rev-parse HEAD > .bench/examples/REVISION 2>/dev/null || rm -f .bench/examples/REVISION
    fi
    du -sh .whl .bench 2>/dev/null || true
}

run() {  # PART: all (default), tests or bench
    local part=${1:-all} out=${OUT:-/tmp/device-check} rc=0 step
    case "$part" in all|tests|bench) ;; *) echo "device_check.sh: run [all|tests|bench], not '$part'" >&2; exit 2 ;; esac
    mkdir -p "$out"
    if ls .whl/*.whl >/dev/null 2>&1; then
        python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 3
        export PYTHONPATH=/tmp/site:$PWD
    else
        export PYTHONPATH=$PWD
    fi
    export PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
    nvidia-smi > "$out/nvidia-smi.txt" 2>&1
    python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.is_available() and torch.cuda.get_device_name())"
    if [ "${DEVICE:-cuda}" = cuda ] && ! python3 -c 'import sys, torch; sys.exit(not torch.cuda.is_available())'; then
        echo "device_check.sh: torch sees no CUDA device: the GPU tests would all be skipped" >&2
        exit 4
    fi
    # timeout -k: train's SIGTERM handler checkpoints and exits the one test it runs in, not pytest
    if [ "$part" != bench ]; then
        timeout -k 20 "${GPU_TESTS_S:-240}" python3 -m pytest -m gpu tests/gpu -p no:cacheprovider -q 2>&1 | tee "$out/gpu-tests.log"
        step=${PIPESTATUS[0]}; [ "$rc" = 0 ] && rc=$step
    fi
    if [ "$part" != tests ]; then
        local examples=()
        [ -f .bench/examples/dcgan/main.py ] && examples=(--examples .bench/examples)
        timeout -k 20 "${BENCH_S:-270}" python3 -m benchmarks training inception frechet --device "${DEVICE:-cuda}" \
            ${examples[@]+"${examples[@]}"} --out "$out" ${QUICK:+--quick} 2>&1 | tee "$out/benchmarks.log"
        step=${PIPESTATUS[0]}; [ "$rc" = 0 ] && rc=$step
    fi
    echo "device_check.sh: exit $rc"
    return "$rc"
}

case "${1:-}" in
    prepare) shift; prepare "$@" ;;
    run) shift; run "$@" ;;
    pins) pins ;;
    *) echo "usage: bash benchmarks/device_check.sh prepare [EXAMPLES_CHECKOUT] | run [all|tests|bench] | pins" >&2; exit 2 ;;
esac
