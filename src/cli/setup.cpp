#include "cli/setup.hpp"

#include <chrono>

#include <fmt/format.h>

#include "ops/restore.hpp"
#include "storage/registry.hpp"
#include "util/file.hpp"
#include "util/log.hpp"
#include "util/text.hpp"

namespace csnap::cli {
namespace {

// Reads a file an option names; errors name the option.
Result<std::string> read_option_file(const config::Config& config, std::string_view option) {
  auto text = read_file(config.string(option));
  if (!text.ok()) {
    return Error(ErrorKind::invalid_argument,
                 fmt::format("--{}: {}", option, text.error().message()));
  }
  return text;
}

Error as_config_error(std::string_view option, const Error& error) {
  return Error(ErrorKind::invalid_argument, fmt::format("--{}: {}", option, error.message()));
}

}  // namespace

consul::Settings consul_settings(const config::Config& config) {
  consul::Settings settings;
  settings.address = config.string("consul-addr");
  settings.token = config.secret("consul-token");
  settings.token_file = config.string("consul-token-file");
  settings.http_auth = config.secret("consul-http-auth");
  if (config.is_set("consul-ssl"))
    settings.ssl = config.boolean("consul-ssl");
  settings.ssl_verify = config.boolean("consul-ssl-verify");
  settings.ca_file = config.string("consul-cacert");
  settings.ca_path = config.string("consul-capath");
  settings.client_cert = config.string("consul-client-cert");
  settings.client_key = config.string("consul-client-key");
  settings.tls_server_name = config.string("consul-tls-server-name");
  settings.request_timeout =
      std::chrono::duration_cast<std::chrono::milliseconds>(config.duration("consul-timeout"));
  return settings;
}

Result<std::unique_ptr<consul::Client>> connect_consul(const config::Config& config) {
  auto client = consul::Client::create(consul_settings(config));
  if (!client.ok()) {
    // Bad Consul settings are configuration errors: exit code 2.
    if (client.error().kind() == ErrorKind::not_found ||
        client.error().kind() == ErrorKind::permission_denied) {
      return Error(ErrorKind::invalid_argument, client.error().message());
    }
  }
  return client;
}

Result<std::unique_ptr<storage::Backend>> open_storage(const config::Config& config) {
  storage::StorageSettings settings;
  settings.url = config.string("storage");
  settings.local_dir = config.string("local-dir");
  settings.s3_bucket = config.string("s3-bucket");
  settings.s3_region = config.string("s3-region");
  settings.s3_endpoint = config.string("s3-endpoint");
  settings.s3_sse = config.string("s3-sse");
  settings.s3_sse_kms_key_id = config.string("s3-sse-kms-key-id");
  settings.aws_access_key_id = config.string("aws-access-key-id");
  settings.aws_secret_access_key = config.secret("aws-secret-access-key");
  settings.aws_session_token = config.secret("aws-session-token");
  settings.aws_profile = config.string("aws-profile");
  settings.request_timeout =
      std::chrono::duration_cast<std::chrono::milliseconds>(config.duration("storage-timeout"));
  return storage::open_backend(settings);
}

Result<ops::EncryptionSettings> encryption_settings(const config::Config& config) {
  ops::EncryptionSettings settings;
  if (config.is_set("crypto-password")) {
    settings.passphrase = config.secret("crypto-password");
  } else if (config.is_set("passphrase-file")) {
    CSNAP_ASSIGN_OR_RETURN(auto text, read_option_file(config, "passphrase-file"));
    auto line = trim(std::string_view(text).substr(0, text.find('\n')));
    if (line.empty()) {
      return Error(ErrorKind::invalid_argument,
                   "--passphrase-file: the file's first line is empty");
    }
    settings.passphrase = Secret(std::string(line));
    log::register_secret(line);
  }
  if (config.is_set("encrypt-to")) {
    auto recipients = ops::parse_recipients(config.string("encrypt-to"));
    if (!recipients.ok())
      return as_config_error("encrypt-to", recipients.error());
    settings.recipients = std::move(recipients).value();
  }
  if (config.is_set("encrypt-to-file")) {
    CSNAP_ASSIGN_OR_RETURN(auto text, read_option_file(config, "encrypt-to-file"));
    auto recipients = ops::parse_recipients(text);
    if (!recipients.ok())
      return as_config_error("encrypt-to-file", recipients.error());
    if (recipients->empty()) {
      return Error(ErrorKind::invalid_argument, "--encrypt-to-file: the file holds no age1... key");
    }
    settings.recipients.insert(settings.recipients.end(), recipients->begin(), recipients->end());
  }
  if (config.is_set("identity-file")) {
    CSNAP_ASSIGN_OR_RETURN(auto text, read_option_file(config, "identity-file"));
    auto identities = codec::age::parse_identity_file(text);
    if (!identities.ok())
      return as_config_error("identity-file", identities.error());
    settings.identities = std::move(identities).value();
  }
  auto factor = config.integer("scrypt-work-factor");
  if (factor < 10 || factor > codec::age::kMaxScryptWorkFactor) {
    return Error(ErrorKind::invalid_argument,
                 fmt::format("--scrypt-work-factor {}: use 10 to {}", factor,
                             codec::age::kMaxScryptWorkFactor));
  }
  settings.scrypt_work_factor = static_cast<int>(factor);
  settings.allow_unencrypted = config.boolean("allow-unencrypted");
  auto max_factor = config.integer("max-work-factor");
  if (max_factor < 10 || max_factor > codec::age::kMaxScryptWorkFactor) {
    return Error(ErrorKind::invalid_argument,
                 fmt::format("--max-work-factor {}: use 10 to {}", max_factor,
                             codec::age::kMaxScryptWorkFactor));
  }
  settings.max_scrypt_work_factor = static_cast<int>(max_factor);
  return settings;
}

Result<std::set<std::string>> selected_kinds(const config::Config& config) {
  if (!config.is_set("only"))
    return std::set<std::string>{};
  return ops::parse_only(config.string("only"));
}

Result<std::optional<ops::RetentionPolicy>> retention_policy(const config::Config& config) {
  ops::RetentionPolicy policy;
  auto count = [&](std::string_view option, std::optional<std::int64_t>& target) -> Status {
    if (!config.is_set(option))
      return {};
    auto value = config.integer(option);
    if (value < 1) {
      const auto* spec = config::find_option(option);
      return Error(ErrorKind::invalid_argument,
                   fmt::format("--{} {}: the count must be 1 or more; to not use this rule, "
                               "leave --{}{}{} unset",
                               option, value, option, spec && !spec->env.empty() ? " and " : "",
                               spec ? spec->env : ""));
    }
    target = value;
    return {};
  };
  CSNAP_TRY(count("keep-last", policy.keep_last));
  CSNAP_TRY(count("keep-hourly", policy.keep_hourly));
  CSNAP_TRY(count("keep-daily", policy.keep_daily));
  CSNAP_TRY(count("keep-weekly", policy.keep_weekly));
  CSNAP_TRY(count("keep-monthly", policy.keep_monthly));
  if (config.is_set("keep-within")) {
    auto within = config.duration("keep-within");
    if (within.count() <= 0) {
      return Error(ErrorKind::invalid_argument,
                   fmt::format("--keep-within '{}': give a duration longer than zero, like 7d",
                               config.string("keep-within")));
    }
    policy.keep_within = within;
  }
  if (policy.empty())
    return std::optional<ops::RetentionPolicy>{};
  return std::optional<ops::RetentionPolicy>{policy};
}

}  // namespace csnap::cli
