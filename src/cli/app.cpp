#include "cli/app.hpp"

#include <cassert>
#include <csignal>
#include <cstdlib>
#include <ctime>
#include <exception>
#include <map>
#include <string>
#include <thread>
#include <type_traits>
#include <variant>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cli/command_set.hpp"
#include "cli/commands.hpp"
#include "cli/option_checks.hpp"
#include "config/options.hpp"
#include "util/log.hpp"
#include "util/stop.hpp"

namespace csnap::cli {
namespace {

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

// Resolves the configuration of `command` (flags, environment, file), sets up the log from it
// and runs the command.
Result<int> run_configured(const CommandSpec& command, const CommandSpec::WithConfig& run,
                           std::map<std::string, std::string, std::less<>> flags) {
  if (!command.handles_signals || !command.handles_signals())
    stop_on_signals();
  config::ResolveInput input;
  input.flags = std::move(flags);
  input.scope = command.scope;
  input.checks = option_checks();
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
  return run(*config);
}

int run_command(int argc, char** argv) {
  CLI::App app{"consul-snapshot: backup and restore for HashiCorp Consul", "consul-snapshot"};
  app.require_subcommand(1);
  app.footer(std::string(exit_codes_help()));
  app.set_help_all_flag("--help-all", "help for every command");

  CommandSet commands(app);
  add_backup_command(commands);
  add_restore_command(commands);
  add_report_commands(commands);
  add_prune_command(commands);
  add_version_commands(commands);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    int code = app.exit(error);
    return code == 0 ? exit_ok : exit_usage;
  }

  // require_subcommand(1): a parse that succeeded chose exactly one command.
  const auto chosen = commands.chosen();
  assert(chosen.spec != nullptr);
  const CommandSpec& command = *chosen.spec;
  auto code = std::visit(
      [&](const auto& run) -> Result<int> {
        if constexpr (std::is_same_v<std::decay_t<decltype(run)>, CommandSpec::Alone>)
          return run();
        else
          return run_configured(command, run, chosen.flags);
      },
      command.run);
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
