#!/usr/bin/env bash
# bench/run_all.sh BUILD_DIR [options for model_vs_transformers.py]
# Runs the side-by-side benchmarks (bench/README.md) against an existing build and writes
# their tables and JSON under BUILD_DIR/bench/. `make bench` calls it after `make build`.
#   bench/run_all.sh build                 the default run (~20 minutes on 2 quiet cores)
#   bench/run_all.sh build --quick         a smoke run (about 8 minutes)
#   BENCH_THREADS=8 bench/run_all.sh build threads for every side (default 2)
# Each driver first waits (up to 5 minutes) for the load average to drop below 0.7.
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

out="$BUILD_DIR/bench"
mkdir -p "$out"
options=("$@")  # this script's options after BUILD_DIR

# build_if_missing TARGET: builds BUILD_DIR/bin/TARGET unless it is there.
build_if_missing() {
  if [ ! -x "$BUILD_DIR/bin/$1" ]; then
    echo "[bench] building $1 in $BUILD_DIR" >&2
    cmake --build "$BUILD_DIR" --target "$1"
  fi
}

# when_quick ARG...: prints ARGs (one per line) when --quick is among this script's options.
when_quick() {
  local a
  for a in "${options[@]}"; do [ "$a" = "--quick" ] && printf '%s\n' "$@"; done
  return 0
}

# run_driver NAME DRIVER.py ARG...: one side-by-side driver, its table to NAME.md (and the
# terminal), its figures to NAME.json.
run_driver() {
  local name=$1 driver=$2
  shift 2
  echo "[bench] $name (load average $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  "$py" "$here/$driver" --out "$out/$name.json" "$@" | tee "$out/$name.md"
  echo "[bench] wrote $out/$name.md and .json" >&2
}

threads=(--threads "${BENCH_THREADS:-2}")

# --- model_vs_transformers: our Llama forward + generation vs transformers (eager, sdpa)
build_if_missing fw-bench-model
model_bench="$BUILD_DIR/bin/fw-bench-model"
run_driver model_vs_transformers model_vs_transformers.py --binary "$model_bench" "${threads[@]}" "${options[@]}"
# The PPO rollout shape: generation only, 32 prompts per call.
run_driver generate_b32 model_vs_transformers.py --binary "$model_bench" "${threads[@]}" \
  --gen-batch 32 --skip-forward "${options[@]}"

# --- sft_vs_python: `flywheel sft` vs a plain PyTorch loop vs TRL's SFTTrainer
build_if_missing flywheel
flywheel="$BUILD_DIR/bin/flywheel"
mapfile -t quick < <(when_quick --quick)
# shellcheck disable=SC2206  # SFT_BENCH_ARGS is a plain word list
run_driver sft_vs_python sft_vs_python.py --binary "$flywheel" "${threads[@]}" "${quick[@]}" ${SFT_BENCH_ARGS:-}

# --- dpo_vs_trl: `flywheel dpo` vs TRL's DPOTrainer (live and precomputed reference log-probs)
# shellcheck disable=SC2206  # DPO_BENCH_ARGS is a plain word list
run_driver dpo_vs_trl dpo_vs_trl.py --binary "$flywheel" "${threads[@]}" "${quick[@]}" ${DPO_BENCH_ARGS:-}

# --- dp_scaling: `flywheel sft` on 2 ranks x 1 thread (Gloo) vs 1 rank x 1 thread, same batch
run_driver dp_scaling dp_scaling.py --binary "$flywheel" "${quick[@]}"

# --- elo_vs_python: `flywheel elo` (BT + 100 bootstrap rounds, 1.6 M battles) vs scikit-learn
run_driver elo_vs_python elo_vs_python.py --binary "$flywheel" "${threads[@]}" "${quick[@]}"

# --- tokenizer_encode: native tokenizer.json encode_batch vs the `tokenizers` library (real GPT-2 vocabulary)
build_if_missing fw-bench-tokenizer
mapfile -t tok_quick < <(when_quick --mb 1 --rounds 1)
run_driver tokenizer_encode tokenizer_encode.py --binary "$BUILD_DIR/bin/fw-bench-tokenizer" "${tok_quick[@]}"

# --- chat_template: `flywheel template` (render + tokenize + mask) vs transformers' apply_chat_template
mapfile -t ct_quick < <(when_quick --n 200 --reps 1)
run_driver chat_template chat_template.py --flywheel "$flywheel" "${ct_quick[@]}"
