#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: unit and integration (against a real
# Consul agent built from the Go module proxy and cached), in the default preset and again under
# AddressSanitizer + UndefinedBehaviorSanitizer. Also fails on unformatted code.
#
#   bash scripts/test.sh            # everything
#   bash scripts/test.sh --no-asan  # skip the sanitizer build (faster local runs)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# Paths under the checkout are hashed relative to it, so a fresh clone elsewhere (CI) reuses what
# an earlier build of the same sources compiled.
export CCACHE_BASEDIR="$PWD"

asan=1
for arg in "$@"; do
  case "$arg" in
    --no-asan) asan=0 ;;
    *) echo "test.sh: unknown argument $arg" >&2; exit 2 ;;
  esac
done

started=$(date +%s)
bash scripts/install-deps.sh
CONSUL_BIN="$(bash scripts/build-consul.sh)"
export CONSUL_BIN
echo "== consul: $CONSUL_BIN"
WEED_BIN="$(bash scripts/build-seaweedfs.sh)"
export WEED_BIN
echo "== seaweedfs: $WEED_BIN"
EC2_METADATA_MOCK_BIN="$(bash scripts/build-ec2-metadata-mock.sh)"
export EC2_METADATA_MOCK_BIN
echo "== ec2-metadata-mock: $EC2_METADATA_MOCK_BIN"
TOXIPROXY_BIN="$(bash scripts/build-toxiproxy.sh)"
export TOXIPROXY_BIN
echo "== toxiproxy: $TOXIPROXY_BIN"
CSNAP_PYTHON="$(bash scripts/install-py-tools.sh)"
export CSNAP_PYTHON

run_preset() {
  local preset=$1
  echo "== build ($preset)"
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset"
  echo "== test ($preset)"
  ctest --preset "$preset" -j2 --timeout 900
}

run_preset default
echo "== format check"
cmake --build --preset default --target format-check
if ((asan)); then
  run_preset asan
fi
echo "== all tests passed in $(($(date +%s) - started)) s"
