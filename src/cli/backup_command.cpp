#include <memory>

#include "cli/command_set.hpp"
#include "cli/commands.hpp"
#include "cli/daemon.hpp"
#include "cli/progress.hpp"
#include "cli/setup.hpp"
#include "cli/version.hpp"
#include "ops/backup.hpp"
#include "util/log.hpp"
#include "util/stop.hpp"

namespace csnap::cli {
namespace {

struct BackupCommand {
  bool once = false;
};

constexpr std::string_view kBackupExamples = R"(
Examples:
  # one backup of a local agent into ./consul-snapshots
  consul-snapshot backup --once

  # the original tool's daemon: a backup every BACKUPINTERVAL seconds
  CONSUL_HTTP_ADDR=consul.service:8500 BACKUPINTERVAL=300 LOCAL_DIR=/var/backups consul-snapshot backup

  # with an ACL token read from a file
  CONSUL_HTTP_TOKEN_FILE=/etc/consul-snapshot/token consul-snapshot backup --once

  # the KV store, ACLs and queries, and Consul's own Raft snapshot (a token with acl = "write")
  consul-snapshot backup --once --mode both)";

Result<ops::BackupOptions> backup_options(const config::Config& config) {
  ops::BackupOptions options;
  CSNAP_ASSIGN_OR_RETURN(options.encryption, encryption_settings(config));
  if (options.encryption.passphrase && !options.encryption.recipients.empty()) {
    return Error(ErrorKind::invalid_argument,
                 "both a passphrase (CRYPTO_PASSWORD) and --encrypt-to recipients are set: age "
                 "encrypts a backup to one or the other; choose one");
  }
  CSNAP_ASSIGN_OR_RETURN(options.mode, ops::parse_backup_mode(config.get(option::kBackupMode)));
  CSNAP_ASSIGN_OR_RETURN(auto kinds, selected_kinds(config));
  if (options.mode == ops::BackupMode::raft &&
      (config.is_set(option::kOnly) || config.is_set(option::kPrefix))) {
    return Error(ErrorKind::invalid_argument,
                 "--only and --prefix choose what a logical backup holds, and --mode raft takes "
                 "Consul's whole snapshot: use --mode both, or leave them unset");
  }
  options.include_kv = kinds.empty() || kinds.contains("kv");
  options.include_acl = kinds.empty() || kinds.contains("acl");
  options.include_queries = kinds.empty() || kinds.contains("query");
  options.include_config = kinds.empty() || kinds.contains("config");
  options.raft_stale = config.get(option::kStale);
  options.allow_partial = config.get(option::kAllowPartial);
  options.kv_prefix = config.get(option::kPrefix);
  options.key_prefix = config.get(option::kUploadPrefix);
  options.hostname = config.get(option::kHostname);
  options.tmp_dir = config.get(option::kTmpDir);
  options.compression = *codec::parse_compression(config.get(option::kCompression));
  options.last_backup_key = config.get(option::kLastbackupKey);
  options.tool_version = kToolVersion;
  return options;
}

Status backup_once(const config::Config& config, const ops::BackupOptions& options) {
  CSNAP_ASSIGN_OR_RETURN(auto consul, connect_consul(config));
  CSNAP_ASSIGN_OR_RETURN(auto storage, open_storage(config));
  Progress progress("backup");
  auto with_progress = options;
  with_progress.progress = progress.callback();
  with_progress.stop_reason = [] { return stop_reason(); };
  CSNAP_ASSIGN_OR_RETURN(auto report, ops::run_backup(*consul, *storage, with_progress));
  (void)report;
  log::info("Backup completed successfully");
  return {};
}

Status backup_command(const config::Config& config, const BackupCommand& command) {
  log::info("v{}: Starting Consul Snapshot", kToolVersion);
  // Options are checked once, before the first backup: a bad one is a configuration error.
  CSNAP_ASSIGN_OR_RETURN(auto options, backup_options(config));
  if (command.once)
    return backup_once(config, options);
  return run_daemon(config, options);
}

}  // namespace

void add_backup_command(CommandSet& commands) {
  auto args = std::make_shared<BackupCommand>();
  auto& app = commands.add({
      .name = "backup",
      .help = "take backups: one every --interval (the daemon), or one with --once",
      .examples = kBackupExamples,
      .scope = config::scope_backup,
      .run =
          [args](const config::Config& config) {
            return exit_status(backup_command(config, *args));
          },
      // The daemon waits for SIGINT and SIGTERM itself, to stop within its grace.
      .handles_signals = [args] { return !args->once; },
  });
  app.add_flag("--once", args->once, "take one backup and exit");
}

}  // namespace csnap::cli
