#include "daemon/metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

namespace csnap::daemon {

namespace {

double unix_seconds(Clock::time_point time) {
  return std::chrono::duration<double>(time.time_since_epoch()).count();
}

double unix_seconds_or_zero(const std::optional<Clock::time_point>& time) {
  return time ? unix_seconds(*time) : 0.0;
}

prometheus::Family<prometheus::Gauge>& gauge_family(prometheus::Registry& registry,
                                                    const std::string& name,
                                                    const std::string& help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(registry);
}

void gauge(prometheus::Registry& registry, const std::string& name, const std::string& help,
           double value) {
  gauge_family(registry, name, help).Add({}).Set(value);
}

}  // namespace

std::string render_metrics(const Snapshot& snapshot, const HealthAnswer& health) {
  // A registry of its own per rendering: the snapshot is the source of truth and nothing is kept
  // between scrapes, so the metrics cannot drift from what /health and /v1/status say.
  prometheus::Registry registry;

  gauge_family(registry, "consul_snapshot_build_info",
               "Build information of consul-snapshot; the value is always 1")
      .Add({{"version", snapshot.version}})
      .Set(1);
  gauge(registry, "consul_snapshot_start_time_seconds",
        "Unix time at which the consul-snapshot daemon started", unix_seconds(snapshot.started));
  gauge(registry, "consul_snapshot_is_leader",
        "1 when this replica holds the leader lock and takes the backups, else 0",
        snapshot.is_leader ? 1 : 0);
  gauge(registry, "consul_snapshot_healthy",
        "1 when GET /health answers 200 (the last backup is recent enough), else 0",
        health.healthy() ? 1 : 0);
  gauge(registry, "consul_snapshot_last_success_timestamp_seconds",
        "Unix time at which this process's last successful backup finished; 0 before the first",
        unix_seconds_or_zero(snapshot.last_success
                                 ? std::optional<Clock::time_point>(snapshot.last_success->finished)
                                 : std::nullopt));
  gauge(registry, "consul_snapshot_last_attempt_timestamp_seconds",
        "Unix time at which the last backup attempt (successful or not) started; 0 before the "
        "first",
        unix_seconds_or_zero(snapshot.last_attempt));
  gauge(registry, "consul_snapshot_cluster_last_backup_timestamp_seconds",
        "Unix time of the cluster's last successful backup by any replica (the lastbackup key); "
        "0 when unknown",
        unix_seconds_or_zero(snapshot.cluster_last_backup));
  gauge(registry, "consul_snapshot_last_duration_seconds",
        "Duration of the last backup attempt in seconds; 0 before the first",
        snapshot.last_duration ? snapshot.last_duration->count() : 0.0);
  gauge(registry, "consul_snapshot_last_size_bytes",
        "Stored size in bytes of the last successful backup; 0 before the first",
        snapshot.last_success ? static_cast<double>(snapshot.last_success->size_bytes) : 0.0);

  gauge(registry, "consul_snapshot_last_backup_partial",
        "1 when this process's last successful backup is partial (entries the token could not "
        "read were left out, --allow-partial), else 0",
        snapshot.last_success && snapshot.last_success->partial ? 1 : 0);

  auto& entries = gauge_family(registry, "consul_snapshot_last_entries",
                               "Entries per kind (kv, acl_policies, ...) in the last successful "
                               "backup");
  if (snapshot.last_success) {
    for (const auto& [kind, count] : snapshot.last_success->entries)
      entries.Add({{"kind", kind}}).Set(static_cast<double>(count));
  }

  prometheus::BuildCounter()
      .Name("consul_snapshot_backups_total")
      .Help("Successful backups taken by this process")
      .Register(registry)
      .Add({})
      .Increment(static_cast<double>(snapshot.successes));
  auto& failures = prometheus::BuildCounter()
                       .Name("consul_snapshot_backup_failures_total")
                       .Help(
                           "Failed backup attempts of this process by cause (consul, storage, "
                           "lock, ...)")
                       .Register(registry);
  for (const auto& [cause, count] : snapshot.failures)
    failures.Add({{"cause", cause}}).Increment(static_cast<double>(count));
  gauge(registry, "consul_snapshot_retention_held",
        "1 when the last retention run removed nothing because the newest backup holds far "
        "fewer KV entries or ACL objects than backups it would remove (the log says which; "
        "confirm with prune --confirm-shrink), else 0",
        snapshot.retention_held.empty() ? 0 : 1);
  gauge(registry, "consul_snapshot_consecutive_failures",
        "Failed backup attempts since the last successful one",
        static_cast<double>(snapshot.failures_in_a_row));

  return prometheus::TextSerializer().Serialize(registry.Collect());
}

}  // namespace csnap::daemon
