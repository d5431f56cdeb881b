#include "config/options.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

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
  EXPECT_EQ(config->string("consul-addr"), "127.0.0.1:8500");
  EXPECT_EQ(config->string("local-dir"), "./consul-snapshots");
  EXPECT_EQ(config->string("upload-prefix"), "backups");
  EXPECT_EQ(config->duration("interval").count(), 60);
  EXPECT_FALSE(config->is_set("consul-addr"));
  EXPECT_EQ(config->source("consul-addr"), Source::default_value);
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
  EXPECT_EQ(config->string("consul-addr"), "flag:3");
  EXPECT_EQ(config->source("consul-addr"), Source::flag);
  EXPECT_EQ(config->string("local-dir"), "/from/env");
  EXPECT_EQ(config->source("local-dir"), Source::env);
  EXPECT_EQ(config->string("upload-prefix"), "file-prefix");
  EXPECT_EQ(config->source("upload-prefix"), Source::file);
  std::filesystem::remove(file);
}

TEST(Options, JsonConfigFile) {
  auto file = write_temp("csnap-config.json",
                         R"({"consul": {"ssl": true}, "backup": {"interval": "15m"}})");
  auto input = input_with({});
  input.config_file = file;
  auto config = resolve(input);
  ASSERT_TRUE(config.ok()) << config.error().message();
  EXPECT_TRUE(config->boolean("consul-ssl"));
  EXPECT_EQ(config->duration("interval").count(), 900);
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
  EXPECT_EQ(config->secret("consul-token").reveal(), "abc-123-secret");
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
  EXPECT_EQ(config->string("consul-addr"), "127.0.0.1:8500");
}

TEST(Durations, Parse) {
  EXPECT_EQ(parse_duration("90s")->count(), 90);
  EXPECT_EQ(parse_duration("15m")->count(), 900);
  EXPECT_EQ(parse_duration("1h30m")->count(), 5400);
  EXPECT_EQ(parse_duration("2d")->count(), 172800);
  EXPECT_EQ(parse_duration("60")->count(), 60);
  EXPECT_FALSE(parse_duration(""));
  EXPECT_FALSE(parse_duration("1h30"));
  EXPECT_FALSE(parse_duration("5x"));
  EXPECT_FALSE(parse_duration("-5s"));
}

TEST(Options, TableIsConsistent) {
  std::set<std::string_view> names, envs, keys;
  for (const auto& spec : option_table()) {
    EXPECT_TRUE(names.insert(spec.name).second) << spec.name;
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
