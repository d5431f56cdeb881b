#include "config/options.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace csnap::config {
namespace {

using Env = std::map<std::string, std::string, std::less<>>;

ResolveInput input_with(Env env, std::map<std::string, std::string, std::less<>> flags = {}) {
  ResolveInput input;
  input.flags = std::move(flags);
  input.getenv = [env = std::move(env)](std::string_view name) -> std::optional<std::string> {
    auto it = env.find(name);
    if (it == env.end())
      return std::nullopt;
    return it->second;
  };
  return input;
}

std::string write_temp(const std::string& name, const std::string& text) {
  auto path = std::filesystem::temp_directory_path() / name;
  std::ofstream(path) << text;
  return path.string();
}

TEST(Options, DefaultsApply) {
  auto config = resolve(input_with({}));
  ASSERT_TRUE(config.ok()) << config.error().message();
  EXPECT_EQ(config->get(option::kConsulAddr), "127.0.0.1:8500");
  EXPECT_EQ(config->get(option::kLocalDir), "./consul-snapshots");
  EXPECT_EQ(config->get(option::kUploadPrefix), "backups");
  EXPECT_EQ(config->get(option::kInterval).count(), 60);
  EXPECT_FALSE(config->is_set(option::kConsulAddr));
  EXPECT_EQ(config->source(option::kConsulAddr), Source::default_value);
}

TEST(Options, FlagBeatsEnvBeatsFileBeatsDefault) {
  auto file = write_temp("csnap-precedence.toml",
                         "[consul]\naddress = \"file:1\"\n[local]\ndir = \"/from/file\"\n"
                         "[storage]\nprefix = \"file-prefix\"\n");
  auto input = input_with({{"CONSUL_HTTP_ADDR", "env:2"}, {"LOCAL_DIR", "/from/env"}},
                          {{"consul-addr", "flag:3"}});
  input.config_file = file;
  auto config = resolve(input);
  ASSERT_TRUE(config.ok()) << config.error().message();
  EXPECT_EQ(config->get(option::kConsulAddr), "flag:3");
  EXPECT_EQ(config->source(option::kConsulAddr), Source::flag);
  EXPECT_EQ(config->get(option::kLocalDir), "/from/env");
  EXPECT_EQ(config->source(option::kLocalDir), Source::env);
  EXPECT_EQ(config->get(option::kUploadPrefix), "file-prefix");
  EXPECT_EQ(config->source(option::kUploadPrefix), Source::file);
  std::filesystem::remove(file);
}

TEST(Options, JsonConfigFile) {
  auto file = write_temp("csnap-config.json",
                         R"({"consul": {"ssl": true}, "backup": {"interval": "15m"}})");
  auto input = input_with({});
  input.config_file = file;
  auto config = resolve(input);
  ASSERT_TRUE(config.ok()) << config.error().message();
  EXPECT_TRUE(config->get(option::kConsulSsl));
  EXPECT_EQ(config->get(option::kInterval).count(), 900);
  std::filesystem::remove(file);
}

TEST(Options, UnknownFileKeyIsAnError) {
  auto file = write_temp("csnap-unknown.toml", "[consul]\nadress = \"typo\"\n");
  auto input = input_with({});
  input.config_file = file;
  auto config = resolve(input);
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.error().message().find("consul.adress"), std::string::npos);
  std::filesystem::remove(file);
}

TEST(Options, BadValuesNameTheOption) {
  auto config = resolve(input_with({{"BACKUPINTERVAL", "soon"}}));
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().kind(), ErrorKind::invalid_argument);
  EXPECT_NE(config.error().message().find("interval"), std::string::npos);
  EXPECT_NE(config.error().message().find("BACKUPINTERVAL"), std::string::npos);

  auto choice = resolve(input_with({}, {{"compression", "lzma"}}));
  ASSERT_FALSE(choice.ok());
  EXPECT_NE(choice.error().message().find("zstd|gzip"), std::string::npos);

  auto boolean = resolve(input_with({{"CONSUL_HTTP_SSL_VERIFY", "maybe"}}));
  ASSERT_FALSE(boolean.ok());
  EXPECT_NE(boolean.error().message().find("CONSUL_HTTP_SSL_VERIFY"), std::string::npos);
}

TEST(Options, SecretsAreRefusedOnTheCommandLineAndRedacted) {
  auto flagged = resolve(input_with({}, {{"consul-token", "abc-123"}}));
  ASSERT_FALSE(flagged.ok());
  EXPECT_NE(flagged.error().message().find("CONSUL_HTTP_TOKEN"), std::string::npos);
  EXPECT_EQ(flagged.error().message().find("abc-123"), std::string::npos);

  auto config = resolve(input_with({{"CONSUL_HTTP_TOKEN", "abc-123-secret"}}));
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->get(option::kConsulToken).reveal(), "abc-123-secret");
  auto described = config->describe();
  EXPECT_EQ(described.find("abc-123-secret"), std::string::npos);
  EXPECT_NE(described.find("consul-token = **redacted** (environment)"), std::string::npos);
}

TEST(Options, UnimplementedOriginalVariablesAreRefused) {
  auto input = input_with({{"GCSBUCKET", "bucket-name"}});
  input.scope = scope_backup;
  auto config = resolve(input);
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.error().message().find("GCSBUCKET"), std::string::npos);
  EXPECT_NE(config.error().message().find("Google Cloud Storage"), std::string::npos);
}

TEST(Options, EmptyEnvironmentValueMeansUnset) {
  auto config = resolve(input_with({{"CONSUL_HTTP_ADDR", ""}}));
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->get(option::kConsulAddr), "127.0.0.1:8500");
}

TEST(Options, TypedDefaultsComeFromTheTable) {
  auto config = resolve(input_with({}));
  ASSERT_TRUE(config.ok()) << config.error().message();
  EXPECT_EQ(config->get(option::kLockTtl), std::chrono::seconds(15));
  EXPECT_EQ(config->get(option::kStorageTimeout), std::chrono::minutes(5));
  EXPECT_EQ(config->get(option::kScryptWorkFactor), 18);
  EXPECT_EQ(config->get(option::kMaxWorkFactor), 20);
  EXPECT_TRUE(config->get(option::kLock));
  EXPECT_TRUE(config->get(option::kConsulSslVerify));
  EXPECT_FALSE(config->get(option::kForce));
  EXPECT_EQ(config->get(option::kMode), "merge");
  EXPECT_EQ(config->get(option::kConsulToken).reveal(), "");
  EXPECT_FALSE(config->is_set(option::kKeepLast));
  EXPECT_EQ(config->source(option::kKeepLast), Source::none);
  EXPECT_EQ(config->get(option::kKeepLast), 0);
}

TEST(Options, TypedValuesFromEachSource) {
  auto file =
      write_temp("csnap-typed.toml", "[daemon]\nlock_ttl = \"2m\"\n[retention]\nkeep_daily = 7\n");
  auto input =
      input_with({{"CONSUL_SNAPSHOT_SCRYPT_WORK_FACTOR", "12"}, {"CONSUL_SNAPSHOT_LOCK", "off"}},
                 {{"keep-last", "3"}});
  input.config_file = file;
  auto config = resolve(input);
  ASSERT_TRUE(config.ok()) << config.error().message();
  EXPECT_EQ(config->get(option::kLockTtl), std::chrono::minutes(2));
  EXPECT_EQ(config->source(option::kLockTtl), Source::file);
  EXPECT_EQ(config->get(option::kKeepDaily), 7);
  EXPECT_EQ(config->get(option::kScryptWorkFactor), 12);
  EXPECT_EQ(config->source(option::kScryptWorkFactor), Source::env);
  EXPECT_FALSE(config->get(option::kLock));
  EXPECT_TRUE(config->is_set(option::kLock));
  EXPECT_EQ(config->get(option::kKeepLast), 3);
  EXPECT_EQ(config->source(option::kKeepLast), Source::flag);
  std::filesystem::remove(file);
}

// Each range of the table is checked when the configuration is loaded; the error names the
// option, where the value came from and the allowed range.
TEST(Options, RangesAreEnforcedWithTheSourceNamed) {
  auto short_ttl = resolve(input_with({{"CONSUL_SNAPSHOT_LOCK_TTL", "9s"}}));
  ASSERT_FALSE(short_ttl.ok());
  EXPECT_EQ(short_ttl.error().kind(), ErrorKind::invalid_argument);
  EXPECT_EQ(short_ttl.error().message(),
            "--lock-ttl 9s: use 10s to 1d (from CONSUL_SNAPSHOT_LOCK_TTL)");

  auto long_ttl = resolve(input_with({}, {{"lock-ttl", "1d1s"}}));
  ASSERT_FALSE(long_ttl.ok());
  EXPECT_NE(long_ttl.error().message().find("10s to 1d (from --lock-ttl)"), std::string::npos)
      << long_ttl.error().message();

  auto file = write_temp("csnap-range.toml", "[crypto]\nscrypt_work_factor = 23\n");
  auto input = input_with({});
  input.config_file = file;
  auto factor = resolve(input);
  ASSERT_FALSE(factor.ok());
  EXPECT_EQ(factor.error().message(),
            "--scrypt-work-factor 23: use 10 to 22 (from config file key "
            "crypto.scrypt_work_factor)");
  std::filesystem::remove(file);

  auto count = resolve(input_with({}, {{"keep-last", "0"}}));
  ASSERT_FALSE(count.ok());
  EXPECT_EQ(count.error().message(),
            "--keep-last 0: use 1 or more (from --keep-last); to not use it, leave it unset");
  auto negative = resolve(input_with({{"CONSUL_SNAPSHOT_KEEP_WEEKLY", "-1"}}));
  ASSERT_FALSE(negative.ok());
  EXPECT_NE(negative.error().message().find("CONSUL_SNAPSHOT_KEEP_WEEKLY"), std::string::npos);

  auto low_max = resolve(input_with({{"CONSUL_SNAPSHOT_MAX_WORK_FACTOR", "9"}}));
  ASSERT_FALSE(low_max.ok());
  EXPECT_NE(low_max.error().message().find("--max-work-factor 9: use 10 to 22"), std::string::npos);
}

TEST(Options, ValueChecksRunOnSetValuesAndNameTheSource) {
  std::vector<std::string> checked;
  auto input = input_with({{"CONSUL_SNAPSHOT_ONLY", "kv,bogus"}});
  input.checks.emplace_back(option::kOnly, [&checked](std::string_view text) -> Status {
    checked.emplace_back(text);
    return Error(ErrorKind::invalid_argument, fmt::format("--only: unknown kind in '{}'", text));
  });
  // An unset option is not checked: --transform has no value here.
  input.checks.emplace_back(option::kTransform, [&checked](std::string_view text) -> Status {
    checked.emplace_back(text);
    return {};
  });
  auto config = resolve(input);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().kind(), ErrorKind::invalid_argument);
  EXPECT_EQ(config.error().message(),
            "--only: unknown kind in 'kv,bogus' (from CONSUL_SNAPSHOT_ONLY)");
  EXPECT_EQ(checked, std::vector<std::string>{"kv,bogus"});

  auto passing = input_with({{"CONSUL_SNAPSHOT_ONLY", "kv"}});
  passing.checks.emplace_back(option::kOnly, [](std::string_view) { return Status{}; });
  EXPECT_TRUE(resolve(passing).ok());
}

TEST(Options, BothEndsOfARangeAreAllowed) {
  for (const auto& [variable, value] : std::vector<std::pair<std::string, std::string>>{
           {"CONSUL_SNAPSHOT_LOCK_TTL", "10s"},
           {"CONSUL_SNAPSHOT_LOCK_TTL", "24h"},
           {"CONSUL_SNAPSHOT_SCRYPT_WORK_FACTOR", "10"},
           {"CONSUL_SNAPSHOT_MAX_WORK_FACTOR", "22"},
           {"CONSUL_SNAPSHOT_KEEP_LAST", "1"}}) {
    auto config = resolve(input_with({{variable, value}}));
    EXPECT_TRUE(config.ok()) << variable << "=" << value << ": " << config.error().message();
  }
  auto upper = resolve(input_with({{"CONSUL_SNAPSHOT_LOCK_TTL", "24h"}}));
  ASSERT_TRUE(upper.ok());
  EXPECT_EQ(upper->get(option::kLockTtl), std::chrono::hours(24));
}

TEST(Options, SecretsListsTheValuesOfSecretOptionsOnly) {
  auto config = resolve(input_with({{"CONSUL_HTTP_TOKEN", "token-value-1"},
                                    {"CRYPTO_PASSWORD", "passphrase-2"},
                                    {"AWS_ACCESS_KEY_ID", "AKIAEXAMPLE"}}));
  ASSERT_TRUE(config.ok()) << config.error().message();
  std::set<std::string> revealed;
  for (const auto& secret : config->secrets())
    revealed.insert(std::string(secret.reveal()));
  EXPECT_EQ(revealed, (std::set<std::string>{"token-value-1", "passphrase-2"}));
}

TEST(Options, TheReferenceShowsEachRange) {
  auto reference = reference_markdown();
  auto row_of = [&](std::string_view flag) {
    auto start = reference.find(fmt::format("| `--{}` |", flag));
    EXPECT_NE(start, std::string::npos) << flag;
    return reference.substr(start, reference.find('\n', start) - start);
  };
  EXPECT_NE(row_of("lock-ttl").find("(allowed: 10s to 1d)"), std::string::npos);
  EXPECT_NE(row_of("scrypt-work-factor").find("(allowed: 10 to 22)"), std::string::npos);
  EXPECT_NE(row_of("keep-monthly").find("(allowed: 1 or more)"), std::string::npos);
  EXPECT_EQ(row_of("interval").find("allowed:"), std::string::npos);
}

TEST(Options, BackupModeFromEachSource) {
  auto from_flag = resolve(input_with({}, {{"backup-mode", "raft"}}));
  ASSERT_TRUE(from_flag.ok()) << from_flag.error().message();
  EXPECT_EQ(from_flag->get(option::kBackupMode), "raft");
  EXPECT_EQ(from_flag->get(option::kMode), "merge");  // restore's --mode is another option

  auto from_env = resolve(input_with({{"CONSUL_SNAPSHOT_MODE", "both"}}));
  ASSERT_TRUE(from_env.ok()) << from_env.error().message();
  EXPECT_EQ(from_env->get(option::kBackupMode), "both");

  auto file = write_temp("csnap-mode.toml", "mode = \"raft\"\n");
  auto input = input_with({});
  input.config_file = file;
  auto from_file = resolve(input);
  std::filesystem::remove(file);
  ASSERT_TRUE(from_file.ok()) << from_file.error().message();
  EXPECT_EQ(from_file->get(option::kBackupMode), "raft");
  EXPECT_EQ(from_file->source(option::kBackupMode), Source::file);

  auto by_default = resolve(input_with({}));
  ASSERT_TRUE(by_default.ok()) << by_default.error().message();
  EXPECT_EQ(by_default->get(option::kBackupMode), "logical");
}

TEST(Options, BadBackupModeNamesItsSource) {
  auto from_env = resolve(input_with({{"CONSUL_SNAPSHOT_MODE", "snapshot"}}));
  ASSERT_FALSE(from_env.ok());
  EXPECT_EQ(from_env.error().kind(), ErrorKind::invalid_argument);
  EXPECT_NE(from_env.error().message().find("CONSUL_SNAPSHOT_MODE"), std::string::npos)
      << from_env.error().message();
  auto from_flag = resolve(input_with({}, {{"backup-mode", "Raft"}}));
  ASSERT_FALSE(from_flag.ok());
  // The user typed --mode: the error says so, not the table's name.
  EXPECT_NE(from_flag.error().message().find("(from --mode)"), std::string::npos)
      << from_flag.error().message();
}

TEST(Options, TableIsConsistent) {
  std::set<std::string_view> names, envs, keys;
  // A flag is one option in each command: two options share a flag only in disjoint scopes.
  std::map<std::string_view, unsigned> flag_scopes;
  for (const auto& spec : option_table()) {
    EXPECT_TRUE(names.insert(spec.name).second) << spec.name;
    auto& scopes = flag_scopes[flag_name(spec)];
    EXPECT_EQ(scopes & (spec.scope | scope_global), 0u) << flag_name(spec);
    EXPECT_FALSE((spec.scope & scope_global) != 0 && scopes != 0) << flag_name(spec);
    scopes |= spec.scope;
    if (!spec.env.empty()) {
      EXPECT_TRUE(envs.insert(spec.env).second) << spec.env;
    }
    if (!spec.file_key.empty()) {
      EXPECT_TRUE(keys.insert(spec.file_key).second) << spec.file_key;
    }
    EXPECT_FALSE(spec.help.empty()) << spec.name;
    if (spec.type == OptionType::secret) {
      EXPECT_FALSE(spec.flag_allowed) << spec.name;
    }
    if (spec.min || spec.max) {
      EXPECT_TRUE(spec.type == OptionType::integer || spec.type == OptionType::duration)
          << spec.name;
    }
    if (spec.min && spec.max) {
      EXPECT_LE(*spec.min, *spec.max) << spec.name;
    }
  }
}

}  // namespace
}  // namespace csnap::config

namespace csnap::config {
namespace {

TEST(Options, ConfigurationDocMatchesTheTable) {
  std::ifstream doc(std::string(CSNAP_SOURCE_DIR) + "/docs/configuration.md");
  ASSERT_TRUE(doc.good()) << "docs/configuration.md is missing";
  std::string text((std::istreambuf_iterator<char>(doc)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find(reference_markdown()), std::string::npos)
      << "docs/configuration.md is out of date; regenerate its table with "
         "`consul-snapshot config-reference`:\n"
      << reference_markdown();
}

}  // namespace
}  // namespace csnap::config
