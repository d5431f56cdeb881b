#include "cli/app.hpp"

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <ctime>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cli/commands.hpp"
#include "config/options.hpp"
#include "util/log.hpp"
#include "util/stop.hpp"

namespace csnap::cli {
namespace {

constexpr std::string_view exit_codes_help = R"(
Exit codes:
  0  success
  1  the command failed (Consul or storage error, failed writes)
  2  usage or configuration error
  3  verification failed (corrupt, truncated or tampered backup)

Every option can also be set by its environment variable or in the --config file;
a flag wins over the environment, which wins over the file.)";

constexpr std::string_view backup_examples = R"(
Examples:
  # one backup of a local agent into ./consul-snapshots
  consul-snapshot backup --once

  # the original tool's daemon: a backup every BACKUPINTERVAL seconds
  CONSUL_HTTP_ADDR=consul.service:8500 BACKUPINTERVAL=300 LOCAL_DIR=/var/backups consul-snapshot backup

  # with an ACL token read from a file
  CONSUL_HTTP_TOKEN_FILE=/etc/consul-snapshot/token consul-snapshot backup --once)";

constexpr std::string_view restore_examples = R"(
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

constexpr std::string_view diff_examples = R"(
Examples:
  # what restoring the newest backup would change, key by key
  consul-snapshot diff latest

  # only under app/, as JSON; exit 1 when anything differs (for scripts and monitoring)
  consul-snapshot diff latest --prefix app/ --json --exit-code)";

constexpr std::string_view inspect_examples = R"(
Examples:
  # metadata, counts and a full integrity check (decompress, every checksum, every entry)
  consul-snapshot inspect latest
  consul-snapshot inspect ./host.consul.snapshot.1795786800.tar.zst --json)";

constexpr std::string_view list_examples = R"(
Examples:
  consul-snapshot list
  LOCAL_DIR=/var/backups consul-snapshot list --json)";

constexpr std::string_view prune_examples = R"(
Examples:
  # what the policy would remove, removing nothing
  consul-snapshot prune --keep-last 3 --dry-run

  # keep the 24 newest hourly, 7 daily and 4 weekly backups, and everything of the last 2 days
  consul-snapshot prune --keep-hourly 24 --keep-daily 7 --keep-weekly 4 --keep-within 2d

  # the same policy as the daemon, from the environment
  CONSUL_SNAPSHOT_KEEP_DAILY=14 LOCAL_DIR=/var/backups consul-snapshot prune --json

The newest backup is never removed, and objects whose names are not backups are left alone.
Buckets are UTC hours, days, ISO weeks and months; each keeps its newest backup.)";

struct Registered {
  std::map<std::string, std::string> values;
  std::vector<std::pair<std::string, CLI::Option*>> options;
};

// Adds to `command` every option of the table whose scope includes `scope`.
void add_table_options(CLI::App& command, unsigned scope, Registered& registered) {
  for (const auto& spec : config::option_table()) {
    if ((spec.scope & (config::scope_global | scope)) == 0)
      continue;
    std::string name(spec.name);
    std::string help(spec.help);
    if (!spec.env.empty())
      help += fmt::format(" [env {}]", spec.env);
    if (!spec.default_value.empty())
      help += fmt::format(" [default {}]", spec.default_value);
    std::string& target = registered.values[name];
    CLI::Option* option = nullptr;
    if (spec.type == config::OptionType::boolean) {
      option = command.add_flag("--" + name, target, help);
    } else {
      option = command.add_option("--" + name, target, help);
      option->type_name(spec.type == config::OptionType::path       ? "PATH"
                        : spec.type == config::OptionType::duration ? "DURATION"
                        : spec.type == config::OptionType::integer  ? "N"
                                                                    : "VALUE");
    }
    if (spec.repeatable) {
      option->multi_option_policy(CLI::MultiOptionPolicy::Join)->delimiter('\n');
    }
    // Secrets are refused on the command line; keep them out of --help too.
    if (!spec.flag_allowed || !spec.unsupported.empty())
      option->group("");
    registered.options.emplace_back(name, option);
  }
}

// A process that may hold secrets (tokens, passphrases, decrypted backups) writes no core dump,
// and other processes of the same user cannot read its memory through /proc or ptrace.
void forbid_core_dumps() {
  struct rlimit none {};
  ::setrlimit(RLIMIT_CORE, &none);
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

// How long a command may take to stop after SIGINT or SIGTERM before it is ended at once.
constexpr int kStopGraceSeconds = 10;

// Turns SIGINT and SIGTERM into a stop request (util/stop.hpp) for every command but the daemon,
// which waits for them itself: the command fails with "stopped by SIGTERM" at its next file read
// or write, or its next entry, and its cleanups run. A second signal, or no stop within
// kStopGraceSeconds, ends the process at once (its spools have no name: nothing is left).
void stop_on_signals() {
  static sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  // Blocked before any other thread starts, so that only the waiting thread sees them.
  ::pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::thread([] {
    int signal_number = 0;
    while (::sigwait(&signals, &signal_number) != 0) {
    }
    request_stop(signal_number);
    log::warn("Received {}: stopping (a second signal ends the process at once)",
              signal_number == SIGINT ? "SIGINT" : "SIGTERM");
    struct timespec grace {
      kStopGraceSeconds, 0
    };
    int again = ::sigtimedwait(&signals, nullptr, &grace);
    if (again > 0)
      log::error("Received a second signal: exiting now");
    else
      log::error("Still running {}s after the signal: exiting now", kStopGraceSeconds);
    std::_Exit(exit_failed);
  }).detach();
}

std::map<std::string, std::string, std::less<>> given_flags(const Registered& registered) {
  std::map<std::string, std::string, std::less<>> flags;
  for (const auto& [name, option] : registered.options) {
    if (option->count() > 0)
      flags[name] = registered.values.at(name);
  }
  return flags;
}

}  // namespace

int exit_code_for(const Error& error) {
  switch (error.kind()) {
    case ErrorKind::invalid_argument:
      return exit_usage;
    case ErrorKind::corrupt:
      return exit_verification;
    default:
      return exit_failed;
  }
}

namespace {

int run_command(int argc, char** argv) {
  CLI::App app{"consul-snapshot: backup and restore for HashiCorp Consul", "consul-snapshot"};
  app.require_subcommand(1);
  app.footer(std::string(exit_codes_help));
  app.set_help_all_flag("--help-all", "help for every command");

  // Each command that works with Consul or backups: its CLI11 app, its table options, and what
  // runs it once the configuration is resolved.
  struct Command {
    CLI::App* app = nullptr;
    unsigned scope = 0;
    Registered options;
    std::function<Result<int>(const config::Config&)> run;
  };
  std::vector<std::unique_ptr<Command>> commands;
  auto add_command = [&](std::string name, std::string help, unsigned scope,
                         std::string_view examples) -> Command& {
    auto& command = *commands.emplace_back(std::make_unique<Command>());
    command.app = app.add_subcommand(std::move(name), std::move(help));
    command.scope = scope;
    add_table_options(*command.app, scope, command.options);
    command.app->footer(std::string(examples) + std::string(exit_codes_help));
    return command;
  };
  auto status_code = [](Status status) -> Result<int> {
    if (!status.ok())
      return std::move(status).error();
    return exit_ok;
  };

  BackupCommand backup;
  auto& backup_cmd =
      add_command("backup", "take backups: one every --interval (the daemon), or one with --once",
                  config::scope_backup, backup_examples);
  backup_cmd.app->add_flag("--once", backup.once, "take one backup and exit");
  backup_cmd.run = [&](const config::Config& config) {
    return status_code(backup_command(config, backup));
  };

  RestoreCommand restore;
  auto& restore_cmd = add_command(
      "restore", "verify a backup completely, compare it with Consul, and write what differs",
      config::scope_restore, restore_examples);
  restore_cmd.app->add_option("backup", restore.backup,
                              "backup to restore: a key in the storage, 'latest', or a file path");
  restore_cmd.run = [&](const config::Config& config) {
    return status_code(restore_command(config, restore));
  };

  ReportCommand diff;
  auto& diff_cmd = add_command("diff", "what a restore of the backup would change in Consul",
                               config::scope_restore, diff_examples);
  diff_cmd.app->add_option("backup", diff.backup, "a key in the storage, 'latest', or a file path");
  diff_cmd.app->add_flag("--json", diff.json, "print JSON");
  diff_cmd.app->add_flag("--exit-code", diff.exit_code, "exit 1 when there are differences");
  diff_cmd.run = [&](const config::Config& config) { return diff_command(config, diff); };

  ReportCommand inspect;
  auto& inspect_cmd =
      add_command("inspect", "a backup's metadata and counts, after a full integrity check",
                  config::scope_storage, inspect_examples);
  inspect_cmd.app->add_option("backup", inspect.backup,
                              "a key in the storage, 'latest', or a file path");
  inspect_cmd.app->add_flag("--json", inspect.json, "print JSON");
  inspect_cmd.run = [&](const config::Config& config) {
    return status_code(inspect_command(config, inspect));
  };

  ReportCommand list;
  auto& list_cmd = add_command("list", "the backups in the storage, newest first",
                               config::scope_storage, list_examples);
  list_cmd.app->add_flag("--json", list.json, "print JSON");
  list_cmd.run = [&](const config::Config& config) {
    return status_code(list_command(config, list));
  };

  PruneCommand prune;
  auto& prune_cmd = add_command(
      "prune", "apply the retention policy (--keep-*) now: remove the backups it does not keep",
      config::scope_storage | config::scope_prune, prune_examples);
  prune_cmd.app->add_flag("--dry-run", prune.dry_run, "list what would be removed, remove nothing");
  prune_cmd.app->add_flag("--json", prune.json, "print JSON");
  prune_cmd.run = [&](const config::Config& config) { return prune_command(config, prune); };

  auto* version_app = app.add_subcommand("version", "version, build and linked library versions");
  auto* reference_app = app.add_subcommand(
      "config-reference", "print every option (flag, environment variable, file key) as Markdown");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    int code = app.exit(error);
    return code == 0 ? exit_ok : exit_usage;
  }

  if (reference_app->parsed()) {
    fmt::print("{}", config::reference_markdown());
    return exit_ok;
  }
  if (version_app->parsed()) {
    auto status = version_command();
    return status.ok() ? exit_ok : exit_code_for(status.error());
  }

  auto chosen = std::find_if(commands.begin(), commands.end(),
                             [](const auto& command) { return command->app->parsed(); });
  Command& command = **chosen;
  const bool is_daemon = command.app == backup_cmd.app && !backup.once;
  if (!is_daemon)
    stop_on_signals();
  config::ResolveInput input;
  input.flags = given_flags(command.options);
  input.scope = command.scope;
  auto config = config::resolve(input);
  if (!config.ok()) {
    log::error("{}", config.error().message());
    return exit_usage;
  }

  log::Level level{};
  log::Format format{};
  log::parse_level(config->get(config::option::kLogLevel), level);
  log::parse_format(config->get(config::option::kLogFormat), format);
  log::set_level(level);
  log::set_format(format);
  for (const auto& secret : config->secrets())
    log::register_secret(secret.reveal());
  log::debug("configuration:\n{}", config->describe());

  auto code = command.run(*config);
  if (!code.ok()) {
    log::error("{}", code.error().message());
    return exit_code_for(code.error());
  }
  return *code;
}

}  // namespace

int run(int argc, char** argv) {
  forbid_core_dumps();
  // A write past a file size limit (ulimit -f) fails with EFBIG instead of killing the process.
  ::signal(SIGXFSZ, SIG_IGN);
  // Any exception that escapes a command is a bug: report it and exit through the normal path,
  // so that the destructors between here and the throw (spools, uploads) run.
  try {
    return run_command(argc, argv);
  } catch (const nlohmann::json::exception& error) {
    // Its text may quote the JSON it choked on, which may hold a secret: the id only.
    log::error("internal error: unexpected JSON ({}); please report this with the command line",
               error.id);
  } catch (const std::exception& error) {
    log::error("internal error: {}; please report this with the command line", error.what());
  } catch (...) {
    log::error("internal error: an unknown exception; please report this with the command line");
  }
  return exit_failed;
}

}  // namespace csnap::cli
