#include "config/options.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <toml++/toml.h>

#include "util/file.hpp"
#include "util/text.hpp"

namespace csnap::config {
namespace {

using enum OptionType;

constexpr unsigned storage_commands = scope_backup | scope_restore | scope_storage;

// clang-format off
constexpr OptionSpec options[] = {
  // General
  {"config", "CONSUL_SNAPSHOT_CONFIG", "", path, "",
   "configuration file (JSON or TOML) with the keys of this table"},
  {"log-level", "CONSUL_SNAPSHOT_LOG_LEVEL", "log.level", choice, "info",
   "debug, info, warn or error", scope_global, "debug|info|warn|error"},
  {"log-format", "CONSUL_SNAPSHOT_LOG_FORMAT", "log.format", choice, "text",
   "text (the original tool's lines) or json (one object a line)", scope_global, "text|json"},

  // Consul client: the variables of Consul's own CLI and API client.
  {"consul-addr", "CONSUL_HTTP_ADDR", "consul.address", string, "127.0.0.1:8500",
   "Consul HTTP address: host:port, http://host:port, https://host:port or unix:///path"},
  {"consul-token", "CONSUL_HTTP_TOKEN", "consul.token", secret, "",
   "ACL token (environment or config file only)", scope_global, "", false},
  {"consul-token-file", "CONSUL_HTTP_TOKEN_FILE", "consul.token_file", path, "",
   "file that holds the ACL token"},
  {"consul-http-auth", "CONSUL_HTTP_AUTH", "consul.http_auth", secret, "",
   "HTTP basic auth as user:password (environment or config file only)", scope_global, "", false},
  {"consul-ssl", "CONSUL_HTTP_SSL", "consul.ssl", boolean, "false",
   "use HTTPS with a host:port address"},
  {"consul-ssl-verify", "CONSUL_HTTP_SSL_VERIFY", "consul.ssl_verify", boolean, "true",
   "verify Consul's TLS certificate"},
  {"consul-cacert", "CONSUL_CACERT", "consul.ca_file", path, "",
   "CA certificate file for Consul's TLS certificate"},
  {"consul-capath", "CONSUL_CAPATH", "consul.ca_path", path, "",
   "directory of CA certificates"},
  {"consul-client-cert", "CONSUL_CLIENT_CERT", "consul.client_cert", path, "",
   "client certificate for mutual TLS"},
  {"consul-client-key", "CONSUL_CLIENT_KEY", "consul.client_key", path, "",
   "client key for mutual TLS"},
  {"consul-tls-server-name", "CONSUL_TLS_SERVER_NAME", "consul.tls_server_name", string, "",
   "server name to verify Consul's certificate against"},
  {"consul-timeout", "CONSUL_SNAPSHOT_CONSUL_TIMEOUT", "consul.timeout", duration, "60s",
   "timeout of one request to Consul (the leader lock's requests time out after a quarter of "
   "--lock-ttl instead)"},

  // Storage and layout
  {"local-dir", "LOCAL_DIR", "local.dir", path, "./consul-snapshots",
   "directory that holds the backups", storage_commands},
  {"local-backup-file", "LOCAL_BACKUP_FILE", "local.backup_file", string, "",
   "backup in the local directory to restore (the original tool's variable)", scope_restore},
  {"upload-prefix", "CONSUL_SNAPSHOT_UPLOAD_PREFIX", "storage.prefix", string, "backups",
   "prefix of every backup's key", storage_commands},
  {"tmp-dir", "SNAPSHOT_TMP_DIR", "tmp_dir", path, "/tmp",
   "directory for temporary files", storage_commands},
  {"compression", "CONSUL_SNAPSHOT_COMPRESSION", "backup.compression", choice, "zstd",
   "zstd or gzip", scope_backup, "zstd|gzip"},
  {"hostname", "CONSUL_SNAPSHOT_HOSTNAME", "backup.hostname", string, "",
   "host name in backup keys (default: this machine's)", scope_backup},
  {"interval", "BACKUPINTERVAL", "backup.interval", duration, "60",
   "time between backups of the daemon (seconds, or 90s, 15m, 1h)", scope_backup},

  // The daemon (backup without --once)
  {"lock", "CONSUL_SNAPSHOT_LOCK", "daemon.lock", boolean, "true",
   "take backups only while holding the leader lock, so that one of several daemons backs up "
   "(false: no lock, for one daemon whose token cannot create sessions)", scope_backup},
  {"lock-key", "CONSUL_SNAPSHOT_LOCK_KEY", "daemon.lock_key", string,
   "service/consul-snapshot/leader",
   "KV key of the leader lock; a restore never writes or deletes it", scope_backup | scope_restore},
  {"lock-ttl", "CONSUL_SNAPSHOT_LOCK_TTL", "daemon.lock_ttl", duration, "15s",
   "TTL of the leader's Consul session (10s to 24h); renewed every third of it; a leader with no "
   "renewal confirmed within one TTL steps down", scope_backup},
  {"lock-delay", "CONSUL_SNAPSHOT_LOCK_DELAY", "daemon.lock_delay", duration, "15s",
   "Consul's lock-delay: how long the lock stays free-but-unavailable after a leader's session "
   "ends", scope_backup},
  {"lastbackup-key", "CONSUL_SNAPSHOT_LASTBACKUP_KEY", "daemon.lastbackup_key", string,
   "service/consul-snapshot/lastbackup",
   "KV key that gets the Unix time of each successful backup (the original tool's key); a "
   "restore never writes or deletes it",
   scope_backup | scope_restore},
  {"http-addr", "CONSUL_SNAPSHOT_HTTP_ADDR", "daemon.http_addr", string, ":5001",
   "address of the daemon's HTTP server (/, /health, /metrics, /v1/status, /v1/backups; no "
   "authentication): host:port or :port, e.g. 127.0.0.1:5001 for this machine only; 'off' for "
   "none", scope_backup},
  {"health-max-age", "CONSUL_SNAPSHOT_HEALTH_MAX_AGE", "daemon.health_max_age", duration, "1h",
   "/health answers 500 once the last successful backup is older than this", scope_backup},
  {"register-service", "CONSUL_SNAPSHOT_REGISTER_SERVICE", "daemon.register_service", boolean,
   "false", "register the daemon with the local Consul agent as a service with an HTTP check on "
   "/health; deregistered on shutdown", scope_backup},
  {"service-name", "CONSUL_SNAPSHOT_SERVICE_NAME", "daemon.service_name", string,
   "consul-snapshot", "service name for --register-service", scope_backup},
  {"shutdown-grace", "CONSUL_SNAPSHOT_SHUTDOWN_GRACE", "daemon.shutdown_grace", duration, "30s",
   "on SIGTERM or SIGINT, how long a backup in flight may take to finish before it is aborted "
   "(nothing partial is left)", scope_backup},

  // Retention: after each successful backup of the daemon, and in `prune`. Unset = keep all.
  {"keep-last", "CONSUL_SNAPSHOT_KEEP_LAST", "retention.keep_last", integer, "",
   "keep the N newest backups",
   scope_backup | scope_prune},
  {"keep-within", "CONSUL_SNAPSHOT_KEEP_WITHIN", "retention.keep_within", duration, "",
   "keep every backup younger than this (e.g. 7d), counted from now (backups dated more than 5 "
   "minutes in the future are ignored)",
   scope_backup | scope_prune},
  {"keep-hourly", "CONSUL_SNAPSHOT_KEEP_HOURLY", "retention.keep_hourly", integer, "",
   "keep the newest backup of each of the last N hours that have one",
   scope_backup | scope_prune},
  {"keep-daily", "CONSUL_SNAPSHOT_KEEP_DAILY", "retention.keep_daily", integer, "",
   "keep the newest backup of each of the last N days that have one",
   scope_backup | scope_prune},
  {"keep-weekly", "CONSUL_SNAPSHOT_KEEP_WEEKLY", "retention.keep_weekly", integer, "",
   "keep the newest backup of each of the last N ISO weeks that have one",
   scope_backup | scope_prune},
  {"keep-monthly", "CONSUL_SNAPSHOT_KEEP_MONTHLY", "retention.keep_monthly", integer, "",
   "keep the newest backup of each of the last N months that have one",
   scope_backup | scope_prune},
  {"confirm-shrink", "CONSUL_SNAPSHOT_CONFIRM_SHRINK", "retention.confirm_shrink", boolean,
   "false", "remove backups even though the newest holds far fewer KV entries or ACL objects "
   "than one that would go (retention is held otherwise: a wiped cluster must not cost the last "
   "good backups); in the daemon it turns the guard off while set",
   scope_backup | scope_prune},

  // Restore
  {"dry-run", "LOCAL_DRY_RUN", "restore.dry_run", boolean, "false",
   "verify the backup and say what would be restored, without writing", scope_restore},
  {"yes", "CONSUL_SNAPSHOT_ASSUME_YES", "restore.yes", boolean, "false",
   "restore without asking (required when not on a terminal)", scope_restore},
  {"only", "CONSUL_SNAPSHOT_ONLY", "only", string, "",
   "back up or restore only these kinds: a comma-separated list of kv, acl, query",
   scope_backup | scope_restore},
  {"prefix", "CONSUL_SNAPSHOT_PREFIX", "prefix", string, "",
   "back up or restore only the keys under this prefix", scope_backup | scope_restore},
  {"transform", "CONSUL_SNAPSHOT_RESTORE_TRANSFORM", "restore.transform", string, "",
   "rewrite a key prefix while restoring: OLD=NEW, e.g. app/=app-copy/", scope_restore},
  {"mode", "CONSUL_SNAPSHOT_RESTORE_MODE", "restore.mode", choice, "merge",
   "merge (write the backup's keys) or replace (also delete keys under --prefix that the "
   "backup lacks)", scope_restore, "merge|replace"},
  {"force", "CONSUL_SNAPSHOT_RESTORE_FORCE", "restore.force", boolean, "false",
   "write keys without check-and-set: overwrite (or delete) keys that changed after the plan "
   "instead of reporting each as a conflict; keys held by a session and the daemon's own keys "
   "are still left alone", scope_restore},

  {"allow-partial", "CONSUL_SNAPSHOT_ALLOW_PARTIAL", "backup.allow_partial", boolean, "false",
   "write a backup marked partial, with a warning, when the token cannot read everything "
   "(hidden token secrets, entries filtered by ACLs), instead of failing",
   scope_backup},

  // Storage: a URL, or the original tool's S3 variables, else the local directory.
  {"storage", "CONSUL_SNAPSHOT_STORAGE", "storage.url", string, "",
   "where backups live: s3://bucket/prefix?region=..&endpoint=.. or file:///path "
   "(default: S3BUCKET if set, else --local-dir)",
   storage_commands},
  {"s3-bucket", "S3BUCKET", "s3.bucket", string, "", "S3 bucket for backups", storage_commands},
  {"s3-region", "S3REGION", "s3.region", string, "",
   "S3 region (default: AWS_REGION, the profile's, us-east-1)", storage_commands},
  {"s3-endpoint", "S3ENDPOINT", "s3.endpoint", string, "",
   "S3 endpoint for S3-compatible servers (default: AWS_ENDPOINT_URL or AWS)", storage_commands},
  {"s3-sse", "CONSUL_SNAPSHOT_S3_SSE", "s3.sse", string, "",
   "S3 server-side encryption: AES256 or aws:kms", storage_commands},
  {"s3-sse-kms-key-id", "CONSUL_SNAPSHOT_S3_SSE_KMS_KEY_ID", "s3.sse_kms_key_id", string, "",
   "KMS key for aws:kms server-side encryption", storage_commands},
  {"storage-timeout", "CONSUL_SNAPSHOT_STORAGE_TIMEOUT", "storage.timeout", duration, "5m",
   "timeout of one request to S3 (an upload part, a download range); a request that moves no "
   "byte for 30s fails sooner; failed requests are retried 3 times", storage_commands},
  {"aws-access-key-id", "AWS_ACCESS_KEY_ID", "aws.access_key_id", string, "",
   "AWS access key (else AWS_PROFILE and the shared credentials files)", storage_commands},
  {"aws-secret-access-key", "AWS_SECRET_ACCESS_KEY", "aws.secret_access_key", secret, "",
   "AWS secret key (environment or config file only)", storage_commands, "", false},
  {"aws-session-token", "AWS_SESSION_TOKEN", "aws.session_token", secret, "",
   "AWS session token (environment or config file only)", storage_commands, "", false},
  {"aws-profile", "AWS_PROFILE", "aws.profile", string, "",
   "profile of the shared AWS config and credentials files", storage_commands},
  {"gcs-bucket", "GCSBUCKET", "gcs.bucket", string, "", "Google Cloud Storage bucket",
   storage_commands, "", true, "Google Cloud Storage"},

  // Encryption (age format): a passphrase, or X25519 recipients so that the backup host holds
  // only public keys.
  {"crypto-password", "CRYPTO_PASSWORD", "crypto.password", secret, "",
   "passphrase that encrypts backups and decrypts them, also the original tool's (environment "
   "or config file only)",
   storage_commands, "", false},
  {"passphrase-file", "CONSUL_SNAPSHOT_PASSPHRASE_FILE", "crypto.passphrase_file", path, "",
   "file whose first line is the passphrase", storage_commands},
  {"encrypt-to", "CONSUL_SNAPSHOT_ENCRYPT_TO", "crypto.encrypt_to", string, "",
   "encrypt backups to these age1... public keys (repeat the flag, or separate with commas)",
   scope_backup, "", true, "", true},
  {"encrypt-to-file", "CONSUL_SNAPSHOT_ENCRYPT_TO_FILE", "crypto.encrypt_to_file", path, "",
   "file of age1... public keys, one a line", scope_backup},
  {"identity-file", "CONSUL_SNAPSHOT_IDENTITY_FILE", "crypto.identity_file", path, "",
   "age identity file (as age-keygen writes) that decrypts backups", storage_commands},
  {"allow-unencrypted", "CONSUL_SNAPSHOT_ALLOW_UNENCRYPTED", "crypto.allow_unencrypted", boolean,
   "false", "accept a backup that is not encrypted although CRYPTO_PASSWORD, --passphrase-file or "
   "--identity-file is set (refused otherwise: anyone who can write to the storage could have "
   "put it there); 'latest' then also picks unencrypted backups",
   scope_restore | scope_storage},
  {"scrypt-work-factor", "CONSUL_SNAPSHOT_SCRYPT_WORK_FACTOR", "crypto.scrypt_work_factor",
   integer, "18", "log2 of scrypt's cost for passphrase encryption (10 to 22)", scope_backup},
  {"max-work-factor", "CONSUL_SNAPSHOT_MAX_WORK_FACTOR", "crypto.max_work_factor", integer, "20",
   "highest scrypt work factor a passphrase-encrypted backup may ask for; a backup asking for "
   "more is refused before any work (each step doubles the cost: 22 takes 4 GiB of memory and "
   "seconds, for every backup list and inspect read) (10 to 22)", storage_commands},
};
// clang-format on

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
      return fmt::format("--{}", spec.name);
    case Source::env:
      return std::string(spec.env);
    case Source::file:
      return fmt::format("config file key {}", spec.file_key);
    default:
      return fmt::format("default of --{}", spec.name);
  }
}

Status validate(const OptionSpec& spec, const std::string& value, Source source) {
  auto fail = [&](std::string_view why) {
    return Error(ErrorKind::invalid_argument,
                 fmt::format("{}: {} (from {})", spec.name, why, describe_source(spec, source)));
  };
  switch (spec.type) {
    case integer: {
      std::int64_t parsed = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), parsed);
      if (ec != std::errc() || end != value.data() + value.size()) {
        return fail(fmt::format("'{}' is not a whole number", value));
      }
      break;
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
      break;
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
      flatten(child, prefix.empty() ? key : prefix + "." + key, out);
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
  return options;
}

const OptionSpec* find_option(std::string_view name) {
  for (const auto& spec : options) {
    if (spec.name == name)
      return &spec;
  }
  return nullptr;
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

std::optional<std::chrono::seconds> parse_duration(std::string_view text) {
  if (text.empty())
    return std::nullopt;
  std::int64_t total = 0;
  bool bare = text.find_first_not_of("0123456789") == std::string_view::npos;
  if (bare) {
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), total);
    if (ec != std::errc() || end != text.data() + text.size())
      return std::nullopt;
    return std::chrono::seconds(total);
  }
  while (!text.empty()) {
    if (text.front() < '0' || text.front() > '9')
      return std::nullopt;
    std::int64_t number = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
    if (ec != std::errc() || end == text.data())
      return std::nullopt;
    text.remove_prefix(static_cast<std::size_t>(end - text.data()));
    if (text.empty())
      return std::nullopt;  // "1h30" has no unit on its last part
    std::int64_t unit = 0;
    switch (text.front()) {
      case 's':
        unit = 1;
        break;
      case 'm':
        unit = 60;
        break;
      case 'h':
        unit = 3600;
        break;
      case 'd':
        unit = 86400;
        break;
      default:
        return std::nullopt;
    }
    text.remove_prefix(1);
    if (number > (INT64_MAX - total) / unit)
      return std::nullopt;
    total += number * unit;
  }
  return std::chrono::seconds(total);
}

const Config::Value* Config::find(std::string_view name) const {
  auto it = values_.find(name);
  return it == values_.end() ? nullptr : &it->second;
}

bool Config::is_set(std::string_view name) const {
  const auto* value = find(name);
  return value != nullptr && value->source != Source::none &&
         value->source != Source::default_value;
}

Source Config::source(std::string_view name) const {
  const auto* value = find(name);
  return value == nullptr ? Source::none : value->source;
}

std::string Config::string(std::string_view name) const {
  const auto* value = find(name);
  return value == nullptr ? std::string() : value->text;
}

std::int64_t Config::integer(std::string_view name) const {
  auto text = string(name);
  std::int64_t out = 0;
  std::from_chars(text.data(), text.data() + text.size(), out);
  return out;
}

bool Config::boolean(std::string_view name) const {
  return parse_bool(string(name)).value_or(false);
}

std::chrono::seconds Config::duration(std::string_view name) const {
  return parse_duration(string(name)).value_or(std::chrono::seconds(0));
}

Secret Config::secret(std::string_view name) const {
  return Secret(string(name));
}

std::string Config::describe() const {
  std::string out;
  for (const auto& spec : options) {
    const auto* value = find(spec.name);
    if (value == nullptr || value->source == Source::none)
      continue;
    std::string shown =
        spec.type == OptionType::secret ? std::string(Secret::redacted) : value->text;
    out += fmt::format("{} = {} ({})\n", spec.name, shown, to_string(value->source));
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
    const auto* spec = find_option(name);
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
    if (auto it = input.flags.find("config"); it != input.flags.end()) {
      config_path = it->second;
    } else if (auto env = getenv("CONSUL_SNAPSHOT_CONFIG"); env && !env->empty()) {
      config_path = *env;
    }
  }
  FlatMap file_values;
  if (!config_path.empty()) {
    CSNAP_ASSIGN_OR_RETURN(file_values, read_config_file(config_path));
    for (const auto& [key, value] : file_values) {
      bool known = std::any_of(std::begin(options), std::end(options),
                               [&](const OptionSpec& spec) { return spec.file_key == key; });
      if (!known) {
        return Error(ErrorKind::invalid_argument,
                     fmt::format("config file {}: unknown key '{}'", config_path, key));
      }
    }
  }

  Config config;
  for (const auto& spec : options) {
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
    config.set(spec.name, std::move(value));
  }
  return config;
}

}  // namespace csnap::config

namespace csnap::config {

std::string reference_markdown() {
  std::string out =
      "| flag | environment | file key | default | description |\n"
      "|---|---|---|---|---|\n";
  for (const auto& spec : option_table()) {
    std::string flag = spec.flag_allowed ? fmt::format("`--{}`", spec.name) : "(not a flag)";
    std::string help(spec.help);
    if (spec.type == OptionType::choice)
      help += fmt::format(" (`{}`)", spec.choices);
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
