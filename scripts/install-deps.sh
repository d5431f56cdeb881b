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
  # msgpack-c's C++ headers: Consul's Raft snapshot records (archive/raft_snapshot.cpp)
  libmsgpack-cxx-dev
  # independent checkers used by the tests (prometheus: promtool and a server that scrapes /metrics)
  curl zstd tar age gzip expect time prometheus
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

# Debian's prometheus package starts a server on :9090 (every interface) and enables it at boot.
# The tests only need its binaries: a policy-rc.d that denies every start keeps the server from
# running during the install (one already present, as in Docker images, is left as it is), and on
# a systemd host the unit is disabled afterwards.
installing_prometheus=false
for p in "${missing[@]}"; do
  if [[ $p == prometheus ]]; then installing_prometheus=true; fi
done
policy=/usr/sbin/policy-rc.d
own_policy=false
if $installing_prometheus && [[ ! -e $policy ]]; then
  printf '#!/bin/sh\n# written by consul-snapshot scripts/install-deps.sh; removed after the install\nexit 101\n' |
    $sudo tee "$policy" >/dev/null
  $sudo chmod 755 "$policy"
  own_policy=true
  trap '$sudo rm -f "$policy"' EXIT
fi

$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

if $own_policy; then
  $sudo rm -f "$policy"
  trap - EXIT
fi
if $installing_prometheus && [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null; then
  $sudo systemctl disable --now prometheus.service >/dev/null 2>&1 || true
  echo "install-deps: installed prometheus for its binaries; its service is disabled" >&2
fi
