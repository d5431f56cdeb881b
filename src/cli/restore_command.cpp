#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include <fmt/format.h>
#include <unistd.h>

#include "cli/command_set.hpp"
#include "cli/commands.hpp"
#include "cli/progress.hpp"
#include "cli/setup.hpp"
#include "cli/table.hpp"
#include "ops/restore.hpp"
#include "util/log.hpp"

namespace csnap::cli {
namespace {

constexpr std::string_view kRestoreExamples = R"(
Examples:
  # restore a backup file, asking first
  consul-snapshot restore ./consul-snapshots/backups/2026/11/27/host.consul.snapshot.1795786800.tar.zst

  # the newest backup in LOCAL_DIR, without asking (scripts, CI)
  consul-snapshot restore latest --yes

  # verify a backup and say what would be written, without writing
  consul-snapshot restore latest --dry-run

  # only app/, and make it exactly as in the backup (keys the backup lacks are deleted)
  consul-snapshot restore latest --prefix app/ --mode replace --yes

  # a copy of app/ under app-copy/
  consul-snapshot restore latest --prefix app/ --transform app/=app-copy/ --yes

  # the original tool's variables
  LOCAL_DIR=/var/backups LOCAL_BACKUP_FILE=backups/2026/11/27/host.consul.snapshot.1795786800.tar.zst \
    consul-snapshot restore --yes)";

namespace fs = std::filesystem;

// LOCAL_BACKUP_FILE names a file inside LOCAL_DIR, as a key or as a path under the directory.
Result<std::string> local_backup_key(const config::Config& config) {
  std::string file = config.get(option::kLocalBackupFile);
  fs::path path(file);
  if (path.is_absolute()) {
    auto root = fs::weakly_canonical(config.get(option::kLocalDir));
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
  std::cerr.flush();
  std::string answer;
  if (!std::getline(std::cin, answer))
    return false;
  return answer == "y" || answer == "Y" || answer == "yes" || answer == "YES";
}

// At most this many keys of each list (skipped, conflicts, failures) are printed.
constexpr std::size_t kMaxNotesShown = 100;

// One line per key: "skip kv \"a/b\": held by session ...".
std::string notes_text(std::string_view what, const std::vector<ops::KvNote>& notes) {
  std::string out;
  for (std::size_t i = 0; i < notes.size() && i < kMaxNotesShown; ++i)
    out += fmt::format("{} kv {:?}: {}\n", what, notes[i].key, notes[i].reason);
  if (notes.size() > kMaxNotesShown) {
    out += fmt::format("... and {} more {} (`consul-snapshot diff` lists every key)\n",
                       notes.size() - kMaxNotesShown, what);
  }
  return out;
}

// What the restore did, per kind, then every key or object it skipped or could not write.
std::string report_text(const ops::RestoreReport& report, bool with_kv) {
  Table table({"kind", "written", "deleted", "unchanged", "skipped", "failed"});
  if (with_kv) {
    table.add({"kv", std::to_string(report.kv.written), std::to_string(report.kv.deleted),
               std::to_string(report.kv.unchanged), std::to_string(report.kv.skipped.size()),
               std::to_string(report.kv.failures())});
  }
  for (const auto& kind : report.others) {
    table.add({kind.kind, std::to_string(kind.create + kind.update), "0",
               std::to_string(kind.unchanged), std::to_string(kind.skip),
               std::to_string(kind.failed)});
  }
  std::string out = table.render();
  out += notes_text("skip", report.kv.skipped);
  out += notes_text("conflict", report.kv.conflicts);
  out += notes_text("failed", report.kv.failed);
  for (const auto& kind : report.others) {
    for (const auto& note : kind.notes)
      out += fmt::format("{} {}\n", kind.kind, note);
  }
  return out;
}

// The error that makes a restore with refused writes exit 1.
Error failure_of(const ops::RestoreReport& report) {
  std::vector<std::string> parts;
  if (!report.kv.conflicts.empty()) {
    parts.push_back(fmt::format(
        "{} keys changed after the plan and were not overwritten (run the restore again to plan "
        "against what is there now, or pass --force to overwrite them)",
        report.kv.conflicts.size()));
  }
  if (!report.kv.failed.empty())
    parts.push_back(fmt::format("kv: Consul refused {} writes", report.kv.failed.size()));
  for (const auto& kind : report.others) {
    if (kind.failed > 0)
      parts.push_back(fmt::format("{}: Consul refused {}", kind.kind, kind.failed));
  }
  std::string message = "the restore is incomplete: ";
  for (std::size_t i = 0; i < parts.size(); ++i)
    message += (i > 0 ? "; " : "") + parts[i];
  return Error(ErrorKind::conflict, message + "; each one is listed above");
}

}  // namespace

Result<ops::LocatedBackup> locate_backup(const config::Config& config, std::string spec) {
  if (spec.empty()) {
    if (!config.is_set(option::kLocalBackupFile)) {
      return Error(ErrorKind::invalid_argument,
                   "name the backup: a key in the storage, 'latest', or a file path (or set "
                   "LOCAL_BACKUP_FILE)");
    }
    CSNAP_ASSIGN_OR_RETURN(spec, local_backup_key(config));
  }
  CSNAP_ASSIGN_OR_RETURN(auto storage, open_storage(config));
  CSNAP_ASSIGN_OR_RETURN(auto encryption, encryption_settings(config));
  CSNAP_ASSIGN_OR_RETURN(
      auto located, ops::locate_backup(*storage, config.get(option::kUploadPrefix), spec,
                                       {.skip_unencrypted = encryption.refuses_unencrypted()}));
  // The source may read from the backend (S3): it keeps the backend alive.
  located.storage = std::move(storage);
  return located;
}

Result<ops::RestoreOptions> restore_options(const config::Config& config) {
  ops::RestoreOptions options;
  options.tmp_dir = config.get(option::kTmpDir);
  options.kv.prefix = config.get(option::kPrefix);
  options.kv.replace = config.get(option::kMode) == "replace";
  if (config.is_set(option::kTransform)) {
    CSNAP_ASSIGN_OR_RETURN(auto transform, ops::parse_transform(config.get(option::kTransform)));
    options.kv.transform_from = std::move(transform.first);
    options.kv.transform_to = std::move(transform.second);
  }
  // The daemon's own keys: a restore never writes or deletes them.
  options.kv.protected_keys = {
      {config.get(option::kLockKey), "the daemon's leader lock (--lock-key); a restore leaves it"},
      {config.get(option::kLastbackupKey),
       "the daemon's last backup time (--lastbackup-key); a restore leaves it"}};
  options.force = config.get(option::kForce);
  CSNAP_ASSIGN_OR_RETURN(options.only, selected_kinds(config));
  CSNAP_ASSIGN_OR_RETURN(options.encryption, encryption_settings(config));
  return options;
}

std::string plan_table(const ops::RestorePreview& preview) {
  Table table({"kind", "create", "update", "delete", "unchanged", "skip"});
  table.add({"kv", std::to_string(preview.kv.create), std::to_string(preview.kv.update),
             std::to_string(preview.kv.remove), std::to_string(preview.kv.unchanged),
             std::to_string(preview.kv.skip)});
  for (const auto& kind : preview.others) {
    table.add({kind.kind, std::to_string(kind.create), std::to_string(kind.update), "0",
               std::to_string(kind.unchanged), std::to_string(kind.skip)});
  }
  return table.render();
}

namespace {

// A backup named by a storage key, "latest", or a local file; "" = LOCAL_BACKUP_FILE.
struct RestoreCommand {
  std::string backup;
};

Status restore_command(const config::Config& config, const RestoreCommand& command) {
  CSNAP_ASSIGN_OR_RETURN(auto options, restore_options(config));
  CSNAP_ASSIGN_OR_RETURN(auto backup, locate_backup(config, command.backup));
  CSNAP_ASSIGN_OR_RETURN(auto consul, connect_consul(config));
  CSNAP_ASSIGN_OR_RETURN(auto prepared, ops::PreparedRestore::prepare(*consul, backup, options));
  const auto& preview = prepared.preview();
  fmt::print("{}{}", plan_table(preview), notes_text("skip", preview.kv.skipped));
  std::fflush(stdout);

  if (config.get(option::kDryRun)) {
    log::info("Dry run: {} keys ({} bytes) verified in {}; nothing was written", preview.kv_entries,
              preview.kv_bytes, backup.name);
    return {};
  }
  if (preview.changes_nothing()) {
    log::info("Consul already matches {}{}; nothing to write", backup.name,
              preview.kv.skip > 0
                  ? fmt::format(" except {} keys a restore leaves alone", preview.kv.skip)
                  : "");
    log::info("Restored 0 keys with 0 errors");
    return {};
  }
  CSNAP_ASSIGN_OR_RETURN(bool confirmed,
                         confirm_on_terminal(preview, consul->address(), config.get(option::kYes)));
  if (!confirmed)
    return Error(ErrorKind::cancelled, "restore cancelled; nothing was written");

  Progress progress("restore", preview.kv.create + preview.kv.update);
  prepared.set_progress(progress.callback());
  CSNAP_ASSIGN_OR_RETURN(auto report, prepared.apply(*consul));
  fmt::print("{}", report_text(report, options.wants("kv")));
  std::fflush(stdout);
  if (report.kv.deleted > 0)
    log::info("Deleted {} keys not in the backup", report.kv.deleted);
  log::info("Restored {} keys with {} errors", report.kv.written, report.failed());
  if (report.failed() > 0)
    return failure_of(report);
  log::info("Restore completed.");
  return {};
}

}  // namespace

void add_restore_command(CommandSet& commands) {
  auto args = std::make_shared<RestoreCommand>();
  auto& app = commands.add({
      .name = "restore",
      .help = "verify a backup completely, compare it with Consul, and write what differs",
      .examples = kRestoreExamples,
      .scope = config::scope_restore,
      .run =
          [args](const config::Config& config) {
            return exit_status(restore_command(config, *args));
          },
  });
  app.add_option("backup", args->backup,
                 "backup to restore: a key in the storage, 'latest', or a file path");
}

}  // namespace csnap::cli
