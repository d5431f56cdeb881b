#include "cli/daemon.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <signal.h>
#include <unistd.h>

#include "cli/setup.hpp"
#include "cli/version.hpp"
#include "daemon/backup_catalog.hpp"
#include "daemon/http_server.hpp"
#include "daemon/leader.hpp"
#include "daemon/service.hpp"
#include "daemon/state.hpp"
#include "ops/naming.hpp"
#include "ops/retention.hpp"
#include "util/log.hpp"
#include "util/text.hpp"

namespace csnap::cli {
namespace {

using SteadyClock = std::chrono::steady_clock;

// A failure's cause for the metrics: the error kind, as a label value.
std::string failure_cause(const Error& error) {
  std::string cause(to_string(error.kind()));
  for (char& c : cause) {
    if (c == ' ')
      c = '_';
  }
  return cause;
}

// The stop request shared by the signal-waiting main thread and the backup loop.
class Shutdown {
 public:
  void request(std::chrono::seconds grace) {
    {
      std::lock_guard lock(mutex_);
      abort_at_ = SteadyClock::now() + grace;
      requested_ = true;
    }
    wake_.notify_all();
  }
  bool requested() const {
    std::lock_guard lock(mutex_);
    return requested_;
  }
  // Past the grace period: a backup in flight must be abandoned.
  bool grace_over() const {
    std::lock_guard lock(mutex_);
    return requested_ && SteadyClock::now() >= abort_at_;
  }
  // Waits `duration` or until a stop is requested; true if one was.
  bool wait(std::chrono::seconds duration) {
    std::unique_lock lock(mutex_);
    return wake_.wait_for(lock, duration, [this] { return requested_; });
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool requested_ = false;
  SteadyClock::time_point abort_at_{};
};

class BackupLoop {
 public:
  BackupLoop(const config::Config& config, ops::BackupOptions options, daemon::State& state,
             Shutdown& shutdown, std::unique_ptr<daemon::LeaderLock> lock,
             std::optional<ops::RetentionPolicy> retention, daemon::BackupCatalog& catalog)
      : config_(config),
        options_(std::move(options)),
        state_(state),
        shutdown_(shutdown),
        lock_(std::move(lock)),
        retention_(std::move(retention)),
        catalog_(catalog) {
    options_.stop_reason = [this]() -> std::string {
      if (shutdown_.grace_over())
        return "shutting down, and the grace period (--shutdown-grace) is over";
      if (lock_ && lock_->lost())
        return "this daemon lost the leader lock (its session is gone or could not be renewed "
               "within the TTL)";
      return {};
    };
    // Two daemons never both commit: a fresh read of the lock key right before the commit.
    if (lock_)
      options_.confirm_commit = [this] { return lock_->confirm(); };
  }

  void run() {
    const auto interval = config_.duration("interval");
    while (!shutdown_.requested()) {
      auto wait = tick(interval);
      if (shutdown_.wait(wait))
        break;
    }
    if (lock_) {
      lock_->release();
      state_.set_leader(false);
    }
  }

 private:
  // One turn: take the lock if we can, back up if we lead. Returns how long to wait.
  std::chrono::seconds tick(std::chrono::seconds interval) {
    auto consul = connect_consul(config_);
    if (!consul.ok())
      return failed(consul.error(), "connecting to Consul", SteadyClock::now(), interval);

    // The lock first: its requests time out within a fraction of the TTL, so a daemon cut off
    // from Consul says so (not leader, a failure counted) at once rather than after the long
    // timeouts of the other requests.
    bool leader = true;
    if (lock_) {
      auto led = lead();
      if (!led.ok()) {
        state_.set_leader(false);
        return failed(led.error(), "the leader lock", SteadyClock::now(), interval);
      }
      leader = *led;
    }
    refresh_cluster_last_backup(**consul);
    if (!leader)
      return interval;
    return backup(std::move(*consul), interval);
  }

  // True when this daemon holds the lock (now or after acquiring it).
  Result<bool> lead() {
    bool was_leader = state_.snapshot().is_leader;
    CSNAP_ASSIGN_OR_RETURN(bool held, lock_->held());
    if (!held) {
      CSNAP_ASSIGN_OR_RETURN(held, lock_->acquire());
    }
    if (held != was_leader) {
      if (held) {
        log::info("This daemon is the leader now (lock {}, session {}): it takes the backups",
                  config_.string("lock-key"), lock_->session_id());
      } else {
        log::info("Another daemon holds the leader lock {}: waiting", config_.string("lock-key"));
      }
      state_.set_leader(held);
    }
    return held;
  }

  std::chrono::seconds backup(std::unique_ptr<consul::Client> consul,
                              std::chrono::seconds interval) {
    const auto started = SteadyClock::now();
    const auto started_at = daemon::Clock::now();
    state_.attempt_started(started_at);
    // The storage is opened once and kept, so that its connection and credentials (an STS or
    // instance-profile answer) serve every backup; a failed open is tried again next time.
    if (!storage_) {
      auto opened = open_storage(config_);
      if (!opened.ok())
        return failed(opened.error(), "opening the storage", started, interval);
      storage_ = std::move(*opened);
    }
    auto report = ops::run_backup(*consul, *storage_, options_);
    if (!report.ok())
      return failed(report.error(), "backup", started, interval);
    log::info("Backup completed successfully");

    daemon::BackupOutcome outcome;
    outcome.started = started_at;
    outcome.finished = daemon::Clock::now();
    outcome.key = report->key;
    outcome.size_bytes = report->bytes;
    outcome.entries = report->counts;
    outcome.partial = report->partial;
    state_.succeeded(outcome);

    if (retention_)
      apply_retention(*storage_, report->key);
    catalog_.refresh();
    return interval;
  }

  // The backup just written is never removed, even if a replica with a clock ahead wrote one
  // with a later time. The shrink guard takes the counts of the backups this process wrote from
  // its history (no decryption, and it works with --encrypt-to alone), the others' from their
  // meta.json when the configured key can read them.
  void apply_retention(storage::Backend& storage, const std::string& written) {
    ops::PruneOptions prune_options;
    prune_options.protect = {written};
    for (const auto& attempt : state_.snapshot().history) {
      if (attempt.succeeded)
        prune_options.known_counts[attempt.key] = attempt.entries;
    }
    prune_options.read_counts =
        ops::meta_counts_reader(storage, options_.encryption, options_.tmp_dir);
    prune_options.confirm_shrink = config_.boolean("confirm-shrink");
    auto pruned = ops::prune(storage, options_.key_prefix, *retention_, prune_options);
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

  std::chrono::seconds failed(const Error& error, std::string_view step,
                              SteadyClock::time_point started, std::chrono::seconds interval) {
    state_.failed(failure_cause(error), error.message(),
                  std::chrono::duration<double>(SteadyClock::now() - started));
    auto in_a_row = state_.snapshot().failures_in_a_row;
    if (error.kind() == ErrorKind::cancelled) {
      log::warn("{}", error.message());
    } else {
      log::error("Backup failed ({} in a row, at {}): {}", in_a_row, step, error.message());
    }
    // Back off after repeated failures, never beyond four intervals.
    return interval * static_cast<int>(std::min<std::uint64_t>(in_a_row, 4));
  }

  // Every replica's health reflects the cluster's last backup, read from the lastbackup key.
  void refresh_cluster_last_backup(consul::Client& consul) {
    auto entry = consul.kv_get(options_.last_backup_key);
    if (!entry.ok()) {
      log::debug("Reading {} failed: {}", options_.last_backup_key, entry.error().message());
      return;
    }
    if (!entry->has_value())
      return;
    auto when = daemon::parse_last_backup((*entry)->value);
    if (!when)
      return;
    if (state_.offer_cluster_last_backup(*when, daemon::Clock::now()) ==
        daemon::LastBackupOffer::ignored) {
      log::warn(
          "Ignoring {} = {} ({}): it is in the future, more than {}s ahead of this clock (a "
          "wrong clock on the replica that wrote it, or a forged value); /health counts only "
          "backups that have happened",
          options_.last_backup_key, trim((*entry)->value), daemon::format_utc(*when),
          daemon::max_clock_skew.count());
    }
  }

  const config::Config& config_;
  ops::BackupOptions options_;
  daemon::State& state_;
  Shutdown& shutdown_;
  std::unique_ptr<daemon::LeaderLock> lock_;
  std::optional<ops::RetentionPolicy> retention_;
  daemon::BackupCatalog& catalog_;
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
                                                      const std::string& host,
                                                      daemon::State& state) {
  if (!config.boolean("lock"))
    return std::unique_ptr<daemon::LeaderLock>();
  auto ttl = config.duration("lock-ttl");
  if (ttl < std::chrono::seconds(10) || ttl > std::chrono::hours(24)) {
    return Error(ErrorKind::invalid_argument,
                 fmt::format("lock-ttl: {}s is outside Consul's range for a session TTL (10s to "
                             "24h)",
                             ttl.count()));
  }
  CSNAP_ASSIGN_OR_RETURN(auto consul, connect_consul_for_lock(config, ttl));
  CSNAP_ASSIGN_OR_RETURN(auto renewer, connect_consul_for_lock(config, ttl));
  daemon::LeaderLockOptions options;
  options.on_lost = [&state] { state.set_leader(false); };
  options.key = config.string("lock-key");
  options.ttl = ttl;
  options.lock_delay = config.duration("lock-delay");
  options.holder =
      fmt::format(R"({{"host":"{}","pid":{},"version":"{}"}})", host, ::getpid(), tool_version);
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

  const std::string host = options.hostname.empty() ? ops::local_hostname() : options.hostname;
  CSNAP_ASSIGN_OR_RETURN(auto retention, retention_policy(config));
  daemon::State state(tool_version, config.boolean("lock"));
  CSNAP_ASSIGN_OR_RETURN(auto lock, make_lock(config, host, state));

  // Outlive the server, which calls them.
  StorageLister lister(config, options.key_prefix);
  daemon::BackupCatalog catalog([&lister] { return lister.list(); });
  std::unique_ptr<daemon::HttpServer> server;
  auto http_addr = config.string("http-addr");
  if (http_addr != "off" && !http_addr.empty()) {
    daemon::HttpServerOptions server_options;
    server_options.health_max_age = config.duration("health-max-age");
    server_options.list_backups = [&catalog] { return catalog.current(); };
    CSNAP_ASSIGN_OR_RETURN(server, daemon::HttpServer::start(http_addr, state, server_options));
    log::info("Serving /, /health, /metrics, /v1/status and /v1/backups on http://{}",
              server->address());
  }

  std::optional<daemon::ServiceRegistration> registration;
  std::unique_ptr<consul::Client> agent;
  if (config.boolean("register-service")) {
    if (!server) {
      return Error(ErrorKind::invalid_argument,
                   "--register-service needs the HTTP server for its check: set --http-addr");
    }
    CSNAP_ASSIGN_OR_RETURN(agent, connect_consul(config));
    registration =
        daemon::make_registration(config.string("service-name"), host, http_addr, server->port());
    CSNAP_TRY(daemon::register_service(*agent, *registration));
    log::info("Registered service {} (id {}) with a check on {}", registration->name,
              registration->id, registration->check_url);
  }

  log::debug("Backup starting on interval: {}s", config.duration("interval").count());
  Shutdown shutdown;
  BackupLoop loop(config, options, state, shutdown, std::move(lock), std::move(retention), catalog);
  std::thread worker([&loop] { loop.run(); });

  int signal = wait_for_signal(signals);
  auto grace = config.duration("shutdown-grace");
  log::info("Received signal {}, stopping (a backup in flight has {}s to finish)", signal,
            grace.count());
  shutdown.request(grace);
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
