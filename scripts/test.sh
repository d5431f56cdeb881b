#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: unit and integration (against a real
# Consul agent built from the Go module proxy and cached), in the default preset and again under
# AddressSanitizer + UndefinedBehaviorSanitizer; the threaded tests also under ThreadSanitizer.
# Also fails on unformatted code and on any clang-tidy finding over src/ and tests/
# (scripts/tidy.py; files unchanged since a clean check, in any clone, are skipped). CI runs this
# script (.ci/run), so both checks run there.
#
#   bash scripts/test.sh            # everything
#   bash scripts/test.sh --no-asan  # skip the AddressSanitizer build (faster local runs)
#   bash scripts/test.sh --no-tsan  # skip the ThreadSanitizer build
#   bash scripts/test.sh --no-tidy  # skip clang-tidy
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# Paths under the checkout are hashed relative to it, so a fresh clone elsewhere (CI) reuses what
# an earlier build of the same sources compiled.
export CCACHE_BASEDIR="$PWD"

asan=1
tsan=1
tidy=1
for arg in "$@"; do
  case "$arg" in
    --no-asan) asan=0 ;;
    --no-tsan) tsan=0 ;;
    --no-tidy) tidy=0 ;;
    --tidy) tidy=1 ;;  # the default now; still accepted
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

# timed <name> <command...>: runs one step of the run and says how long it took.
timed() {
  local name=$1 step_started
  shift
  step_started=$(date +%s)
  "$@"
  echo "== $name took $(($(date +%s) - step_started)) s"
}

timed "default" run_preset default
echo "== format check"
cmake --build --preset default --target format-check
if ((tidy)); then
  echo "== clang-tidy (files unchanged since a clean check are skipped: scripts/tidy.py)"
  timed "clang-tidy" python3 scripts/tidy.py --build-dir build/default
fi
if ((asan)); then
  timed "asan" run_preset asan
fi
if ((tsan)); then
  echo "== tsan (the tests that run threads)"
  timed "tsan" bash scripts/tsan.sh
fi
echo "== all tests passed in $(($(date +%s) - started)) s"
