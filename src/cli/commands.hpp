#pragma once
// What the command files share: locating a backup, the restore options, the plan's table, exit
// codes. Each command itself is private to its file, which registers it (cli/command_set.hpp);
// only `run` (app.cpp) turns errors into exit codes.

#include <string>

#include "config/options.hpp"
#include "ops/locate.hpp"
#include "ops/restore.hpp"
#include "util/result.hpp"

namespace csnap::cli {

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

}  // namespace csnap::cli
