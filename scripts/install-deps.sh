#!/usr/bin/env bash
# Installs every Debian 12 package the project needs to build and test. Idempotent: packages
# already present are not fetched again, and apt's lists are refreshed only when something is
# missing.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config clang-format clang-tidy
  # libraries
  libcurl4-openssl-dev libssl-dev zlib1g-dev libzstd-dev libarchive-dev rapidjson-dev nlohmann-json3-dev
  libcli11-dev libspdlog-dev libfmt-dev libpugixml-dev libtomlplusplus-dev prometheus-cpp-dev
  libcpp-httplib-dev libgtest-dev libgmock-dev libbenchmark-dev
  # independent checkers used by the tests
  curl zstd tar age gzip expect time
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

sudo=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "install-deps: run as root or install sudo" >&2; exit 1; }
  sudo=sudo
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
