#include <filesystem>
#include <iostream>
#include <string>

#include <fmt/format.h>
#include <unistd.h>

#include "cli/commands.hpp"
#include "cli/progress.hpp"
#include "cli/setup.hpp"
#include "cli/table.hpp"
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
      "Apply this plan from {} to Consul at {}: create {}, update {}, delete {} keys? [y/N] ",
      preview.name, address, preview.kv.create, preview.kv.update, preview.kv.remove);
  std::string answer;
  if (!std::getline(std::cin, answer))
    return false;
  return answer == "y" || answer == "Y" || answer == "yes" || answer == "YES";
}

}  // namespace

Result<ops::LocatedBackup> locate_backup(const config::Config& config, std::string spec) {
  if (spec.empty()) {
    if (!config.is_set("local-backup-file")) {
      return Error(ErrorKind::invalid_argument,
                   "name the backup: a key in the storage, 'latest', or a file path (or set "
                   "LOCAL_BACKUP_FILE)");
    }
    CSNAP_ASSIGN_OR_RETURN(spec, local_backup_key(config));
  }
  CSNAP_ASSIGN_OR_RETURN(auto storage, open_storage(config));
  CSNAP_ASSIGN_OR_RETURN(auto encryption, encryption_settings(config));
  CSNAP_ASSIGN_OR_RETURN(
      auto located, ops::locate_backup(*storage, config.string("upload-prefix"), spec,
                                       {.skip_unencrypted = encryption.refuses_unencrypted()}));
  // The source may read from the backend (S3): it keeps the backend alive.
  located.storage = std::move(storage);
  return located;
}

Result<ops::RestoreOptions> restore_options(const config::Config& config) {
  ops::RestoreOptions options;
  options.tmp_dir = config.string("tmp-dir");
  options.kv.prefix = config.string("prefix");
  options.kv.replace = config.string("mode") == "replace";
  if (config.is_set("transform")) {
    CSNAP_ASSIGN_OR_RETURN(auto transform, ops::parse_transform(config.string("transform")));
    options.kv.transform_from = std::move(transform.first);
    options.kv.transform_to = std::move(transform.second);
  }
  CSNAP_ASSIGN_OR_RETURN(options.only, selected_kinds(config));
  CSNAP_ASSIGN_OR_RETURN(options.encryption, encryption_settings(config));
  return options;
}

std::string plan_table(const ops::RestorePreview& preview) {
  Table table({"kind", "create", "update", "delete", "unchanged", "skip"});
  table.add({"kv", std::to_string(preview.kv.create), std::to_string(preview.kv.update),
             std::to_string(preview.kv.remove), std::to_string(preview.kv.unchanged), "0"});
  for (const auto& kind : preview.others) {
    table.add({kind.kind, std::to_string(kind.create), std::to_string(kind.update), "0",
               std::to_string(kind.unchanged), std::to_string(kind.skip)});
  }
  return table.render();
}

Status restore_command(const config::Config& config, const RestoreCommand& command) {
  CSNAP_ASSIGN_OR_RETURN(auto options, restore_options(config));
  CSNAP_ASSIGN_OR_RETURN(auto backup, locate_backup(config, command.backup));
  CSNAP_ASSIGN_OR_RETURN(auto consul, connect_consul(config));
  CSNAP_ASSIGN_OR_RETURN(auto prepared, ops::PreparedRestore::prepare(*consul, backup, options));
  const auto& preview = prepared.preview();
  fmt::print("{}", plan_table(preview));
  std::fflush(stdout);

  if (config.boolean("dry-run")) {
    log::info("Dry run: {} keys ({} bytes) verified in {}; nothing was written", preview.kv_entries,
              preview.kv_bytes, backup.name);
    return {};
  }
  if (preview.changes_nothing()) {
    log::info("Consul already matches {}; nothing to write", backup.name);
    log::info("Restored 0 keys with 0 errors");
    return {};
  }
  CSNAP_ASSIGN_OR_RETURN(bool confirmed,
                         confirm_on_terminal(preview, consul->address(), config.boolean("yes")));
  if (!confirmed)
    return Error(ErrorKind::cancelled, "restore cancelled; nothing was written");

  Progress progress("restore", preview.kv.create + preview.kv.update);
  prepared.set_progress(progress.callback());
  CSNAP_ASSIGN_OR_RETURN(auto report, prepared.apply(*consul));
  if (report.kv.deleted > 0)
    log::info("Deleted {} keys not in the backup", report.kv.deleted);
  log::info("Restored {} keys with 0 errors", report.kv.written);
  log::info("Restore completed.");
  return {};
}

}  // namespace csnap::cli
