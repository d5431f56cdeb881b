#include "storage/aws_credentials.hpp"

#include <cstdlib>
#include <filesystem>
#include <system_error>

#include <fmt/format.h>

#include "storage/aws_remote_credentials.hpp"
#include "util/file.hpp"
#include "util/log.hpp"
#include "util/text.hpp"

namespace csnap::storage {
namespace {

Error nothing_found(std::string message) {
  return Error(ErrorKind::not_found, std::move(message));
}

std::string value_or_empty(const std::optional<std::string>& value) {
  return value.value_or(std::string());
}

// The file at `path`: its sections, or nullopt when it does not exist.
Result<std::optional<AwsIniFile>> load_ini(const std::string& path) {
  std::error_code error;
  if (path.empty() || !std::filesystem::exists(path, error))
    return std::optional<AwsIniFile>();
  CSNAP_ASSIGN_OR_RETURN(auto text, read_file(path));
  auto parsed = parse_aws_ini(text);
  if (!parsed.ok())
    return std::move(parsed.error().add_context(fmt::format("reading {}", path)));
  return std::optional<AwsIniFile>(std::move(parsed).value());
}

const std::map<std::string, std::string>* find_section(const std::optional<AwsIniFile>& file,
                                                       const std::string& name) {
  if (!file)
    return nullptr;
  auto it = file->find(name);
  return it == file->end() ? nullptr : &it->second;
}

// The config file names a profile "profile NAME", except the default profile, which may be
// either "default" or "profile default".
const std::map<std::string, std::string>* find_config_profile(const std::optional<AwsIniFile>& file,
                                                              const std::string& profile) {
  if (const auto* section = find_section(file, "profile " + profile))
    return section;
  return profile == "default" ? find_section(file, "default") : nullptr;
}

std::string lookup(const std::map<std::string, std::string>* section, const std::string& key) {
  if (section == nullptr)
    return {};
  auto it = section->find(key);
  return it == section->end() ? std::string() : it->second;
}

}  // namespace

EnvironmentLookup process_environment() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* value = std::getenv(std::string(name).c_str());
    if (value == nullptr || *value == '\0')
      return std::nullopt;
    return std::string(value);
  };
}

std::optional<std::string> first_set(const EnvironmentLookup& environment,
                                     std::initializer_list<std::string_view> names) {
  for (auto name : names) {
    if (auto value = environment(name))
      return value;
  }
  return std::nullopt;
}

void register_secrets(const AwsCredentials& credentials) {
  log::register_secret(credentials.secret_access_key.reveal());
  log::register_secret(credentials.session_token.reveal());
}

StaticCredentialsProvider::StaticCredentialsProvider(AwsCredentials credentials)
    : credentials_(std::move(credentials)) {
  if (credentials_.source.empty())
    credentials_.source = "configuration";
}

Result<AwsCredentials> StaticCredentialsProvider::fetch() {
  if (credentials_.access_key_id.empty())
    return nothing_found("no access key in the configuration");
  register_secrets(credentials_);
  return credentials_;
}

EnvironmentCredentialsProvider::EnvironmentCredentialsProvider(EnvironmentLookup environment)
    : environment_(std::move(environment)) {}

Result<AwsCredentials> EnvironmentCredentialsProvider::fetch() {
  auto key = environment_("AWS_ACCESS_KEY_ID");
  auto secret = environment_("AWS_SECRET_ACCESS_KEY");
  if (!key && !secret)
    return nothing_found("AWS_ACCESS_KEY_ID is not set");
  if (!key || !secret) {
    return Error(
        ErrorKind::invalid_argument,
        fmt::format("{} is set but {} is not", key ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
                    key ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID"));
  }
  AwsCredentials credentials{*key, Secret(*secret),
                             Secret(value_or_empty(environment_("AWS_SESSION_TOKEN"))),
                             std::nullopt, "environment"};
  register_secrets(credentials);
  return credentials;
}

Result<AwsIniFile> parse_aws_ini(std::string_view text) {
  AwsIniFile out;
  std::string section;
  bool in_section = false;
  std::size_t line_number = 0;
  while (!text.empty()) {
    auto newline = text.find('\n');
    std::string_view raw = text.substr(0, newline);
    text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
    ++line_number;
    if (!raw.empty() && raw.back() == '\r')
      raw.remove_suffix(1);
    bool indented = !raw.empty() && (raw.front() == ' ' || raw.front() == '\t');
    std::string_view line = trim(raw);
    if (line.empty() || line.front() == '#' || line.front() == ';')
      continue;
    if (line.front() == '[') {
      if (line.back() != ']') {
        return Error(ErrorKind::invalid_argument,
                     fmt::format("line {}: a section header must end with ']'", line_number));
      }
      // "[profile  name]" and "[ name ]": inner white space is not significant.
      std::string_view inner = trim(line.substr(1, line.size() - 2));
      std::string name;
      if (inner.starts_with("profile ") || inner.starts_with("profile\t")) {
        name = "profile " + std::string(trim(inner.substr(8)));
      } else {
        name = std::string(inner);
      }
      section = name;
      in_section = true;
      out[section];
      continue;
    }
    if (indented)
      continue;  // a nested sub-key ("s3 =\n  max_concurrent_requests = 4"): not used here
    auto equals = line.find('=');
    if (equals == std::string_view::npos || !in_section) {
      return Error(ErrorKind::invalid_argument,
                   fmt::format("line {}: expected '[section]' or 'key = value'", line_number));
    }
    // Values never appear in messages: they may be secrets.
    out[section][to_lower(trim(line.substr(0, equals)))] =
        std::string(trim(line.substr(equals + 1)));
  }
  return out;
}

ProfileOptions ProfileOptions::from_environment(const EnvironmentLookup& environment) {
  ProfileOptions options;
  if (auto profile = environment("AWS_PROFILE")) {
    options.profile = *profile;
    options.profile_was_chosen = true;
  }
  std::string home = value_or_empty(environment("HOME"));
  options.credentials_file = environment("AWS_SHARED_CREDENTIALS_FILE")
                                 .value_or(home.empty() ? "" : home + "/.aws/credentials");
  options.config_file =
      environment("AWS_CONFIG_FILE").value_or(home.empty() ? "" : home + "/.aws/config");
  options.sts_endpoint =
      environment("AWS_ENDPOINT_URL_STS").value_or(value_or_empty(environment("AWS_ENDPOINT_URL")));
  options.sts_endpoint_origin = sts_endpoint_variable(environment);
  options.region =
      environment("AWS_REGION").value_or(value_or_empty(environment("AWS_DEFAULT_REGION")));
  return options;
}

ProfileCredentialsProvider::ProfileCredentialsProvider(ProfileOptions options)
    : options_(std::move(options)) {}

std::string ProfileCredentialsProvider::name() const {
  return fmt::format("profile {}", options_.profile);
}

Result<AwsCredentials> ProfileCredentialsProvider::fetch() {
  CSNAP_ASSIGN_OR_RETURN(auto credentials_file, load_ini(options_.credentials_file));
  CSNAP_ASSIGN_OR_RETURN(auto config_file, load_ini(options_.config_file));
  const auto* from_credentials = find_section(credentials_file, options_.profile);
  const auto* from_config = find_config_profile(config_file, options_.profile);
  if (from_credentials == nullptr && from_config == nullptr) {
    std::string message = fmt::format(
        "profile '{}' is in neither {} nor {}", options_.profile,
        options_.credentials_file.empty() ? "(no credentials file)" : options_.credentials_file,
        options_.config_file.empty() ? "(no config file)" : options_.config_file);
    if (options_.profile_was_chosen)
      return Error(ErrorKind::invalid_argument, std::move(message));
    return nothing_found(std::move(message));
  }
  // The credentials file wins over the config file, key by key.
  auto get = [&](const std::string& key) {
    auto value = lookup(from_credentials, key);
    return value.empty() ? lookup(from_config, key) : value;
  };
  std::string key = get("aws_access_key_id");
  std::string secret = get("aws_secret_access_key");
  std::string token = get("aws_session_token");
  if (token.empty())
    token = get("aws_security_token");
  std::string where =
      from_credentials != nullptr ? options_.credentials_file : options_.config_file;
  if (key.empty() && secret.empty() && !get("web_identity_token_file").empty()) {
    WebIdentitySettings settings;
    settings.token_file = get("web_identity_token_file");
    settings.role_arn = get("role_arn");
    settings.session_name = get("role_session_name");
    settings.token_file_origin =
        fmt::format("web_identity_token_file of profile '{}' in {}", options_.profile, where);
    if (settings.role_arn.empty()) {
      return Error(ErrorKind::invalid_argument,
                   fmt::format("profile '{}' in {} has web_identity_token_file but no role_arn",
                               options_.profile, where));
    }
    std::string region = options_.region.empty() ? get("region") : options_.region;
    settings.endpoint =
        options_.sts_endpoint.empty()
            ? sts_endpoint(
                  [](std::string_view) -> std::optional<std::string> { return std::nullopt; },
                  region)
            : options_.sts_endpoint;
    if (!options_.sts_endpoint.empty())
      settings.endpoint_origin = options_.sts_endpoint_origin;
    CSNAP_ASSIGN_OR_RETURN(auto assumed, assume_role_with_web_identity(settings));
    assumed.source = fmt::format("profile {} ({}), {}", options_.profile, where, assumed.source);
    return assumed;
  }
  if (key.empty() || secret.empty()) {
    for (const char* unsupported :
         {"role_arn", "credential_process", "sso_start_url", "sso_session"}) {
      if (!get(unsupported).empty()) {
        return Error(ErrorKind::invalid_argument,
                     fmt::format("profile '{}' in {} uses {}, which is not supported yet",
                                 options_.profile, where, unsupported));
      }
    }
    auto message = fmt::format("profile '{}' in {} has no {}", options_.profile, where,
                               key.empty() ? "aws_access_key_id" : "aws_secret_access_key");
    if (options_.profile_was_chosen || !key.empty() || !secret.empty())
      return Error(ErrorKind::invalid_argument, std::move(message));
    return nothing_found(std::move(message));
  }
  AwsCredentials credentials{key, Secret(secret), Secret(token), std::nullopt,
                             fmt::format("profile {} ({})", options_.profile, where)};
  register_secrets(credentials);
  return credentials;
}

std::optional<std::string> profile_region(const ProfileOptions& options) {
  auto config_file = load_ini(options.config_file);
  if (!config_file.ok())
    return std::nullopt;
  auto region = lookup(find_config_profile(*config_file, options.profile), "region");
  if (region.empty())
    return std::nullopt;
  return region;
}

CredentialsChain::CredentialsChain(std::vector<std::unique_ptr<CredentialsProvider>> providers)
    : providers_(std::move(providers)) {}

std::string CredentialsChain::name() const {
  std::string out;
  for (const auto& provider : providers_)
    out += (out.empty() ? "" : ", ") + provider->name();
  return out;
}

Result<AwsCredentials> CredentialsChain::fetch() {
  std::string tried;
  for (const auto& provider : providers_) {
    auto credentials = provider->fetch();
    if (credentials.ok()) {
      log::debug("aws credentials: using {} (from the {} source)", credentials->source,
                 provider->name());
      return credentials;
    }
    if (credentials.error().kind() != ErrorKind::not_found) {
      return std::move(credentials.error().add_context(
          fmt::format("AWS credentials from {}", provider->name())));
    }
    tried += fmt::format("; {}: {}", provider->name(), credentials.error().message());
  }
  return Error(ErrorKind::unauthenticated,
               fmt::format("no AWS credentials found (set AWS_ACCESS_KEY_ID and "
                           "AWS_SECRET_ACCESS_KEY, or AWS_PROFILE with ~/.aws/credentials, or "
                           "AWS_WEB_IDENTITY_TOKEN_FILE with AWS_ROLE_ARN, or run where container "
                           "or EC2 instance credentials are served){}",
                           tried));
}

CachedCredentials::CachedCredentials(std::unique_ptr<CredentialsProvider> inner,
                                     CachedCredentialsOptions options)
    : inner_(std::move(inner)), options_(std::move(options)) {
  if (!options_.now)
    options_.now = [] { return std::chrono::system_clock::now(); };
}

Result<AwsCredentials> CachedCredentials::fetch() {
  std::lock_guard lock(mutex_);
  if (cached_ &&
      (!cached_->expires || options_.now() + options_.refresh_margin < *cached_->expires)) {
    return *cached_;
  }
  CSNAP_ASSIGN_OR_RETURN(auto credentials, inner_->fetch());
  cached_ = credentials;
  return credentials;
}

std::unique_ptr<CredentialsProvider> default_credentials_chain(const EnvironmentLookup& environment,
                                                               DefaultChainOptions options) {
  std::vector<std::unique_ptr<CredentialsProvider>> providers;
  if (options.static_credentials) {
    providers.push_back(
        std::make_unique<StaticCredentialsProvider>(std::move(*options.static_credentials)));
  }
  providers.push_back(std::make_unique<EnvironmentCredentialsProvider>(environment));
  auto profile = ProfileOptions::from_environment(environment);
  if (!options.profile.empty()) {
    profile.profile = options.profile;
    profile.profile_was_chosen = true;
  }
  if (!options.region.empty())
    profile.region = options.region;
  providers.push_back(std::make_unique<ProfileCredentialsProvider>(std::move(profile)));
  providers.push_back(
      std::make_unique<WebIdentityCredentialsProvider>(environment, options.region));
  providers.push_back(std::make_unique<ContainerCredentialsProvider>(environment));
  providers.push_back(std::make_unique<InstanceProfileCredentialsProvider>(environment));
  return std::make_unique<CachedCredentials>(
      std::make_unique<CredentialsChain>(std::move(providers)));
}

}  // namespace csnap::storage
