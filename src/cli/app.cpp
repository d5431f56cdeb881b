#include "cli/app.hpp"

#include <map>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/commands.hpp"
#include "config/options.hpp"
#include "util/log.hpp"

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

  # the original tool's variables
  LOCAL_DIR=/var/backups LOCAL_BACKUP_FILE=backups/2026/11/27/host.consul.snapshot.1795786800.tar.zst \
    consul-snapshot restore --yes)";

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
    // Secrets are refused on the command line; keep them out of --help too.
    if (!spec.flag_allowed || !spec.unsupported.empty())
      option->group("");
    registered.options.emplace_back(name, option);
  }
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

int run(int argc, char** argv) {
  CLI::App app{
      "consul-snapshot: backup and restore for HashiCorp Consul (KV store) to a local directory",
      "consul-snapshot"};
  app.require_subcommand(1);
  app.footer(std::string(exit_codes_help));
  app.set_help_all_flag("--help-all", "help for every command");

  Registered backup_options;
  BackupCommand backup;
  auto* backup_app = app.add_subcommand(
      "backup", "take backups: one every --interval (the daemon), or one with --once");
  backup_app->add_flag("--once", backup.once, "take one backup and exit");
  add_table_options(*backup_app, config::scope_backup, backup_options);
  backup_app->footer(std::string(backup_examples) + std::string(exit_codes_help));

  Registered restore_options;
  RestoreCommand restore;
  auto* restore_app =
      app.add_subcommand("restore", "verify a backup completely, then write it back to Consul");
  restore_app->add_option("backup", restore.backup,
                          "backup to restore: a key under --local-dir, 'latest', or a file path");
  add_table_options(*restore_app, config::scope_restore, restore_options);
  restore_app->footer(std::string(restore_examples) + std::string(exit_codes_help));

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

  const bool is_backup = backup_app->parsed();
  config::ResolveInput input;
  input.flags = given_flags(is_backup ? backup_options : restore_options);
  input.scope = is_backup ? config::scope_backup : config::scope_restore;
  auto config = config::resolve(input);
  if (!config.ok()) {
    log::error("{}", config.error().message());
    return exit_usage;
  }

  log::Level level{};
  log::Format format{};
  log::parse_level(config->string("log-level"), level);
  log::parse_format(config->string("log-format"), format);
  log::set_level(level);
  log::set_format(format);
  for (std::string_view secret : {"consul-token", "consul-http-auth", "crypto-password"}) {
    log::register_secret(config->secret(secret).reveal());
  }
  log::debug("configuration:\n{}", config->describe());

  auto status = is_backup ? backup_command(*config, backup) : restore_command(*config, restore);
  if (!status.ok()) {
    log::error("{}", status.error().message());
    return exit_code_for(status.error());
  }
  return exit_ok;
}

}  // namespace csnap::cli
