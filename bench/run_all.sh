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

# --- model_vs_transformers: our Llama forward + generation vs transformers (eager, sdpa)
binary="$BUILD_DIR/bin/fw-bench-model"
if [ ! -x "$binary" ]; then
  echo "[bench] building fw-bench-model in $BUILD_DIR" >&2
  cmake --build "$BUILD_DIR" --target fw-bench-model
fi
echo "[bench] model_vs_transformers (load average $(cut -d' ' -f1-3 /proc/loadavg))" >&2
"$py" "$here/model_vs_transformers.py" --binary "$binary" --threads "${BENCH_THREADS:-2}" \
  --out "$out/model_vs_transformers.json" "$@" | tee "$out/model_vs_transformers.md"
echo "[bench] wrote $out/model_vs_transformers.md and .json" >&2
# The PPO rollout shape: generation only, 32 prompts per call.
"$py" "$here/model_vs_transformers.py" --binary "$binary" --threads "${BENCH_THREADS:-2}" \
  --gen-batch 32 --skip-forward --out "$out/generate_b32.json" "$@" | tee "$out/generate_b32.md"
echo "[bench] wrote $out/generate_b32.md and .json" >&2

# --- sft_vs_python: `flywheel sft` vs a plain PyTorch loop vs TRL's SFTTrainer
flywheel="$BUILD_DIR/bin/flywheel"
if [ ! -x "$flywheel" ]; then
  echo "[bench] building flywheel in $BUILD_DIR" >&2
  cmake --build "$BUILD_DIR" --target flywheel
fi
sft_args=()
for a in "$@"; do [ "$a" = "--quick" ] && sft_args+=(--quick); done
# shellcheck disable=SC2206  # SFT_BENCH_ARGS is a plain word list
sft_args+=(${SFT_BENCH_ARGS:-})
echo "[bench] sft_vs_python (load average $(cut -d' ' -f1-3 /proc/loadavg))" >&2
"$py" "$here/sft_vs_python.py" --binary "$flywheel" --threads "${BENCH_THREADS:-2}" \
  --out "$out/sft_vs_python.json" "${sft_args[@]}" | tee "$out/sft_vs_python.md"
echo "[bench] wrote $out/sft_vs_python.md and .json" >&2

# --- dpo_vs_trl: `flywheel dpo` vs TRL's DPOTrainer (live and precomputed reference log-probs)
dpo_args=()
for a in "$@"; do [ "$a" = "--quick" ] && dpo_args+=(--quick); done
# shellcheck disable=SC2206  # DPO_BENCH_ARGS is a plain word list
dpo_args+=(${DPO_BENCH_ARGS:-})
echo "[bench] dpo_vs_trl (load average $(cut -d' ' -f1-3 /proc/loadavg))" >&2
"$py" "$here/dpo_vs_trl.py" --binary "$flywheel" --threads "${BENCH_THREADS:-2}" \
  --out "$out/dpo_vs_trl.json" "${dpo_args[@]}" | tee "$out/dpo_vs_trl.md"
echo "[bench] wrote $out/dpo_vs_trl.md and .json" >&2

# --- dp_scaling: `flywheel sft` on 2 ranks x 1 thread (Gloo) vs 1 rank x 1 thread, same batch
dp_args=()
for a in "$@"; do [ "$a" = "--quick" ] && dp_args+=(--quick); done
echo "[bench] dp_scaling (load average $(cut -d' ' -f1-3 /proc/loadavg))" >&2
"$py" "$here/dp_scaling.py" --binary "$flywheel" --out "$out/dp_scaling.json" "${dp_args[@]}" | tee "$out/dp_scaling.md"
echo "[bench] wrote $out/dp_scaling.md and .json" >&2

# --- elo_vs_python: `flywheel elo` (BT + 100 bootstrap rounds, 1.6 M battles) vs scikit-learn
elo_args=()
for a in "$@"; do [ "$a" = "--quick" ] && elo_args+=(--quick); done
echo "[bench] elo_vs_python (load average $(cut -d' ' -f1-3 /proc/loadavg))" >&2
"$py" "$here/elo_vs_python.py" --binary "$flywheel" --threads "${BENCH_THREADS:-2}" \
  --out "$out/elo_vs_python.json" "${elo_args[@]}" | tee "$out/elo_vs_python.md"
echo "[bench] wrote $out/elo_vs_python.md and .json" >&2

# --- tokenizer_encode: native tokenizer.json encode_batch vs the `tokenizers` library (real GPT-2 vocabulary)
tok_binary="$BUILD_DIR/bin/fw-bench-tokenizer"
if [ ! -x "$tok_binary" ]; then
  echo "[bench] building fw-bench-tokenizer in $BUILD_DIR" >&2
  cmake --build "$BUILD_DIR" --target fw-bench-tokenizer
fi
tok_args=()
for a in "$@"; do [ "$a" = "--quick" ] && tok_args+=(--mb 1 --rounds 1); done
echo "[bench] tokenizer_encode (load average $(cut -d' ' -f1-3 /proc/loadavg))" >&2
"$py" "$here/tokenizer_encode.py" --binary "$tok_binary" --out "$out/tokenizer_encode.json" "${tok_args[@]}" \
  | tee "$out/tokenizer_encode.md"
echo "[bench] wrote $out/tokenizer_encode.md and .json" >&2

# --- chat_template: `flywheel template` (render + tokenize + mask) vs transformers' apply_chat_template
ct_args=()
for a in "$@"; do [ "$a" = "--quick" ] && ct_args+=(--n 200 --reps 1); done
echo "[bench] chat_template (load average $(cut -d' ' -f1-3 /proc/loadavg))" >&2
"$py" "$here/chat_template.py" --flywheel "$flywheel" --out "$out/chat_template.json" "${ct_args[@]}" \
  | tee "$out/chat_template.md"
echo "[bench] wrote $out/chat_template.md and .json" >&2
