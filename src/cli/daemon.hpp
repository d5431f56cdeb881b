#pragma once
// `consul-snapshot backup` without --once: the daemon.

#include "config/options.hpp"
#include "ops/backup.hpp"
#include "util/result.hpp"

namespace csnap::cli {

// Runs until SIGINT or SIGTERM: a backup at start and then every --interval while this daemon
// holds the leader lock (unless --lock=false), the HTTP server, retention after each success,
// the optional service registration. Returns after a clean shutdown; errors only for a
// configuration that cannot work (bad lock TTL, HTTP address in use, registration refused).
Status run_daemon(const config::Config& config, const ops::BackupOptions& options);

}  // namespace csnap::cli
