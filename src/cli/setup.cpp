#include "cli/setup.hpp"

#include <chrono>

#include <fmt/format.h>

#include "ops/restore.hpp"
#include "storage/registry.hpp"
#include "util/file.hpp"
#include "util/log.hpp"
#include "util/text.hpp"

namespace csnap::cli {

static_assert(config::kMaxScryptWorkFactor == codec::age::kMaxScryptWorkFactor,
              "the option table's scrypt work factor range must be the one age accepts");

namespace {

// Reads a file an option names; errors name the option.
Result<std::string> read_option_file(const config::Config& config,
                                     config::Option<std::string> file_option) {
  auto text = read_file(config.get(file_option));
  if (!text.ok()) {
    return Error(ErrorKind::invalid_argument,
                 fmt::format("--{}: {}", file_option.name(), text.error().message()));
  }
  return text;
}

Error as_config_error(config::Option<std::string> source, const Error& error) {
  return Error(ErrorKind::invalid_argument,
               fmt::format("--{}: {}", source.name(), error.message()));
}

}  // namespace

consul::Settings consul_settings(const config::Config& config) {
  consul::Settings settings;
  settings.address = config.get(option::kConsulAddr);
  settings.token = config.get(option::kConsulToken);
  settings.token_file = config.get(option::kConsulTokenFile);
  settings.http_auth = config.get(option::kConsulHttpAuth);
  if (config.is_set(option::kConsulSsl))
    settings.ssl = config.get(option::kConsulSsl);
  settings.ssl_verify = config.get(option::kConsulSslVerify);
  settings.ca_file = config.get(option::kConsulCacert);
  settings.ca_path = config.get(option::kConsulCapath);
  settings.client_cert = config.get(option::kConsulClientCert);
  settings.client_key = config.get(option::kConsulClientKey);
  settings.tls_server_name = config.get(option::kConsulTlsServerName);
  settings.request_timeout =
      std::chrono::duration_cast<std::chrono::milliseconds>(config.get(option::kConsulTimeout));
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
  settings.url = config.get(option::kStorage);
  settings.local_dir = config.get(option::kLocalDir);
  settings.s3_bucket = config.get(option::kS3Bucket);
  settings.s3_region = config.get(option::kS3Region);
  settings.s3_endpoint = config.get(option::kS3Endpoint);
  settings.s3_sse = config.get(option::kS3Sse);
  settings.s3_sse_kms_key_id = config.get(option::kS3SseKmsKeyId);
  settings.aws_access_key_id = config.get(option::kAwsAccessKeyId);
  settings.aws_secret_access_key = config.get(option::kAwsSecretAccessKey);
  settings.aws_session_token = config.get(option::kAwsSessionToken);
  settings.aws_profile = config.get(option::kAwsProfile);
  settings.request_timeout =
      std::chrono::duration_cast<std::chrono::milliseconds>(config.get(option::kStorageTimeout));
  return storage::open_backend(settings);
}

Result<ops::EncryptionSettings> encryption_settings(const config::Config& config) {
  ops::EncryptionSettings settings;
  if (config.is_set(option::kCryptoPassword)) {
    settings.passphrase = config.get(option::kCryptoPassword);
  } else if (config.is_set(option::kPassphraseFile)) {
    CSNAP_ASSIGN_OR_RETURN(auto text, read_option_file(config, option::kPassphraseFile));
    auto line = trim(std::string_view(text).substr(0, text.find('\n')));
    if (line.empty()) {
      return Error(ErrorKind::invalid_argument,
                   "--passphrase-file: the file's first line is empty");
    }
    settings.passphrase = Secret(std::string(line));
    log::register_secret(line);
  }
  if (config.is_set(option::kEncryptTo)) {
    auto recipients = ops::parse_recipients(config.get(option::kEncryptTo));
    if (!recipients.ok())
      return as_config_error(option::kEncryptTo, recipients.error());
    settings.recipients = std::move(recipients).value();
  }
  if (config.is_set(option::kEncryptToFile)) {
    CSNAP_ASSIGN_OR_RETURN(auto text, read_option_file(config, option::kEncryptToFile));
    auto recipients = ops::parse_recipients(text);
    if (!recipients.ok())
      return as_config_error(option::kEncryptToFile, recipients.error());
    if (recipients->empty()) {
      return Error(ErrorKind::invalid_argument, "--encrypt-to-file: the file holds no age1... key");
    }
    settings.recipients.insert(settings.recipients.end(), recipients->begin(), recipients->end());
  }
  if (config.is_set(option::kIdentityFile)) {
    CSNAP_ASSIGN_OR_RETURN(auto text, read_option_file(config, option::kIdentityFile));
    auto identities = codec::age::parse_identity_file(text);
    if (!identities.ok())
      return as_config_error(option::kIdentityFile, identities.error());
    settings.identities = std::move(identities).value();
  }
  // Both in the table's range (checked when the configuration was loaded).
  settings.scrypt_work_factor = static_cast<int>(config.get(option::kScryptWorkFactor));
  settings.allow_unencrypted = config.get(option::kAllowUnencrypted);
  settings.max_scrypt_work_factor = static_cast<int>(config.get(option::kMaxWorkFactor));
  return settings;
}

Result<std::set<std::string>> selected_kinds(const config::Config& config) {
  if (!config.is_set(option::kOnly))
    return std::set<std::string>{};
  return ops::parse_only(config.get(option::kOnly));
}

Result<std::optional<ops::RetentionPolicy>> retention_policy(const config::Config& config) {
  // Counts are 1 or more and durations longer than zero: the table's ranges, checked when the
  // configuration was loaded.
  ops::RetentionPolicy policy;
  auto count = [&](config::Option<std::int64_t> rule, std::optional<std::int64_t>& target) {
    if (config.is_set(rule))
      target = config.get(rule);
  };
  count(option::kKeepLast, policy.keep_last);
  count(option::kKeepHourly, policy.keep_hourly);
  count(option::kKeepDaily, policy.keep_daily);
  count(option::kKeepWeekly, policy.keep_weekly);
  count(option::kKeepMonthly, policy.keep_monthly);
  if (config.is_set(option::kKeepWithin))
    policy.keep_within = config.get(option::kKeepWithin);
  if (policy.empty())
    return std::optional<ops::RetentionPolicy>{};
  return std::optional<ops::RetentionPolicy>{policy};
}

}  // namespace csnap::cli
