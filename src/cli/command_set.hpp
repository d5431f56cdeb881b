#pragma once
// The commands of the command line. Each command file registers its own commands with a
// CommandSet (add_backup_command and the rest, below); app.cpp registers them all, parses the
// command line, resolves the configuration for the chosen one and runs it.

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <CLI/CLI.hpp>

#include "config/options.hpp"
#include "util/result.hpp"

namespace csnap::cli {

// What a command is, for the command line.
struct CommandSpec {
  std::string name = {};
  std::string help = {};
  // Shown in its --help above the exit codes: examples and notes. "" for none.
  std::string_view examples = {};
  // The option table's options it takes beside the global ones (config::scope_* bits), resolved
  // into the Config its `run` gets. A command that runs `Alone` takes none.
  unsigned scope = 0;
  // What runs it, returning the exit code: with the resolved configuration, or alone for a
  // command that reads nothing of it (version, config-reference; it then runs even when the
  // environment holds a bad value).
  using WithConfig = std::function<Result<int>(const config::Config&)>;
  using Alone = std::function<Result<int>()>;
  std::variant<WithConfig, Alone> run = WithConfig{};
  // Whether, as parsed, it waits for SIGINT and SIGTERM itself (the daemon) rather than having
  // them turned into a stop request (util/stop.hpp). Unset: it does not.
  std::function<bool()> handles_signals = {};
};

class CommandSet {
 public:
  // The chosen command, once the command line is parsed.
  struct Chosen {
    const CommandSpec* spec = nullptr;  // never null after a parse that succeeded
    // The table options given on the command line, by name, with their values.
    std::map<std::string, std::string, std::less<>> flags;
  };

  explicit CommandSet(CLI::App& app) : app_(app) {}

  // Adds the command with the table options of its scope and returns its CLI11 app, for the
  // arguments and flags of its own (which must outlive the parse: a registration keeps them in
  // what its `run` captures).
  CLI::App& add(CommandSpec spec);

  // The command the parsed command line chose; nullptr spec when none was (CLI11 then reports).
  Chosen chosen() const;

 private:
  struct Entry {
    CommandSpec spec;
    CLI::App* app = nullptr;
    std::map<std::string, std::string> values;  // table options, by name, as typed
    std::vector<std::pair<std::string, CLI::Option*>> options;
  };

  CLI::App& app_;
  std::vector<std::unique_ptr<Entry>> entries_;
};

// Turns a command's Status into its exit code.
Result<int> exit_status(Status status);

// The exit codes and the precedence of option sources, the end of every command's --help.
std::string_view exit_codes_help();

// The registrations, one per command file.
void add_backup_command(CommandSet& commands);    // backup_command.cpp
void add_restore_command(CommandSet& commands);   // restore_command.cpp
void add_report_commands(CommandSet& commands);   // report_commands.cpp: diff, inspect, list
void add_prune_command(CommandSet& commands);     // prune_command.cpp
void add_version_commands(CommandSet& commands);  // version_command.cpp: version, config-reference

}  // namespace csnap::cli
