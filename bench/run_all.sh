#!/usr/bin/env bash
# bench/run_all.sh BUILD_DIR [options for model_vs_transformers.py]
# Runs the side-by-side benchmarks (bench/README.md) against an existing build and writes
# BUILD_DIR/bench/model_vs_transformers.{md,json} and BUILD_DIR/bench/sft_vs_python.{md,json}.
# `make bench` calls it after `make build`. Of the options, sft_vs_python.py gets only --quick;
# SFT_BENCH_ARGS="..." passes it more (e.g. SFT_BENCH_ARGS="--configs tiny,100m").
#   bench/run_all.sh build                 the default run (~5-10 minutes on 2 cores)
#   bench/run_all.sh build --quick         a smoke run (about a minute)
#   BENCH_THREADS=8 bench/run_all.sh build threads for both sides (default 2)
set -euo pipefail

BUILD_DIR=${1:-build}
[ $# -gt 0 ] && shift
here=$(cd "$(dirname "$0")" && pwd)

# The bootstrap venv's Python (torch + transformers): the one `make bootstrap` recorded,
# else the one CMake was configured with, else the default location.
py=""
if [ -f "$BUILD_DIR/venv-path" ]; then
  py="$(cat "$BUILD_DIR/venv-path")/bin/python"
elif [ -f "$BUILD_DIR/CMakeCache.txt" ]; then
  py=$(sed -n 's/^FLYWHEEL_PYTHON:FILEPATH=//p' "$BUILD_DIR/CMakeCache.txt")
fi
[ -x "$py" ] || py="${FLYWHEEL_CACHE:-$HOME/.cache/flywheel}/venv/bin/python"
[ -x "$py" ] || { echo "run_all.sh: no Python venv found (run scripts/bootstrap.sh)" >&2; exit 2; }

binary="$BUILD_DIR/bin/fw-bench-model"
if [ ! -x "$binary" ]; then
  echo "[bench] building fw-bench-model in $BUILD_DIR" >&2
  cmake --build "$BUILD_DIR" --target fw-bench-model
fi

out="$BUILD_DIR/bench"
mkdir -p "$out"
echo "[bench] load average: $(cut -d' ' -f1-3 /proc/loadavg) (quieter is better: both sides share the CPU)" >&2
"$py" "$here/model_vs_transformers.py" --binary "$binary" --threads "${BENCH_THREADS:-2}" \
  --out "$out/model_vs_transformers.json" "$@" | tee "$out/model_vs_transformers.md"
echo "[bench] wrote $out/model_vs_transformers.md and .json" >&2

# SFT training throughput: flywheel sft vs a plain PyTorch loop vs TRL's SFTTrainer.
sft_binary="$BUILD_DIR/bin/flywheel"
if [ ! -x "$sft_binary" ]; then
  echo "[bench] building flywheel in $BUILD_DIR" >&2
  cmake --build "$BUILD_DIR" --target flywheel
fi
sft_args=()
for a in "$@"; do if [ "$a" = "--quick" ]; then sft_args+=(--quick); fi; done
# shellcheck disable=SC2086  # SFT_BENCH_ARGS is a list of options
"$py" "$here/sft_vs_python.py" --binary "$sft_binary" --threads "${BENCH_THREADS:-2}" \
  --out "$out/sft_vs_python.json" "${sft_args[@]}" ${SFT_BENCH_ARGS:-} | tee "$out/sft_vs_python.md"
echo "[bench] wrote $out/sft_vs_python.md and .json" >&2
