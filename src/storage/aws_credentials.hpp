#pragma once
// AWS credentials and where they come from, in the SDKs' order: static settings, the environment,
// the shared credentials and config files (with AWS_PROFILE), then the services in
// aws_remote_credentials.hpp (web identity, container credentials, EC2 instance profile). Each
// source is a provider; a chain asks them in turn, and a cache refreshes temporary credentials
// before they expire.

#include <chrono>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"
#include "util/secret.hpp"

namespace csnap::storage {

struct AwsCredentials {
  std::string access_key_id;
  Secret secret_access_key;
  Secret session_token;  // empty unless the credentials are temporary
  std::optional<std::chrono::system_clock::time_point> expires{};
  std::string source;  // where they came from, for logs: "environment", "profile prod (...)"
};

// Looks up an environment variable; empty values count as unset. Tests pass their own.
using EnvironmentLookup = std::function<std::optional<std::string>(std::string_view name)>;
EnvironmentLookup process_environment();
// The value of the first of `names` that is set in `environment`, e.g. AWS_REGION before
// AWS_DEFAULT_REGION.
std::optional<std::string> first_set(const EnvironmentLookup& environment,
                                     std::initializer_list<std::string_view> names);

// Tells the log's scrubber about the secret key and session token of `credentials`: a second
// line of defence behind the Secret type.
void register_secrets(const AwsCredentials& credentials);

class CredentialsProvider {
 public:
  virtual ~CredentialsProvider() = default;
  // This source's credentials; `not_found` when it has none, so that a chain asks the next one.
  virtual Result<AwsCredentials> fetch() = 0;
  // What this source is, for messages: "environment".
  virtual std::string name() const = 0;
};

// Credentials given in the configuration.
class StaticCredentialsProvider final : public CredentialsProvider {
 public:
  explicit StaticCredentialsProvider(AwsCredentials credentials);
  Result<AwsCredentials> fetch() override;
  std::string name() const override { return "static"; }

 private:
  AwsCredentials credentials_;
};

// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN.
class EnvironmentCredentialsProvider final : public CredentialsProvider {
 public:
  explicit EnvironmentCredentialsProvider(EnvironmentLookup environment);
  Result<AwsCredentials> fetch() override;
  std::string name() const override { return "environment"; }

 private:
  EnvironmentLookup environment_;
};

// Sections of an AWS shared credentials or config file: section name -> key -> value.
using AwsIniFile = std::map<std::string, std::map<std::string, std::string>>;
// Parses the INI dialect of ~/.aws/credentials and ~/.aws/config (comments '#' and ';', nested
// indented sub-keys ignored); a line that is neither section, key nor comment is an error.
Result<AwsIniFile> parse_aws_ini(std::string_view text);

struct ProfileOptions {
  std::string profile = "default";
  std::string credentials_file;     // ~/.aws/credentials
  std::string config_file;          // ~/.aws/config
  bool profile_was_chosen = false;  // AWS_PROFILE was set: a missing profile is then an error
  // For a profile with web_identity_token_file: the STS endpoint (AWS_ENDPOINT_URL_STS or
  // AWS_ENDPOINT_URL) and region (AWS_REGION or AWS_DEFAULT_REGION); empty: the profile's region
  // and STS's endpoint there.
  std::string sts_endpoint{};
  std::string sts_endpoint_origin{};  // the variable that set `sts_endpoint`
  std::string region{};
  // AWS_PROFILE, AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE and the above, with the SDKs'
  // defaults.
  static ProfileOptions from_environment(const EnvironmentLookup& environment);
};

// A profile's keys from the shared credentials file, else from the config file; a profile with
// web_identity_token_file and role_arn (and role_session_name) assumes that role through STS.
class ProfileCredentialsProvider final : public CredentialsProvider {
 public:
  explicit ProfileCredentialsProvider(ProfileOptions options);
  Result<AwsCredentials> fetch() override;
  std::string name() const override;

 private:
  ProfileOptions options_;
};

// The profile's `region` from the config file, if any.
std::optional<std::string> profile_region(const ProfileOptions& options);

// Asks each provider in order and returns the first credentials found (logging at debug level
// which source gave them); an error other than `not_found` stops the search.
class CredentialsChain final : public CredentialsProvider {
 public:
  explicit CredentialsChain(std::vector<std::unique_ptr<CredentialsProvider>> providers);
  Result<AwsCredentials> fetch() override;
  std::string name() const override;

 private:
  std::vector<std::unique_ptr<CredentialsProvider>> providers_;
};

struct CachedCredentialsOptions {
  // Temporary credentials are fetched again this long before they expire.
  std::chrono::seconds refresh_margin{300};
  std::function<std::chrono::system_clock::time_point()> now{};
};

// Remembers what `inner` gave until it is about to expire; thread-safe.
class CachedCredentials final : public CredentialsProvider {
 public:
  explicit CachedCredentials(std::unique_ptr<CredentialsProvider> inner,
                             CachedCredentialsOptions options = {});
  Result<AwsCredentials> fetch() override;
  std::string name() const override { return inner_->name(); }

 private:
  std::unique_ptr<CredentialsProvider> inner_;
  CachedCredentialsOptions options_;
  std::mutex mutex_;
  std::optional<AwsCredentials> cached_;
};

struct DefaultChainOptions {
  std::optional<AwsCredentials> static_credentials{};  // from the configuration, asked first
  std::string profile{};                               // overrides AWS_PROFILE when set
  std::string region{};  // picks the STS endpoint for web identity; else AWS_REGION and friends
};

// The SDKs' chain, cached: static, environment, shared files, web identity, container
// credentials, EC2 instance profile (IMDSv2).
std::unique_ptr<CredentialsProvider> default_credentials_chain(const EnvironmentLookup& environment,
                                                               DefaultChainOptions options = {});

}  // namespace csnap::storage
