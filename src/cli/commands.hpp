#pragma once
// One function per command. Each returns a Status; only `run` (app.cpp) turns errors into exit
// codes.

#include <string>

#include "config/options.hpp"
#include "util/result.hpp"

namespace csnap::cli {

struct BackupCommand {
  bool once = false;
};

struct RestoreCommand {
  std::string backup;  // storage key, "latest", or a local file; "" = LOCAL_BACKUP_FILE
};

Status backup_command(const config::Config& config, const BackupCommand& command);
Status restore_command(const config::Config& config, const RestoreCommand& command);
Status version_command();

// Exit codes of SPEC.md section 2.
enum ExitCode : int {
  exit_ok = 0,
  exit_failed = 1,
  exit_usage = 2,
  exit_verification = 3,
};

int exit_code_for(const Error& error);

}  // namespace csnap::cli
