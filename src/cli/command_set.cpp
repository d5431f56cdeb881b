#include "cli/command_set.hpp"

#include <fmt/format.h>

#include "cli/commands.hpp"

namespace csnap::cli {
namespace {

constexpr std::string_view kExitCodesHelp = R"(
Exit codes:
  0  success
  1  the command failed (Consul or storage error, failed writes)
  2  usage or configuration error
  3  verification failed (corrupt, truncated or tampered backup)

Every option can also be set by its environment variable or in the --config file;
a flag wins over the environment, which wins over the file.)";

std::string_view type_name(config::OptionType type) {
  switch (type) {
    case config::OptionType::path:
      return "PATH";
    case config::OptionType::duration:
      return "DURATION";
    case config::OptionType::integer:
      return "N";
    default:
      return "VALUE";
  }
}

}  // namespace

std::string_view exit_codes_help() {
  return kExitCodesHelp;
}

CLI::App& CommandSet::add(CommandSpec spec) {
  auto& entry = *entries_.emplace_back(std::make_unique<Entry>());
  entry.spec = std::move(spec);
  entry.app = app_.add_subcommand(entry.spec.name, entry.spec.help);
  if (std::holds_alternative<CommandSpec::Alone>(entry.spec.run))
    return *entry.app;  // reads no configuration: no table options, no exit codes to explain
  entry.app->footer(std::string(entry.spec.examples) + std::string(kExitCodesHelp));
  for (const auto& option_spec : config::option_table()) {
    if ((option_spec.scope & (config::scope_global | entry.spec.scope)) == 0)
      continue;
    std::string name(option_spec.name);
    std::string help(option_spec.help);
    if (auto range = config::allowed_range(option_spec); !range.empty())
      help += fmt::format(" (allowed: {})", range);
    if (!option_spec.env.empty())
      help += fmt::format(" [env {}]", option_spec.env);
    if (!option_spec.default_value.empty())
      help += fmt::format(" [default {}]", option_spec.default_value);
    std::string& target = entry.values[name];
    CLI::Option* option = nullptr;
    if (option_spec.type == config::OptionType::boolean) {
      option =
          entry.app->add_flag(fmt::format("--{}", config::flag_name(option_spec)), target, help);
    } else {
      option =
          entry.app->add_option(fmt::format("--{}", config::flag_name(option_spec)), target, help);
      option->type_name(std::string(type_name(option_spec.type)));
    }
    if (option_spec.repeatable)
      option->multi_option_policy(CLI::MultiOptionPolicy::Join)->delimiter('\n');
    // Secrets are refused on the command line; keep them out of --help too.
    if (!option_spec.flag_allowed || !option_spec.unsupported.empty())
      option->group("");
    entry.options.emplace_back(name, option);
  }
  return *entry.app;
}

CommandSet::Chosen CommandSet::chosen() const {
  Chosen chosen;
  for (const auto& entry : entries_) {
    if (!entry->app->parsed())
      continue;
    chosen.spec = &entry->spec;
    for (const auto& [name, option] : entry->options) {
      if (option->count() > 0)
        chosen.flags[name] = entry->values.at(name);
    }
    break;
  }
  return chosen;
}

Result<int> exit_status(Status status) {
  if (!status.ok())
    return std::move(status).error();
  return exit_ok;
}

}  // namespace csnap::cli
