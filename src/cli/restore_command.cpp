#include <filesystem>
#include <iostream>
#include <string>

#include <fmt/format.h>
#include <unistd.h>

#include "cli/commands.hpp"
#include "cli/setup.hpp"
#include "ops/restore.hpp"
#include "util/log.hpp"

namespace csnap::cli {
namespace {

namespace fs = std::filesystem;

// LOCAL_BACKUP_FILE names a file inside LOCAL_DIR, as a key or as a path under the directory.
Result<std::string> local_backup_key(const config::Config& config) {
  std::string file = config.string("local-backup-file");
  fs::path path(file);
  if (path.is_absolute()) {
    auto root = fs::weakly_canonical(config.string("local-dir"));
    auto relative = fs::weakly_canonical(path).lexically_relative(root);
    if (relative.empty() || *relative.begin() == "..") {
      return Error(
          ErrorKind::invalid_argument,
          fmt::format("LOCAL_BACKUP_FILE {} is not inside LOCAL_DIR {}", file, root.string()));
    }
    return relative.generic_string();
  }
  if (!storage::validate_key(file).ok()) {
    return Error(ErrorKind::invalid_argument,
                 fmt::format("LOCAL_BACKUP_FILE '{}' must name a file inside LOCAL_DIR, without "
                             "'.' or '..' parts",
                             file));
  }
  return file;
}

Result<bool> confirm_on_terminal(const ops::RestorePreview& preview, const std::string& address,
                                 bool assume_yes) {
  if (assume_yes)
    return true;
  if (!::isatty(STDIN_FILENO) || !::isatty(STDERR_FILENO)) {
    return Error(ErrorKind::invalid_argument,
                 "not asking for confirmation without a terminal: pass --yes (or set "
                 "CONSUL_SNAPSHOT_ASSUME_YES=true) to restore, or --dry-run to only verify");
  }
  std::cerr << fmt::format(
      "Restore {} keys ({} bytes) from {} into Consul at {}? Existing keys with the same names "
      "are overwritten. [y/N] ",
      preview.kv_entries, preview.kv_bytes, preview.name, address);
  std::string answer;
  if (!std::getline(std::cin, answer))
    return false;
  return answer == "y" || answer == "Y" || answer == "yes" || answer == "YES";
}

}  // namespace

Status restore_command(const config::Config& config, const RestoreCommand& command) {
  std::string spec = command.backup;
  if (spec.empty()) {
    if (!config.is_set("local-backup-file")) {
      return Error(ErrorKind::invalid_argument,
                   "name the backup to restore: consul-snapshot restore <key|latest|file>, or set "
                   "LOCAL_BACKUP_FILE");
    }
    CSNAP_ASSIGN_OR_RETURN(spec, local_backup_key(config));
  }

  auto storage = open_storage(config);
  log::debug("Starting restore of {}", spec);
  CSNAP_ASSIGN_OR_RETURN(auto backup,
                         ops::locate_backup(*storage, config.string("upload-prefix"), spec));
  CSNAP_ASSIGN_OR_RETURN(auto consul, connect_consul(config));

  ops::RestoreOptions options;
  options.tmp_dir = config.string("tmp-dir");
  options.dry_run = config.boolean("dry-run");
  const bool assume_yes = config.boolean("yes");
  const std::string address = consul->address();
  options.confirm = [&](const ops::RestorePreview& preview) {
    return confirm_on_terminal(preview, address, assume_yes);
  };
  CSNAP_ASSIGN_OR_RETURN(auto report, ops::run_restore(*consul, backup, options));
  if (options.dry_run) {
    log::info("Dry run: {} keys ({} bytes) verified in {}; nothing was written",
              report.preview.kv_entries, report.preview.kv_bytes, backup.name);
    return {};
  }
  if (!report.applied) {
    return Error(ErrorKind::cancelled, "restore cancelled; nothing was written");
  }
  log::info("Restored {} keys with 0 errors", report.kv_written);
  log::info("Restore completed.");
  return {};
}

}  // namespace csnap::cli
