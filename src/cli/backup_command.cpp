#include <cerrno>
#include <chrono>
#include <ctime>

#include <signal.h>

#include "cli/commands.hpp"
#include "cli/progress.hpp"
#include "cli/setup.hpp"
#include "cli/version.hpp"
#include "ops/backup.hpp"
#include "util/log.hpp"

namespace csnap::cli {
namespace {

Result<ops::BackupOptions> backup_options(const config::Config& config) {
  ops::BackupOptions options;
  CSNAP_ASSIGN_OR_RETURN(options.encryption, encryption_settings(config));
  if (options.encryption.passphrase && !options.encryption.recipients.empty()) {
    return Error(ErrorKind::invalid_argument,
                 "both a passphrase (CRYPTO_PASSWORD) and --encrypt-to recipients are set: age "
                 "encrypts a backup to one or the other; choose one");
  }
  CSNAP_ASSIGN_OR_RETURN(auto kinds, selected_kinds(config));
  options.include_kv = kinds.empty() || kinds.contains("kv");
  options.include_acl = kinds.empty() || kinds.contains("acl");
  options.include_queries = kinds.empty() || kinds.contains("query");
  options.allow_partial = config.boolean("allow-partial");
  options.kv_prefix = config.string("prefix");
  options.key_prefix = config.string("upload-prefix");
  options.hostname = config.string("hostname");
  options.tmp_dir = config.string("tmp-dir");
  options.compression = *codec::parse_compression(config.string("compression"));
  options.tool_version = tool_version;
  return options;
}

Status backup_once(const config::Config& config, const ops::BackupOptions& options) {
  CSNAP_ASSIGN_OR_RETURN(auto consul, connect_consul(config));
  CSNAP_ASSIGN_OR_RETURN(auto storage, open_storage(config));
  Progress progress("backup");
  auto with_progress = options;
  with_progress.progress = progress.callback();
  CSNAP_ASSIGN_OR_RETURN(auto report, ops::run_backup(*consul, *storage, with_progress));
  (void)report;
  log::info("Backup completed successfully");
  return {};
}

// Waits up to `timeout` for SIGINT or SIGTERM (blocked by the caller); true if one came.
bool wait_for_stop_signal(const sigset_t& signals, std::chrono::seconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    auto left = deadline - std::chrono::steady_clock::now();
    if (left <= std::chrono::steady_clock::duration::zero())
      return false;
    auto seconds = std::chrono::duration_cast<std::chrono::seconds>(left);
    auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(left - seconds);
    timespec wait{static_cast<std::time_t>(seconds.count()), static_cast<long>(nanos.count())};
    int signal = ::sigtimedwait(&signals, nullptr, &wait);
    if (signal > 0) {
      log::info("Received signal {}, stopping", signal);
      return true;
    }
    if (errno != EAGAIN && errno != EINTR)
      return false;
  }
}

}  // namespace

Status backup_command(const config::Config& config, const BackupCommand& command) {
  log::info("v{}: Starting Consul Snapshot", tool_version);
  // Options are checked once, before the first backup: a bad one is a configuration error.
  CSNAP_ASSIGN_OR_RETURN(auto options, backup_options(config));
  if (command.once)
    return backup_once(config, options);

  // The daemon: SIGINT and SIGTERM are blocked and only looked at between backups, so a backup
  // in progress always finishes (or fails) whole before the process exits.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  ::pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto interval = config.duration("interval");
  log::debug("Backup starting on interval: {}s", interval.count());
  std::uint64_t failures_in_a_row = 0;
  while (true) {
    auto status = backup_once(config, options);
    std::chrono::seconds wait = interval;
    if (status.ok()) {
      failures_in_a_row = 0;
    } else {
      ++failures_in_a_row;
      log::error("Backup failed ({} in a row): {}", failures_in_a_row, status.error().message());
      // Back off after repeated failures, never beyond a few intervals.
      wait = interval * static_cast<int>(std::min<std::uint64_t>(failures_in_a_row, 4));
    }
    if (wait_for_stop_signal(signals, wait))
      return {};
  }
}

}  // namespace csnap::cli
