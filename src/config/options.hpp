#pragma once
// The one table of options. Each option has a flag, an environment variable and a config-file
// key; a value comes from the first of those that is set (flag > env > file), else the default.
// `--help`, the docs and the validation all come from this table.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"
#include "util/secret.hpp"

namespace csnap::config {

enum class OptionType { string, path, integer, boolean, duration, choice, secret };

// Which commands take an option.
enum Scope : unsigned {
  scope_global = 1u << 0,  // every command
  scope_backup = 1u << 1,
  scope_restore = 1u << 2,
  scope_storage = 1u << 3,  // every command that reads or writes backups
  scope_prune = 1u << 4,    // retention: backup (after each success) and prune
};

struct OptionSpec {
  std::string_view name;      // canonical name, also the flag: --<name>
  std::string_view env;       // environment variable, "" for none
  std::string_view file_key;  // dotted key in the config file
  OptionType type;
  std::string_view default_value;  // "" for none
  std::string_view help;
  unsigned scope = scope_global;
  std::string_view choices = "";  // for OptionType::choice: "a|b|c"
  // Secrets are never taken from the command line (argv is visible to every user of the
  // machine): only from the environment, the config file, or a `*-file` option.
  bool flag_allowed = true;
  // Set for options the original tool had that this build does not implement yet: setting one
  // is an error rather than silently ignored.
  std::string_view unsupported = "";
  // The flag may be given several times; the values are joined with newlines.
  bool repeatable = false;
};

std::span<const OptionSpec> option_table();
const OptionSpec* find_option(std::string_view name);

enum class Source { none, default_value, file, env, flag };
std::string_view to_string(Source source);

// Resolved options. Values are validated when resolved, so the getters cannot fail.
class Config {
 public:
  struct Value {
    std::string text;
    Source source = Source::none;
  };

  bool is_set(std::string_view name) const;  // set by flag, env or file (not default)
  Source source(std::string_view name) const;
  std::string string(std::string_view name) const;
  std::int64_t integer(std::string_view name) const;
  bool boolean(std::string_view name) const;
  std::chrono::seconds duration(std::string_view name) const;
  Secret secret(std::string_view name) const;

  // One line per option that has a value: `name = value (source)`, secrets as **redacted**.
  std::string describe() const;

  void set(std::string_view name, Value value) { values_[std::string(name)] = std::move(value); }

 private:
  const Value* find(std::string_view name) const;
  std::map<std::string, Value, std::less<>> values_;
};

struct ResolveInput {
  std::map<std::string, std::string, std::less<>> flags;  // option name -> value given on argv
  std::function<std::optional<std::string>(std::string_view)> getenv;  // defaults to ::getenv
  std::string config_file;                                             // "" for none
  unsigned scope = scope_global;
};

// Merges flags, environment, config file and defaults, and validates every value. An error
// names the option and where its value came from.
Result<Config> resolve(const ResolveInput& input);

// Parses "90s", "15m", "1h30m", "2d", or a bare number of seconds.
std::optional<std::chrono::seconds> parse_duration(std::string_view text);

}  // namespace csnap::config

namespace csnap::config {

// The option table as a Markdown table, for docs/configuration.md (a test keeps them equal).
std::string reference_markdown();

}  // namespace csnap::config
