#pragma once
// Options as the commands read them. A value comes from the first of the flag, the environment
// variable and the config-file key that is set (flag > env > file), else the default; it is
// checked against the table (type, choices, range) when the configuration is loaded, so reading
// it cannot fail. Each option is read through its typed constant below (`option::kLockTtl`): a
// misspelt constant, or a constant whose name or type disagrees with the table, does not compile.

#include <chrono>
#include <cstdint>
#include <functional>
#include <iterator>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "config/option_table.hpp"
#include "util/result.hpp"
#include "util/secret.hpp"

namespace csnap::config {

namespace detail {

// Not constexpr: reaching either while a constant `Option` is made stops the compilation, and
// the compiler's message names the function.
void no_option_of_this_name_in_the_table();
void option_read_as_another_type_than_the_table_says();

// Whether an option of `type` is read as a `T`.
template <typename T>
consteval bool reads_as(OptionType type) {
  if constexpr (std::is_same_v<T, std::string>) {
    return type == OptionType::string || type == OptionType::path || type == OptionType::choice;
  } else if constexpr (std::is_same_v<T, std::int64_t>) {
    return type == OptionType::integer;
  } else if constexpr (std::is_same_v<T, bool>) {
    return type == OptionType::boolean;
  } else if constexpr (std::is_same_v<T, std::chrono::seconds>) {
    return type == OptionType::duration;
  } else if constexpr (std::is_same_v<T, Secret>) {
    return type == OptionType::secret;
  } else {
    return false;
  }
}

template <typename T>
consteval std::size_t table_index(std::string_view name) {
  for (std::size_t index = 0; index < std::size(kOptionTable); ++index) {
    if (kOptionTable[index].name == name) {
      if (!reads_as<T>(kOptionTable[index].type))
        option_read_as_another_type_than_the_table_says();
      return index;
    }
  }
  no_option_of_this_name_in_the_table();
  return 0;
}

}  // namespace detail

// An option of the table read as a `T`: std::string (string, path, choice), std::int64_t,
// bool, std::chrono::seconds or Secret. Made only at compile time, from a name of the table.
template <typename T>
class Option {
 public:
  consteval explicit Option(std::string_view name) : index_(detail::table_index<T>(name)) {}

  constexpr const OptionSpec& spec() const { return kOptionTable[index_]; }
  constexpr std::string_view name() const { return spec().name; }
  constexpr std::size_t index() const { return index_; }

 private:
  std::size_t index_;
};

// One constant for each row of the table, named after its flag.
namespace option {
inline constexpr Option<std::string> kConfig{"config"};
inline constexpr Option<std::string> kLogLevel{"log-level"};
inline constexpr Option<std::string> kLogFormat{"log-format"};
inline constexpr Option<std::string> kConsulAddr{"consul-addr"};
inline constexpr Option<Secret> kConsulToken{"consul-token"};
inline constexpr Option<std::string> kConsulTokenFile{"consul-token-file"};
inline constexpr Option<Secret> kConsulHttpAuth{"consul-http-auth"};
inline constexpr Option<bool> kConsulSsl{"consul-ssl"};
inline constexpr Option<bool> kConsulSslVerify{"consul-ssl-verify"};
inline constexpr Option<std::string> kConsulCacert{"consul-cacert"};
inline constexpr Option<std::string> kConsulCapath{"consul-capath"};
inline constexpr Option<std::string> kConsulClientCert{"consul-client-cert"};
inline constexpr Option<std::string> kConsulClientKey{"consul-client-key"};
inline constexpr Option<std::string> kConsulTlsServerName{"consul-tls-server-name"};
inline constexpr Option<std::chrono::seconds> kConsulTimeout{"consul-timeout"};
inline constexpr Option<std::string> kLocalDir{"local-dir"};
inline constexpr Option<std::string> kLocalBackupFile{"local-backup-file"};
inline constexpr Option<std::string> kUploadPrefix{"upload-prefix"};
inline constexpr Option<std::string> kTmpDir{"tmp-dir"};
inline constexpr Option<std::string> kCompression{"compression"};
inline constexpr Option<std::string> kBackupMode{"backup-mode"};
inline constexpr Option<bool> kStale{"stale"};
inline constexpr Option<std::string> kHostname{"hostname"};
inline constexpr Option<std::chrono::seconds> kInterval{"interval"};
inline constexpr Option<bool> kLock{"lock"};
inline constexpr Option<std::string> kLockKey{"lock-key"};
inline constexpr Option<std::chrono::seconds> kLockTtl{"lock-ttl"};
inline constexpr Option<std::chrono::seconds> kLockDelay{"lock-delay"};
inline constexpr Option<std::string> kLastbackupKey{"lastbackup-key"};
inline constexpr Option<std::string> kHttpAddr{"http-addr"};
inline constexpr Option<std::chrono::seconds> kHealthMaxAge{"health-max-age"};
inline constexpr Option<bool> kRegisterService{"register-service"};
inline constexpr Option<std::string> kServiceName{"service-name"};
inline constexpr Option<std::chrono::seconds> kShutdownGrace{"shutdown-grace"};
inline constexpr Option<std::int64_t> kKeepLast{"keep-last"};
inline constexpr Option<std::chrono::seconds> kKeepWithin{"keep-within"};
inline constexpr Option<std::int64_t> kKeepHourly{"keep-hourly"};
inline constexpr Option<std::int64_t> kKeepDaily{"keep-daily"};
inline constexpr Option<std::int64_t> kKeepWeekly{"keep-weekly"};
inline constexpr Option<std::int64_t> kKeepMonthly{"keep-monthly"};
inline constexpr Option<bool> kConfirmShrink{"confirm-shrink"};
inline constexpr Option<bool> kDryRun{"dry-run"};
inline constexpr Option<bool> kYes{"yes"};
inline constexpr Option<std::string> kOnly{"only"};
inline constexpr Option<std::string> kPrefix{"prefix"};
inline constexpr Option<std::string> kTransform{"transform"};
inline constexpr Option<std::string> kMode{"mode"};
inline constexpr Option<bool> kForce{"force"};
inline constexpr Option<bool> kAllowPartial{"allow-partial"};
inline constexpr Option<std::string> kStorage{"storage"};
inline constexpr Option<std::string> kS3Bucket{"s3-bucket"};
inline constexpr Option<std::string> kS3Region{"s3-region"};
inline constexpr Option<std::string> kS3Endpoint{"s3-endpoint"};
inline constexpr Option<std::string> kS3Sse{"s3-sse"};
inline constexpr Option<std::string> kS3SseKmsKeyId{"s3-sse-kms-key-id"};
inline constexpr Option<std::chrono::seconds> kStorageTimeout{"storage-timeout"};
inline constexpr Option<std::string> kAwsAccessKeyId{"aws-access-key-id"};
inline constexpr Option<Secret> kAwsSecretAccessKey{"aws-secret-access-key"};
inline constexpr Option<Secret> kAwsSessionToken{"aws-session-token"};
inline constexpr Option<std::string> kAwsProfile{"aws-profile"};
inline constexpr Option<std::string> kGcsBucket{"gcs-bucket"};
inline constexpr Option<Secret> kCryptoPassword{"crypto-password"};
inline constexpr Option<std::string> kPassphraseFile{"passphrase-file"};
inline constexpr Option<std::string> kEncryptTo{"encrypt-to"};
inline constexpr Option<std::string> kEncryptToFile{"encrypt-to-file"};
inline constexpr Option<std::string> kIdentityFile{"identity-file"};
inline constexpr Option<bool> kAllowUnencrypted{"allow-unencrypted"};
inline constexpr Option<std::int64_t> kScryptWorkFactor{"scrypt-work-factor"};
inline constexpr Option<std::int64_t> kMaxWorkFactor{"max-work-factor"};
}  // namespace option

std::span<const OptionSpec> option_table();

enum class Source { none, default_value, file, env, flag };
std::string_view to_string(Source source);

// Resolved options, validated when resolved, so the getters cannot fail.
class Config {
 public:
  struct Value {
    std::string text;
    Source source = Source::none;
  };

  std::string get(Option<std::string> option) const;
  std::int64_t get(Option<std::int64_t> option) const;
  bool get(Option<bool> option) const;
  std::chrono::seconds get(Option<std::chrono::seconds> option) const;
  Secret get(Option<Secret> option) const;

  // Set by flag, env or file (not by default).
  template <typename T>
  bool is_set(Option<T> option) const {
    auto from = value_of(option.index()).source;
    return from != Source::none && from != Source::default_value;
  }
  template <typename T>
  Source source(Option<T> option) const {
    return value_of(option.index()).source;
  }

  // The values of every secret option that has one, for the log's scrubber.
  std::vector<Secret> secrets() const;
  // One line per option that has a value: `name = value (source)`, secrets as **redacted**.
  std::string describe() const;

 private:
  friend struct ConfigBuilder;
  const Value& value_of(std::size_t index) const { return values_[index]; }
  std::vector<Value> values_ = std::vector<Value>(std::size(kOptionTable));
};

// A check of an option's value that the table cannot spell as a type, choices or range, because
// the syntax belongs to the module that reads the value (`--only` to ops, `--http-addr` to the
// daemon...). The module's own parser is the check, so the value is checked when the
// configuration is loaded by the same code that reads it later. cli/option_checks.cpp lists them.
struct ValueCheck {
  template <typename T>
  ValueCheck(Option<T> option, std::function<Status(std::string_view)> parser)
      : index(option.index()), check(std::move(parser)) {}

  std::size_t index;
  std::function<Status(std::string_view)> check;  // its error says what is wrong and allowed
};

struct ResolveInput {
  std::map<std::string, std::string, std::less<>> flags;  // option name -> value given on argv
  std::function<std::optional<std::string>(std::string_view)> getenv;  // defaults to ::getenv
  std::string config_file;                                             // "" for none
  unsigned scope = scope_global;
  std::vector<ValueCheck> checks;  // run on each value that is set, after the table's checks
};

// Merges flags, environment, config file and defaults, and checks every value against the
// table (its type, choices and range) and `input.checks`. An error names the option, where its
// value came from (the flag, the variable or the config-file key) and what is allowed.
Result<Config> resolve(const ResolveInput& input);

// The range of `spec` in words ("10 to 22", "1 or more", "10s to 1d"); "" when it has none.
std::string allowed_range(const OptionSpec& spec);

// The option table as a Markdown table, for docs/configuration.md (a test keeps them equal).
std::string reference_markdown();

}  // namespace csnap::config
