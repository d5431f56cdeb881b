#pragma once
// GET /metrics: the daemon's state in the Prometheus text format (version 0.0.4), written by
// prometheus-cpp from a State snapshot. Every metric is named consul_snapshot_* and has help text.
//
//   consul_snapshot_build_info{version}                     1
//   consul_snapshot_start_time_seconds                      Unix time the daemon started
//   consul_snapshot_is_leader                               1 when this replica holds the lock
//   consul_snapshot_healthy                                 1 when /health answers 200
//   consul_snapshot_last_success_timestamp_seconds          this process's last success (0: none)
//   consul_snapshot_last_attempt_timestamp_seconds          start of the last attempt (0: none)
//   consul_snapshot_cluster_last_backup_timestamp_seconds   lastbackup key, any replica (0: none)
//   consul_snapshot_last_duration_seconds                   of the last attempt (0: none)
//   consul_snapshot_last_size_bytes                         stored size of the last success
//   consul_snapshot_last_backup_partial                     1 when the last success is partial
//   consul_snapshot_last_entries{kind}                      entries per kind of the last success
//   consul_snapshot_backups_total                           successful backups (counter)
//   consul_snapshot_backup_failures_total{cause}            failed attempts by cause (counter)
//   consul_snapshot_retention_held                          1 while the shrink guard holds
//   consul_snapshot_consecutive_failures                    failures since the last success
//
// Timestamps of events that have not happened are 0, so that an alert such as
// `time() - consul_snapshot_last_success_timestamp_seconds > 3600` also fires before the first
// backup.

#include <string>

#include "daemon/health.hpp"
#include "daemon/state.hpp"

namespace csnap::daemon {

// The Content-Type of render_metrics's text.
inline constexpr const char* kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

// `snapshot` (and whether `health` is healthy) in the Prometheus text format.
std::string render_metrics(const Snapshot& snapshot, const HealthAnswer& health);

}  // namespace csnap::daemon
