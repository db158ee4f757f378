#!/usr/bin/env bash
# Idempotent set-up for building and testing flywheel on a fresh Debian machine.
#   1. Debian packages the build needs (apt-get), skipped when all are present.
#   2. A Python virtualenv under ~/.cache/flywheel/, keyed by the pinned versions below,
#      holding torch (our LibTorch) and the test-only peers (transformers, ...).
# Prints nothing but progress; a rerun on a ready machine costs about a second.
# Set FLYWHEEL_SKIP_APT=1 to skip the apt step, LIBTORCH_DIR to use another LibTorch
# (the venv is still made: the parity tests need transformers).
set -euo pipefail

APT_PACKAGES=(build-essential cmake ninja-build ccache pkg-config python3-venv
  libsentencepiece-dev sentencepiece libyaml-cpp-dev nlohmann-json3-dev libgtest-dev
  libgmock-dev libcli11-dev libbenchmark-dev libcurl4-openssl-dev libssl-dev libgloo-dev libcpp-httplib-dev
  libpcre2-dev libicu-dev)

# Pinned Python versions. The venv's folder name is a hash of this list, so changing a
# pin makes a fresh venv and leaves the old one alone.
PY_PINS=(torch==2.11.0 transformers==5.23.0 safetensors==0.8.0 numpy==2.4.6 trl==1.16.0
  sentencepiece==0.2.3 scikit-learn==1.9.1 openai==3.63.0 tiktoken==0.14.0 protobuf==7.36.2)
# Packages installed only for the real tokenizer vocabularies they ship, without their
# dependencies (torch, numba, pydantic, ... are not needed to read a data file):
# tests/parity/hf_real_vocabularies.py converts them with transformers at test time.
# tiktoken and protobuf above are what transformers' tiktoken and sentencepiece converters use.
PY_DATA_PINS=(openai-whisper==20250625 mistral-common==1.13.1 clip-anytorch==2.6.0)

log() { echo "[bootstrap] $*" >&2; }

missing=()
if [ "${FLYWHEEL_SKIP_APT:-0}" != 1 ]; then
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
fi
if [ ${#missing[@]} -gt 0 ]; then
  log "installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

CACHE="${FLYWHEEL_CACHE:-$HOME/.cache/flywheel}"
key=$(printf '%s\n' "${PY_PINS[@]}" "${PY_DATA_PINS[@]}" "$(python3 -c 'import sys;print(sys.version_info[:2])')" | sha256sum | cut -c1-12)
VENV="$CACHE/venv-$key"
if [ ! -f "$VENV/.complete" ]; then
  log "creating Python venv $VENV (pinned: ${PY_PINS[*]})"
  rm -rf "$VENV"
  mkdir -p "$CACHE"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q --cache-dir "$CACHE/pip" "${PY_PINS[@]}"
  "$VENV/bin/pip" install -q --cache-dir "$CACHE/pip" --no-deps "${PY_DATA_PINS[@]}"
  touch "$VENV/.complete"
fi
ln -sfn "$VENV" "$CACHE/venv"
echo "$VENV"
