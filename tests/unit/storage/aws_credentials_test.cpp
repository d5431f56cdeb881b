#include "storage/aws_credentials.hpp"

#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include <gtest/gtest.h>

#include "fake_environment.hpp"

namespace csnap::storage {
namespace {

namespace fs = std::filesystem;

using ::csnap::test_common::fake_environment;

class AwsFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("csnap-aws-" + std::to_string(std::random_device{}()));
    fs::create_directories(dir_ / ".aws");
  }
  void TearDown() override { fs::remove_all(dir_); }
  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / ".aws" / name) << text;
  }
  std::string home() const { return dir_.string(); }

  fs::path dir_;
};

TEST(AwsIni, ParsesSectionsCommentsAndNestedKeys) {
  auto parsed = parse_aws_ini(
      "# comment\n[default]\naws_access_key_id = AKID\r\n; other comment\n"
      "AWS_Secret_Access_Key=se=cret\n[profile  prod ]\nregion = eu-west-1\ns3 =\n"
      "  max_concurrent_requests = 4\n[empty]\n");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  EXPECT_EQ(parsed->at("default").at("aws_access_key_id"), "AKID");
  EXPECT_EQ(parsed->at("default").at("aws_secret_access_key"), "se=cret");
  EXPECT_EQ(parsed->at("profile prod").at("region"), "eu-west-1");
  EXPECT_EQ(parsed->at("profile prod").count("max_concurrent_requests"), 0u);
  EXPECT_TRUE(parsed->at("empty").empty());
}

TEST(AwsIni, RejectsGarbageWithoutEchoingValues) {
  auto parsed = parse_aws_ini("[default]\nthis line is junk\n");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().kind(), ErrorKind::invalid_argument);
  EXPECT_NE(parsed.error().message().find("line 2"), std::string::npos);
  EXPECT_EQ(parsed.error().message().find("junk"), std::string::npos);
  EXPECT_FALSE(parse_aws_ini("key = value before any section\n").ok());
  EXPECT_FALSE(parse_aws_ini("[unterminated\n").ok());
}

TEST(EnvironmentCredentials, ReadsKeysAndSessionToken) {
  EnvironmentCredentialsProvider provider(fake_environment(
      {{"AWS_ACCESS_KEY_ID", "AKID"}, {"AWS_SECRET_ACCESS_KEY", "s"}, {"AWS_SESSION_TOKEN", "t"}}));
  auto credentials = provider.fetch();
  ASSERT_TRUE(credentials.ok());
  EXPECT_EQ(credentials->access_key_id, "AKID");
  EXPECT_EQ(credentials->secret_access_key.reveal(), "s");
  EXPECT_EQ(credentials->session_token.reveal(), "t");
  EXPECT_EQ(credentials->source, "environment");
}

TEST(EnvironmentCredentials, NothingSetIsNotFoundAndHalfSetIsAnError) {
  EXPECT_EQ(EnvironmentCredentialsProvider(fake_environment({})).fetch().error().kind(),
            ErrorKind::not_found);
  auto half =
      EnvironmentCredentialsProvider(fake_environment({{"AWS_ACCESS_KEY_ID", "AKID"}})).fetch();
  ASSERT_FALSE(half.ok());
  EXPECT_EQ(half.error().kind(), ErrorKind::invalid_argument);
  EXPECT_NE(half.error().message().find("AWS_SECRET_ACCESS_KEY"), std::string::npos);
}

TEST_F(AwsFiles, ProfileFromTheCredentialsFileWinsOverTheConfigFile) {
  write("credentials",
        "[default]\naws_access_key_id = DEFAULTKEY\naws_secret_access_key = default-secret\n"
        "[prod]\naws_access_key_id = PRODKEY\naws_secret_access_key = prod-secret\n"
        "aws_session_token = prod-token\n");
  write("config",
        "[default]\nregion = us-west-2\n[profile prod]\nregion = eu-central-1\n"
        "aws_access_key_id = IGNORED\n");
  auto options = ProfileOptions::from_environment(
      fake_environment({{"HOME", home()}, {"AWS_PROFILE", "prod"}}));
  EXPECT_EQ(options.credentials_file, home() + "/.aws/credentials");
  auto credentials = ProfileCredentialsProvider(options).fetch();
  ASSERT_TRUE(credentials.ok()) << credentials.error().message();
  EXPECT_EQ(credentials->access_key_id, "PRODKEY");
  EXPECT_EQ(credentials->secret_access_key.reveal(), "prod-secret");
  EXPECT_EQ(credentials->session_token.reveal(), "prod-token");
  EXPECT_EQ(profile_region(options), "eu-central-1");

  auto defaults = ProfileOptions::from_environment(fake_environment({{"HOME", home()}}));
  EXPECT_EQ(ProfileCredentialsProvider(defaults).fetch()->access_key_id, "DEFAULTKEY");
  EXPECT_EQ(profile_region(defaults), "us-west-2");
}

TEST_F(AwsFiles, ConfigFileAloneAndExplicitFilePaths) {
  write("other-config", "[profile ci]\naws_access_key_id = CIKEY\naws_secret_access_key = ci\n");
  auto options = ProfileOptions::from_environment(
      fake_environment({{"HOME", "/nonexistent"},
                        {"AWS_PROFILE", "ci"},
                        {"AWS_CONFIG_FILE", (dir_ / ".aws" / "other-config").string()},
                        {"AWS_SHARED_CREDENTIALS_FILE", (dir_ / ".aws" / "missing").string()}}));
  auto credentials = ProfileCredentialsProvider(options).fetch();
  ASSERT_TRUE(credentials.ok()) << credentials.error().message();
  EXPECT_EQ(credentials->access_key_id, "CIKEY");
}

TEST_F(AwsFiles, MissingProfileIsAnErrorOnlyWhenChosen) {
  write("credentials", "[default]\naws_access_key_id = K\naws_secret_access_key = S\n");
  auto chosen = ProfileOptions::from_environment(
      fake_environment({{"HOME", home()}, {"AWS_PROFILE", "nope"}}));
  auto failed = ProfileCredentialsProvider(chosen).fetch();
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().kind(), ErrorKind::invalid_argument);
  EXPECT_NE(failed.error().message().find("'nope'"), std::string::npos);

  auto unchosen = ProfileOptions::from_environment(fake_environment({{"HOME", "/nonexistent"}}));
  EXPECT_EQ(ProfileCredentialsProvider(unchosen).fetch().error().kind(), ErrorKind::not_found);
}

TEST_F(AwsFiles, UnsupportedProfileKindsSaySo) {
  write("config", "[profile role]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = default\n");
  auto options = ProfileOptions::from_environment(
      fake_environment({{"HOME", home()}, {"AWS_PROFILE", "role"}}));
  auto failed = ProfileCredentialsProvider(options).fetch();
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.error().message().find("role_arn"), std::string::npos);
}

TEST_F(AwsFiles, DefaultChainPrefersStaticThenEnvironmentThenFiles) {
  write("credentials", "[default]\naws_access_key_id = FILEKEY\naws_secret_access_key = f\n");
  auto files_only = fake_environment({{"HOME", home()}});
  auto with_env = fake_environment(
      {{"HOME", home()}, {"AWS_ACCESS_KEY_ID", "ENVKEY"}, {"AWS_SECRET_ACCESS_KEY", "e"}});

  EXPECT_EQ(default_credentials_chain(files_only)->fetch()->access_key_id, "FILEKEY");
  EXPECT_EQ(default_credentials_chain(with_env)->fetch()->access_key_id, "ENVKEY");
  DefaultChainOptions options;
  options.static_credentials = AwsCredentials{"STATICKEY", Secret("s"), Secret(), {}, ""};
  EXPECT_EQ(default_credentials_chain(with_env, options)->fetch()->access_key_id, "STATICKEY");

  // (The instance metadata service is off: a test never talks to 169.254.169.254.)
  auto none = default_credentials_chain(fake_environment({{"HOME", "/nonexistent"},
                                                          {"AWS_EC2_METADATA_DISABLED", "true"}}))
                  ->fetch();
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().kind(), ErrorKind::unauthenticated);
  EXPECT_NE(none.error().message().find("AWS_ACCESS_KEY_ID"), std::string::npos);
}

TEST(CredentialsChain, StopsAtAnErrorThatIsNotNotFound) {
  std::vector<std::unique_ptr<CredentialsProvider>> providers;
  providers.push_back(std::make_unique<EnvironmentCredentialsProvider>(
      fake_environment({{"AWS_SECRET_ACCESS_KEY", "only-secret"}})));
  providers.push_back(std::make_unique<StaticCredentialsProvider>(
      AwsCredentials{"LATER", Secret("s"), Secret(), {}, ""}));
  auto result = CredentialsChain(std::move(providers)).fetch();
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind(), ErrorKind::invalid_argument);
  EXPECT_EQ(result.error().message().find("only-secret"), std::string::npos);
}

// Counts fetches and hands out credentials that expire at a set time.
class CountingProvider final : public CredentialsProvider {
 public:
  explicit CountingProvider(std::chrono::system_clock::time_point expires) : expires_(expires) {}
  Result<AwsCredentials> fetch() override {
    ++calls;
    return AwsCredentials{"KEY" + std::to_string(calls), Secret("s"), Secret("t"), expires_, ""};
  }
  std::string name() const override { return "counting"; }
  int calls = 0;

 private:
  std::chrono::system_clock::time_point expires_;
};

TEST(CachedCredentials, RefreshesBeforeExpiry) {
  auto start = std::chrono::system_clock::time_point{} + std::chrono::hours(1000);
  auto now = start;
  auto inner = std::make_unique<CountingProvider>(start + std::chrono::minutes(30));
  auto* counting = inner.get();
  CachedCredentials cached(std::move(inner), {std::chrono::seconds(300), [&] { return now; }});
  EXPECT_EQ(cached.fetch()->access_key_id, "KEY1");
  now = start + std::chrono::minutes(20);
  EXPECT_EQ(cached.fetch()->access_key_id, "KEY1");
  now = start + std::chrono::minutes(26);  // within 5 minutes of expiry
  EXPECT_EQ(cached.fetch()->access_key_id, "KEY2");
  EXPECT_EQ(counting->calls, 2);
}

}  // namespace
}  // namespace csnap::storage
