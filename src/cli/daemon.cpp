#include "cli/daemon.hpp"

#include <chrono>
#include <csignal>
#include <optional>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <unistd.h>

#include "cli/setup.hpp"
#include "cli/version.hpp"
#include "daemon/backup_catalog.hpp"
#include "daemon/http_server.hpp"
#include "daemon/leader.hpp"
#include "daemon/scheduler.hpp"
#include "daemon/service.hpp"
#include "daemon/state.hpp"
#include "ops/naming.hpp"
#include "ops/retention.hpp"
#include "util/log.hpp"

namespace csnap::cli {
namespace {

// The options the daemon reads itself (the backup's are in ops::BackupOptions, the storage's and
// Consul's in setup.cpp); their defaults are the option table's.
struct DaemonSettings {
  daemon::SchedulerOptions scheduler{};  // --interval, --lock-key
  bool lock{};
  std::chrono::seconds lock_ttl{};
  std::chrono::seconds lock_delay{};
  std::string http_addr{};
  std::chrono::seconds health_max_age{};
  bool register_service{};
  std::string service_name{};
  bool confirm_shrink{};
  std::chrono::seconds shutdown_grace{};
};

// Every read of those options, in one place.

DaemonSettings read_daemon_settings(const config::Config& config) {
  DaemonSettings settings;
  settings.scheduler.interval = config.get(option::kInterval);
  settings.scheduler.lock_key = config.get(option::kLockKey);
  settings.scheduler.last_backup_key = config.get(option::kLastbackupKey);
  settings.lock = config.get(option::kLock);
  settings.lock_ttl = config.get(option::kLockTtl);
  settings.lock_delay = config.get(option::kLockDelay);
  settings.http_addr = config.get(option::kHttpAddr);
  settings.health_max_age = config.get(option::kHealthMaxAge);
  settings.register_service = config.get(option::kRegisterService);
  settings.service_name = config.get(option::kServiceName);
  settings.confirm_shrink = config.get(option::kConfirmShrink);
  settings.shutdown_grace = config.get(option::kShutdownGrace);
  return settings;
}

// The scheduler's steps against the configured Consul and storage.
class DaemonSteps final : public daemon::BackupSteps {
 public:
  DaemonSteps(const config::Config& config, ops::BackupOptions options, daemon::State& state,
              std::optional<ops::RetentionPolicy> retention, bool confirm_shrink,
              daemon::BackupCatalog& catalog)
      : config_(config),
        options_(std::move(options)),
        state_(state),
        retention_(retention),
        confirm_shrink_(confirm_shrink),
        catalog_(catalog) {}

  Status connect() override {
    CSNAP_ASSIGN_OR_RETURN(consul_, connect_consul(config_));
    return {};
  }

  // Every replica's health reflects the cluster's last backup, read from the lastbackup key.
  std::optional<std::string> read_cluster_last_backup() override {
    auto entry = consul_->kv_get(options_.last_backup_key);
    if (!entry.ok()) {
      log::debug("Reading {} failed: {}", options_.last_backup_key, entry.error().message());
      return std::nullopt;
    }
    if (!entry->has_value())
      return std::nullopt;
    return (*entry)->value;
  }

  // The storage is opened once and kept, so that its connection and credentials (an STS or
  // instance-profile answer) serve every backup; a failed open is tried again next time.
  Status open_storage() override {
    if (!storage_) {
      CSNAP_ASSIGN_OR_RETURN(storage_, cli::open_storage(config_));
    }
    return {};
  }

  Result<daemon::BackupOutcome> back_up(const daemon::BackupControl& control) override {
    ops::BackupOptions options = options_;
    options.stop_reason = control.stop_reason;
    options.confirm_commit = control.confirm_commit;
    CSNAP_ASSIGN_OR_RETURN(auto report, ops::run_backup(*consul_, *storage_, options));
    daemon::BackupOutcome outcome;
    outcome.key = report.key;
    outcome.size_bytes = report.bytes;
    outcome.entries = report.counts;
    outcome.partial = report.partial;
    return outcome;
  }

  // The backup just written is never removed, even if a replica with a clock ahead wrote one
  // with a later time. The shrink guard takes the counts of the backups this process wrote from
  // its history (no decryption, and it works with --encrypt-to alone), the others' from their
  // meta.json when the configured key can read them.
  void prune(const daemon::BackupOutcome& written) override {
    if (!retention_)
      return;
    ops::PruneOptions prune_options;
    prune_options.protect = {written.key};
    for (const auto& attempt : state_.snapshot().history) {
      if (attempt.succeeded)
        prune_options.known_counts[attempt.key] = attempt.entries;
    }
    prune_options.read_counts =
        ops::meta_counts_reader(*storage_, options_.encryption, options_.tmp_dir);
    prune_options.confirm_shrink = confirm_shrink_;
    auto pruned = ops::prune(*storage_, options_.key_prefix, *retention_, prune_options);
    if (!pruned.ok()) {
      log::warn("Retention ({}) failed: {}", retention_->describe(), pruned.error().message());
      return;
    }
    state_.set_retention_held(pruned->held ? pruned->held->describe() : std::string());
    for (const auto& [key, why] : pruned->failures)
      log::warn("Retention: removing {} failed: {}", key, why);
    if (pruned->removed > 0) {
      log::info("Retention ({}): removed {} backups ({} bytes), kept {}", retention_->describe(),
                pruned->removed, pruned->bytes_freed, pruned->kept);
    }
  }

  void refresh_listing() override { catalog_.refresh(); }

  void end_turn() override { consul_.reset(); }

 private:
  const config::Config& config_;
  const ops::BackupOptions options_;
  daemon::State& state_;
  const std::optional<ops::RetentionPolicy> retention_;
  const bool confirm_shrink_;
  daemon::BackupCatalog& catalog_;
  std::unique_ptr<consul::Client> consul_;  // this turn's
  std::unique_ptr<storage::Backend> storage_;
};

// A client for the leader lock's requests: each times out within a fraction of the TTL and is not
// retried, so that no request outlives the lease (--consul-timeout is for the backup's reads).
Result<std::unique_ptr<consul::Client>> connect_consul_for_lock(const config::Config& config,
                                                                std::chrono::seconds ttl) {
  CSNAP_TRY(connect_consul(config));  // the same checks, and their exit code
  consul::Settings settings = consul_settings(config);
  settings.request_timeout = daemon::lock_request_timeout(ttl);
  settings.max_attempts = 1;
  return consul::Client::create(settings);
}

Result<std::unique_ptr<daemon::LeaderLock>> make_lock(const config::Config& config,
                                                      const DaemonSettings& settings,
                                                      const std::string& host,
                                                      daemon::State& state) {
  if (!settings.lock)
    return std::unique_ptr<daemon::LeaderLock>();
  auto ttl = settings.lock_ttl;  // the table holds it to Consul's range, 10s to 24h
  CSNAP_ASSIGN_OR_RETURN(auto consul, connect_consul_for_lock(config, ttl));
  CSNAP_ASSIGN_OR_RETURN(auto renewer, connect_consul_for_lock(config, ttl));
  daemon::LeaderLockOptions options;
  options.on_lost = [&state] { state.set_leader(false); };
  options.key = settings.scheduler.lock_key;
  options.ttl = ttl;
  options.lock_delay = settings.lock_delay;
  options.holder =
      fmt::format(R"({{"host":"{}","pid":{},"version":"{}"}})", host, ::getpid(), kToolVersion);
  return std::make_unique<daemon::LeaderLock>(std::move(consul), std::move(renewer),
                                              std::move(options));
}

// The backups in the storage, newest first, for the daemon's pages (through a BackupCatalog, which
// calls it on one thread at a time). It has a storage of its own, opened on first use and kept.
class StorageLister {
 public:
  StorageLister(const config::Config& config, const std::string& prefix)
      : config_(config), prefix_(prefix.empty() || prefix.ends_with('/') ? prefix : prefix + "/") {}

  Result<daemon::BackupListing> list() {
    if (!storage_) {
      CSNAP_ASSIGN_OR_RETURN(storage_, open_storage(config_));
    }
    CSNAP_ASSIGN_OR_RETURN(auto objects, storage_->list(prefix_));
    daemon::BackupListing listing;
    listing.storage = storage_->describe();
    std::vector<std::pair<std::int64_t, const storage::ObjectInfo*>> dated;
    for (const auto& object : objects) {
      if (auto time = ops::backup_time_from_key(object.key))
        dated.emplace_back(*time, &object);
    }
    ops::sort_newest_first(dated, [](const auto& backup) {
      return ops::BackupSortKey{backup.first, backup.second->key};
    });
    for (const auto& [time, object] : dated) {
      listing.backups.push_back({.key = object->key,
                                 .size_bytes = object->size,
                                 .time = daemon::Clock::time_point(std::chrono::seconds(time))});
    }
    return listing;
  }

 private:
  const config::Config& config_;
  const std::string prefix_;
  std::unique_ptr<storage::Backend> storage_;
};

// Waits for SIGINT or SIGTERM (blocked in every thread).
int wait_for_signal(const sigset_t& signals) {
  while (true) {
    int signal = 0;
    if (::sigwait(&signals, &signal) == 0)
      return signal;
  }
}

}  // namespace

Status run_daemon(const config::Config& config, const ops::BackupOptions& options) {
  // Blocked before any thread starts, so that every thread inherits the mask and only
  // wait_for_signal sees these.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  ::pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  const DaemonSettings settings = read_daemon_settings(config);
  const std::string host = options.hostname.empty() ? ops::local_hostname() : options.hostname;
  CSNAP_ASSIGN_OR_RETURN(auto retention, retention_policy(config));
  daemon::State state(kToolVersion, settings.lock);
  CSNAP_ASSIGN_OR_RETURN(auto lock, make_lock(config, settings, host, state));

  // Outlive the server, which calls them.
  StorageLister lister(config, options.key_prefix);
  daemon::BackupCatalog catalog([&lister] { return lister.list(); });
  std::unique_ptr<daemon::HttpServer> server;
  const std::string& http_addr = settings.http_addr;
  if (http_addr != "off" && !http_addr.empty()) {
    daemon::HttpServerOptions server_options;
    server_options.health_max_age = settings.health_max_age;
    server_options.list_backups = [&catalog] { return catalog.current(); };
    CSNAP_ASSIGN_OR_RETURN(server, daemon::HttpServer::start(http_addr, state, server_options));
    log::info("Serving /, /health, /metrics, /v1/status and /v1/backups on http://{}",
              server->address());
  }

  std::optional<daemon::ServiceRegistration> registration;
  std::unique_ptr<consul::Client> agent;
  if (settings.register_service) {
    if (!server) {
      return Error(ErrorKind::invalid_argument,
                   "--register-service needs the HTTP server for its check: set --http-addr");
    }
    CSNAP_ASSIGN_OR_RETURN(agent, connect_consul(config));
    registration =
        daemon::make_registration(settings.service_name, host, http_addr, server->port());
    CSNAP_TRY(daemon::register_service(*agent, *registration));
    log::info("Registered service {} (id {}) with a check on {}", registration->name,
              registration->id, registration->check_url);
  }

  log::debug("Backup starting on interval: {}s", settings.scheduler.interval.count());
  DaemonSteps steps(config, options, state, retention, settings.confirm_shrink, catalog);
  daemon::SystemSchedulerClock clock;
  daemon::Scheduler scheduler(settings.scheduler, steps, lock.get(), state, clock);
  std::thread worker([&scheduler] { scheduler.run(); });

  int signal = wait_for_signal(signals);
  log::info("Received signal {}, stopping (a backup in flight has {}s to finish)", signal,
            settings.shutdown_grace.count());
  scheduler.request_stop(settings.shutdown_grace);
  worker.join();

  if (registration) {
    auto done = daemon::deregister_service(*agent, *registration);
    if (!done.ok())
      log::warn("{}", done.error().message());
  }
  if (server)
    server->stop();
  log::info("Stopped");
  return {};
}

}  // namespace csnap::cli
