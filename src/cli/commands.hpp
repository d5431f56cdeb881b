#pragma once
// One function per command. Each returns its exit code or an error; only `run` (app.cpp) turns
// errors into exit codes.

#include <string>

#include "config/options.hpp"
#include "ops/locate.hpp"
#include "ops/restore.hpp"
#include "util/result.hpp"

namespace csnap::cli {

struct BackupCommand {
  bool once = false;
};

// Commands that name a backup: a storage key, "latest", or a local file; "" = LOCAL_BACKUP_FILE.
struct RestoreCommand {
  std::string backup;
};

struct ReportCommand {
  std::string backup;
  bool json = false;
  bool exit_code = false;  // diff: exit 1 when there are differences
};

Status backup_command(const config::Config& config, const BackupCommand& command);
Status restore_command(const config::Config& config, const RestoreCommand& command);
Result<int> diff_command(const config::Config& config, const ReportCommand& command);
Status inspect_command(const config::Config& config, const ReportCommand& command);
Status list_command(const config::Config& config, const ReportCommand& command);
Status version_command();

// Shared by the commands that read a backup.
Result<ops::LocatedBackup> locate_backup(const config::Config& config, std::string spec);
Result<ops::RestoreOptions> restore_options(const config::Config& config);
std::string plan_table(const ops::RestorePreview& preview);

// Exit codes of SPEC.md section 2.
enum ExitCode : int {
  exit_ok = 0,
  exit_failed = 1,
  exit_usage = 2,
  exit_verification = 3,
};

int exit_code_for(const Error& error);

// prune: apply the retention policy now. Exit 2 without a policy, 1 when a removal failed.
struct PruneCommand {
  bool dry_run = false;  // list what would be removed, remove nothing
  bool json = false;
};

Result<int> prune_command(const config::Config& config, const PruneCommand& command);

}  // namespace csnap::cli
