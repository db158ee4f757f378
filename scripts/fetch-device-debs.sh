#!/usr/bin/env bash
# Downloads (does not install) the Debian packages the GPU machine needs to build
# flywheel, into .device-debs/ (git-ignored). The device has torch but cannot install
# anything; scripts/device-build.sh unpacks these there with `dpkg -x`.
# Carry them with the run: carry=[".device-debs"].
set -euo pipefail
cd "$(dirname "$0")/.."
PKGS=(cmake cmake-data libjsoncpp25 librhash0 libuv1 libarchive13 ninja-build
      libsentencepiece-dev libsentencepiece0 libprotobuf-lite32
      libyaml-cpp-dev libyaml-cpp0.7 nlohmann-json3-dev libgtest-dev libgmock-dev libcli11-dev
      libgloo-dev  # gloo headers only: c10d's ProcessGroupGloo.hpp includes them
      libcurl4-openssl-dev libcurl4 libcpp-httplib-dev libcpp-httplib0.11 libbrotli-dev)  # HTTP client and server
mkdir -p .device-debs
cd .device-debs
apt-get download "${PKGS[@]}"
ls -1 *.deb
