#include "config/options.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <toml++/toml.h>

#include "util/duration.hpp"
#include "util/file.hpp"
#include "util/text.hpp"

namespace csnap::config {
namespace {

using enum OptionType;

bool in_choices(std::string_view choices, std::string_view value) {
  while (!choices.empty()) {
    auto bar = choices.find('|');
    auto choice = choices.substr(0, bar);
    if (choice == value)
      return true;
    if (bar == std::string_view::npos)
      break;
    choices.remove_prefix(bar + 1);
  }
  return false;
}

std::string describe_source(const OptionSpec& spec, Source source) {
  switch (source) {
    case Source::flag:
      return fmt::format("--{}", flag_name(spec));
    case Source::env:
      return std::string(spec.env);
    case Source::file:
      return fmt::format("config file key {}", spec.file_key);
    default:
      return fmt::format("default of --{}", flag_name(spec));
  }
}

Status validate(const OptionSpec& spec, const std::string& value, Source source) {
  auto fail = [&](std::string_view why) {
    return Error(ErrorKind::invalid_argument, fmt::format("{}: {} (from {})", flag_name(spec), why,
                                                          describe_source(spec, source)));
  };
  // `number` is the option's integer, or its duration in seconds.
  auto check_range = [&](std::int64_t number) -> Status {
    if ((spec.min && number < *spec.min) || (spec.max && number > *spec.max)) {
      return Error(
          ErrorKind::invalid_argument,
          fmt::format("--{} {}: use {} (from {}){}", flag_name(spec), value, allowed_range(spec),
                      describe_source(spec, source),
                      spec.default_value.empty() ? "; to not use it, leave it unset" : ""));
    }
    return {};
  };
  switch (spec.type) {
    case integer: {
      std::int64_t parsed = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), parsed);
      if (ec != std::errc() || end != value.data() + value.size()) {
        return fail(fmt::format("'{}' is not a whole number", value));
      }
      return check_range(parsed);
    }
    case boolean:
      if (!parse_bool(value))
        return fail(fmt::format("'{}' is not true or false", value));
      break;
    case duration: {
      auto parsed = parse_duration(value);
      if (!parsed) {
        return fail(fmt::format("'{}' is not a duration (seconds, or like 90s, 15m, 1h)", value));
      }
      if (parsed->count() <= 0)
        return fail("must be longer than zero");
      return check_range(parsed->count());
    }
    case choice:
      if (!in_choices(spec.choices, value)) {
        return fail(fmt::format("'{}' is not one of {}", value, spec.choices));
      }
      break;
    case string:
    case path:
    case secret:
      break;
  }
  return {};
}

void flatten(const nlohmann::json& node, const std::string& prefix,
             std::map<std::string, std::string, std::less<>>& out) {
  if (node.is_object()) {
    for (const auto& [key, child] : node.items()) {
      flatten(child, prefix.empty() ? key : fmt::format("{}.{}", prefix, key), out);
    }
  } else if (node.is_string()) {
    out[prefix] = node.get<std::string>();
  } else if (!node.is_null()) {
    out[prefix] = node.dump();
  }
}

void flatten(const toml::table& table, const std::string& prefix,
             std::map<std::string, std::string, std::less<>>& out) {
  for (const auto& [key, node] : table) {
    std::string name =
        prefix.empty() ? std::string(key.str()) : prefix + "." + std::string(key.str());
    if (const auto* child = node.as_table()) {
      flatten(*child, name, out);
    } else if (const auto* text = node.as_string()) {
      out[name] = text->get();
    } else if (const auto* number = node.as_integer()) {
      out[name] = std::to_string(number->get());
    } else if (const auto* flag = node.as_boolean()) {
      out[name] = flag->get() ? "true" : "false";
    }
  }
}

const OptionSpec* find_spec(std::string_view name) {
  for (const auto& spec : kOptionTable) {
    if (spec.name == name)
      return &spec;
  }
  return nullptr;
}

using FlatMap = std::map<std::string, std::string, std::less<>>;

Result<FlatMap> read_config_file(const std::string& path) {
  auto text = read_file(path);
  if (!text.ok()) {
    return Error(ErrorKind::invalid_argument,
                 fmt::format("config file: {}", text.error().message()));
  }
  FlatMap out;
  auto first = text->find_first_not_of(" \t\r\n");
  bool looks_json = first != std::string::npos && (*text)[first] == '{';
  if (looks_json) {
    auto parsed = nlohmann::json::parse(*text, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object()) {
      return Error(ErrorKind::invalid_argument,
                   fmt::format("config file {}: not a valid JSON object", path));
    }
    flatten(parsed, "", out);
  } else {
    try {
      auto table = toml::parse(*text, path);
      flatten(table, "", out);
    } catch (const toml::parse_error& error) {
      return Error(ErrorKind::invalid_argument,
                   fmt::format("config file {}: not valid TOML or JSON: {} (line {})", path,
                               error.description(), error.source().begin.line));
    }
  }
  return out;
}

}  // namespace

std::span<const OptionSpec> option_table() {
  return kOptionTable;
}

std::string_view to_string(Source source) {
  switch (source) {
    case Source::none:
      return "unset";
    case Source::default_value:
      return "default";
    case Source::file:
      return "config file";
    case Source::env:
      return "environment";
    case Source::flag:
      return "flag";
  }
  return "unset";
}

// Fills a Config: only `resolve` sets values.
struct ConfigBuilder {
  static void set(Config& config, std::size_t index, Config::Value value) {
    config.values_[index] = std::move(value);
  }
};

std::string Config::get(Option<std::string> option) const {
  return value_of(option.index()).text;
}

std::int64_t Config::get(Option<std::int64_t> option) const {
  const auto& text = value_of(option.index()).text;
  std::int64_t out = 0;
  std::from_chars(text.data(), text.data() + text.size(), out);
  return out;
}

bool Config::get(Option<bool> option) const {
  return parse_bool(value_of(option.index()).text).value_or(false);
}

std::chrono::seconds Config::get(Option<std::chrono::seconds> option) const {
  return parse_duration(value_of(option.index()).text).value_or(std::chrono::seconds(0));
}

Secret Config::get(Option<Secret> option) const {
  return Secret(value_of(option.index()).text);
}

std::vector<Secret> Config::secrets() const {
  std::vector<Secret> out;
  for (std::size_t index = 0; index < values_.size(); ++index) {
    if (kOptionTable[index].type == OptionType::secret && !values_[index].text.empty())
      out.emplace_back(values_[index].text);
  }
  return out;
}

std::string Config::describe() const {
  std::string out;
  for (std::size_t index = 0; index < values_.size(); ++index) {
    const auto& spec = kOptionTable[index];
    const auto& value = values_[index];
    if (value.source == Source::none)
      continue;
    std::string shown =
        spec.type == OptionType::secret ? std::string(Secret::kRedacted) : value.text;
    out += fmt::format("{} = {} ({})\n", spec.name, shown, to_string(value.source));
  }
  return out;
}

Result<Config> resolve(const ResolveInput& input) {
  auto getenv = input.getenv;
  if (!getenv) {
    getenv = [](std::string_view name) -> std::optional<std::string> {
      const char* value = std::getenv(std::string(name).c_str());
      if (value == nullptr)
        return std::nullopt;
      return std::string(value);
    };
  }

  for (const auto& [name, value] : input.flags) {
    const auto* spec = find_spec(name);
    if (spec == nullptr) {
      return Error(ErrorKind::invalid_argument, fmt::format("unknown option --{}", name));
    }
    if (!spec->flag_allowed) {
      return Error(ErrorKind::invalid_argument,
                   fmt::format("--{} is not accepted on the command line, where every user of "
                               "this machine can read it: set {} or use a config file",
                               name, spec->env));
    }
  }

  std::string config_path = input.config_file;
  if (config_path.empty()) {
    if (auto it = input.flags.find(option::kConfig.name()); it != input.flags.end()) {
      config_path = it->second;
    } else if (auto env = getenv(option::kConfig.spec().env); env && !env->empty()) {
      config_path = *env;
    }
  }
  FlatMap file_values;
  if (!config_path.empty()) {
    CSNAP_ASSIGN_OR_RETURN(file_values, read_config_file(config_path));
    for (const auto& [key, value] : file_values) {
      // An init-capture: clang 14 (clang-tidy's) cannot capture a structured binding.
      bool known =
          std::any_of(std::begin(kOptionTable), std::end(kOptionTable),
                      [&name = key](const OptionSpec& spec) { return spec.file_key == name; });
      if (!known) {
        return Error(ErrorKind::invalid_argument,
                     fmt::format("config file {}: unknown key '{}'", config_path, key));
      }
    }
  }

  Config config;
  for (std::size_t index = 0; index < std::size(kOptionTable); ++index) {
    const auto& spec = kOptionTable[index];
    Config::Value value;
    if (auto it = input.flags.find(spec.name); it != input.flags.end()) {
      value = {it->second, Source::flag};
    } else if (auto env = spec.env.empty() ? std::nullopt : getenv(spec.env);
               env && !env->empty()) {  // VAR= counts as unset, as in Consul's own CLI
      value = {*env, Source::env};
    } else if (auto file = file_values.find(spec.file_key);
               !spec.file_key.empty() && file != file_values.end()) {
      value = {file->second, Source::file};
    } else if (!spec.default_value.empty()) {
      value = {std::string(spec.default_value), Source::default_value};
    }
    if (value.source == Source::none)
      continue;
    if (value.source != Source::default_value && !value.text.empty() && !spec.unsupported.empty() &&
        (spec.scope & input.scope) != 0) {
      return Error(ErrorKind::invalid_argument,
                   fmt::format("{} is set, but {} is not available in this version of "
                               "consul-snapshot yet; unset it (backups would not be what you "
                               "asked for)",
                               describe_source(spec, value.source), spec.unsupported));
    }
    CSNAP_TRY(validate(spec, value.text, value.source));
    for (const auto& check : input.checks) {
      if (check.index != index || value.text.empty())
        continue;
      if (auto checked = check.check(value.text); !checked.ok()) {
        return Error(ErrorKind::invalid_argument,
                     fmt::format("{} (from {})", checked.error().message(),
                                 describe_source(spec, value.source)));
      }
    }
    ConfigBuilder::set(config, index, std::move(value));
  }
  return config;
}

}  // namespace csnap::config

namespace csnap::config {

std::string allowed_range(const OptionSpec& spec) {
  auto show = [&](std::int64_t bound) {
    return spec.type == duration ? format_duration(std::chrono::seconds(bound))
                                 : std::to_string(bound);
  };
  if (spec.min && spec.max)
    return fmt::format("{} to {}", show(*spec.min), show(*spec.max));
  if (spec.min)
    return fmt::format("{} or more", show(*spec.min));
  if (spec.max)
    return fmt::format("{} or less", show(*spec.max));
  return {};
}

std::string reference_markdown() {
  std::string out =
      "| flag | environment | file key | default | description |\n"
      "|---|---|---|---|---|\n";
  // A flag that two options share (in disjoint scopes) says which commands take each.
  auto commands_of = [](const OptionSpec& spec) {
    std::string names;
    for (auto [scope, name] :
         {std::pair{scope_backup, "backup"}, std::pair{scope_restore, "restore"},
          std::pair{scope_prune, "prune"}}) {
      if ((spec.scope & scope) != 0)
        names += fmt::format("{}{}", names.empty() ? "" : ", ", name);
    }
    return names;
  };
  auto shared = [](const OptionSpec& spec) {
    return std::count_if(std::begin(kOptionTable), std::end(kOptionTable), [&](const auto& other) {
             return flag_name(other) == flag_name(spec);
           }) > 1;
  };
  for (const auto& spec : option_table()) {
    std::string flag = spec.flag_allowed ? fmt::format("`--{}`", flag_name(spec)) : "(not a flag)";
    if (spec.flag_allowed && shared(spec))
      flag += fmt::format(" ({})", commands_of(spec));
    std::string help(spec.help);
    if (spec.type == OptionType::choice)
      help += fmt::format(" (`{}`)", spec.choices);
    if (auto range = allowed_range(spec); !range.empty())
      help += fmt::format(" (allowed: {})", range);
    if (!spec.unsupported.empty())
      help += " **(not implemented yet: setting it is an error)**";
    if (spec.type == OptionType::secret)
      help += "; secret, shown as `**redacted**`";
    out += fmt::format(
        "| {} | {} | {} | {} | {} |\n", flag, spec.env.empty() ? "" : fmt::format("`{}`", spec.env),
        spec.file_key.empty() ? "" : fmt::format("`{}`", spec.file_key),
        spec.default_value.empty() ? "" : fmt::format("`{}`", spec.default_value), help);
  }
  return out;
}

}  // namespace csnap::config
