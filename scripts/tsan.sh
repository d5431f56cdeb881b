#!/usr/bin/env bash
# Builds the tests whose code runs threads of its own under ThreadSanitizer (the tsan preset,
# build/tsan) and runs them: the daemon's parts (shared State, the leader lock and its renewal
# thread, the HTTP server's workers, metrics) and S3 (a client shared by the backup and the HTTP
# threads), and the consul-snapshot binary itself, run as a daemon by the DaemonTest and
# DaemonHaTest tests (its scheduler, lock renewal and HTTP workers together; TSAN_OPTIONS reach it
# through the environment, and a race ends it with an error the test sees). Only these targets are
# built; ctest skips the tests of the binaries it did not build
# (the preset excludes "*_NOT_BUILT" and the fuzz replays), and DaemonHttp.StopsCleanlyAndUsesFewThreads, which
# measures the process's memory and threads: ThreadSanitizer's runtime adds a thread and shadow
# memory of its own (it runs in the default and asan presets), and
# DaemonHaTest.SigtermDuringALargeBackupAbortsAfterTheGraceOrFinishesWithinIt, whose 100 MB backup
# takes 270 s under ThreadSanitizer (it runs in the default preset; the shutdown grace's threads
# are also in the other daemon tests).
# The integration tests need the servers scripts/test.sh finds (CONSUL_BIN, WEED_BIN,
# TOXIPROXY_BIN, ...).
#
#   bash scripts/tsan.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

targets=(
  daemon_test                     # tests/unit/daemon
  daemon_http_integration_test    # tests/integration/daemon: the HTTP server
  daemon_leader_integration_test  # tests/integration/daemon: the leader lock through Toxiproxy
  storage_test                    # tests/unit/storage: S3 against an in-process server
  storage_integration_test        # tests/integration/storage: S3 against SeaweedFS
  consul-snapshot                 # the daemon as shipped, for the next one
  daemon_cli_integration_test     # tests/integration/cli: DaemonTest, DaemonHaTest (the binary)
)

cmake --preset tsan >/dev/null
cmake --build --preset tsan --target "${targets[@]}"
ctest --preset tsan -j2 --timeout 900 --no-tests=error
