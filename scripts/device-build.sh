#!/usr/bin/env bash
# Builds flywheel on the GPU machine and runs the gpu-labelled tests (plus the unit
# tests) in one call. The machine has torch (CUDA) in its default python3 but no build
# dependencies and no network: run scripts/fetch-device-debs.sh here first and carry
# .device-debs; this script unpacks them into .device-prefix with `dpkg -x`.
#
#   device run: bash scripts/device-build.sh        (carry: .device-debs)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PREFIX=$ROOT/.device-prefix
if [ -d .device-debs ] && [ ! -f "$PREFIX/.done" ]; then
  mkdir -p "$PREFIX"
  for deb in .device-debs/*.deb; do dpkg -x "$deb" "$PREFIX"; done
  touch "$PREFIX/.done"
fi
export PATH="$PREFIX/usr/bin:$PATH"
export LD_LIBRARY_PATH="$PREFIX/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
export PKG_CONFIG_PATH="$PREFIX/usr/lib/x86_64-linux-gnu/pkgconfig:$PREFIX/usr/share/pkgconfig:${PKG_CONFIG_PATH:-}"
export CMAKE_ROOT="$PREFIX/usr/share/cmake-3.25"
# pkg-config files name /usr as their prefix; point them at the unpacked tree.
export PKG_CONFIG_SYSROOT_DIR="$PREFIX"
command -v pkg-config >/dev/null || { echo "pkg-config missing on the device" >&2; exit 1; }

PY=${PYTHON:-python3}
TORCH_PREFIX=$($PY -c 'import torch; print(torch.utils.cmake_prefix_path)')
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
$PY -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.is_available())'

ARCH=$($PY -c 'import torch; c=torch.cuda.get_device_capability(); print(f"{c[0]}.{c[1]}")' 2>/dev/null || echo 9.0)
export TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-$ARCH}
cmake -S . -B build-device -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DFLYWHEEL_TORCH_PREFIX="$TORCH_PREFIX" -DFLYWHEEL_PYTHON="$(command -v $PY)" \
  -DCMAKE_PREFIX_PATH="$PREFIX/usr;$PREFIX/usr/lib/x86_64-linux-gnu/cmake" \
  -DFLYWHEEL_ASAN_TESTS=OFF
cmake --build build-device -j "$(nproc)"
cd build-device
# gpu tests first (the point of the run), then the unit and data-parallel tests here too.
ctest --output-on-failure -L gpu
ctest --output-on-failure -L unit -j 8
ctest --output-on-failure -L dist -j 4
