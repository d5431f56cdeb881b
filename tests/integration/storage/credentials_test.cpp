// The AWS credential chain against real services: web identity against moto's STS (checked with
// boto3), and the EC2 instance profile over IMDSv2 against AWS's amazon-ec2-metadata-mock (checked
// with curl), including an expired session token, credentials that expire, and an S3 round trip
// on SeaweedFS signed with the instance's credentials.

#include <map>
#include <random>
#include <regex>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "aws_emulators.hpp"
#include "backend_fixture.hpp"
#include "consul_agent.hpp"
#include "fake_environment.hpp"
#include "storage/aws_remote_credentials.hpp"
#include "storage/registry.hpp"
#include "temp_dir.hpp"
#include "util/io.hpp"

namespace csnap::storage {
namespace {

using namespace std::chrono_literals;
using ::csnap::test_common::fake_environment;
using ::csnap::test_common::TempDir;
using ::csnap::testing::Ec2MetadataMock;
using ::csnap::testing::Ec2MetadataMockOptions;

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

std::string random_suffix() {
  std::random_device device;
  return fmt::format("{:08x}", device());
}

// Something shaped like a JWT (moto accepts any).
constexpr std::string_view kWebIdentityToken =
    "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjb25zdWwtc25hcHNob3QiLCJhdWQiOiJzdHMifQ.c2lnbmF0dXJl";

// The ARN that STS (moto) says the credentials in `environment` belong to, asked with boto3.
Result<std::string> caller_arn(const ::csnap::testing::MotoServer& moto,
                               const AwsCredentials& credentials) {
  static constexpr std::string_view kScript = R"(
import os, boto3
sts = boto3.client("sts", endpoint_url=os.environ["ENDPOINT"], region_name="us-east-1",
                   aws_access_key_id=os.environ["KEY"], aws_secret_access_key=os.environ["SECRET"],
                   aws_session_token=os.environ["TOKEN"])
print(sts.get_caller_identity()["Arn"])
)";
  CSNAP_ASSIGN_OR_RETURN(
      auto run, ::csnap::testing::run_process({moto.python().string(), "-c", std::string(kScript)},
                                              {{"ENDPOINT", moto.endpoint()},
                                               {"KEY", credentials.access_key_id},
                                               {"SECRET", credentials.secret_access_key.reveal()},
                                               {"TOKEN", credentials.session_token.reveal()},
                                               {"AWS_EC2_METADATA_DISABLED", "true"},
                                               {"AWS_CONFIG_FILE", "/nonexistent"},
                                               {"AWS_SHARED_CREDENTIALS_FILE", "/nonexistent"}}));
  if (run.exit_code != 0)
    return Error(ErrorKind::internal, "boto3 get_caller_identity failed: " + run.err);
  return std::string(run.out.substr(0, run.out.find('\n')));
}

TEST(WebIdentityOnMoto, AssumesTheRoleAndStsKnowsTheCredentials) {
  CSNAP_REQUIRE_MOTO(moto);
  TempDir dir("csnap-creds-");
  std::string session = "csnap-it-" + random_suffix();
  auto chain = default_credentials_chain(fake_environment(
      {{"HOME", "/nonexistent"},
       {"AWS_WEB_IDENTITY_TOKEN_FILE", dir.write("token", std::string(kWebIdentityToken))},
       {"AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/csnap-backup"},
       {"AWS_ROLE_SESSION_NAME", session},
       {"AWS_ENDPOINT_URL_STS", moto->endpoint()},
       {"AWS_EC2_METADATA_DISABLED", "true"}}));
  auto credentials = chain->fetch();
  ASSERT_TRUE(credentials.ok()) << credentials.error().message();
  EXPECT_TRUE(credentials->access_key_id.starts_with("ASIA")) << credentials->access_key_id;
  EXPECT_FALSE(credentials->secret_access_key.empty());
  EXPECT_FALSE(credentials->session_token.empty());
  ASSERT_TRUE(credentials->expires);
  EXPECT_GT(*credentials->expires, std::chrono::system_clock::now() + 10min);
  EXPECT_TRUE(contains(credentials->source, "csnap-backup"));

  // STS itself, asked by another client with these credentials, knows them as the assumed role
  // and the session name we sent.
  auto arn = caller_arn(*moto, *credentials);
  ASSERT_TRUE(arn.ok()) << arn.error().message();
  EXPECT_EQ(*arn, "arn:aws:sts::123456789012:assumed-role/csnap-backup/" + session);
}

TEST(WebIdentityOnMoto, ProfileWithWebIdentity) {
  CSNAP_REQUIRE_MOTO(moto);
  TempDir dir("csnap-creds-");
  auto token_file = dir.write("token", std::string(kWebIdentityToken) + "\n");
  dir.write("config", "[profile ci]\nregion = eu-west-1\nweb_identity_token_file = " + token_file +
                          "\nrole_arn = arn:aws:iam::123456789012:role/csnap-ci\n"
                          "role_session_name = ci-session\n");
  auto chain = default_credentials_chain(fake_environment({{"HOME", "/nonexistent"},
                                                           {"AWS_PROFILE", "ci"},
                                                           {"AWS_CONFIG_FILE", dir.path("config")},
                                                           {"AWS_ENDPOINT_URL", moto->endpoint()},
                                                           {"AWS_EC2_METADATA_DISABLED", "true"}}));
  auto credentials = chain->fetch();
  ASSERT_TRUE(credentials.ok()) << credentials.error().message();
  auto arn = caller_arn(*moto, *credentials);
  ASSERT_TRUE(arn.ok()) << arn.error().message();
  EXPECT_EQ(*arn, "arn:aws:sts::123456789012:assumed-role/csnap-ci/ci-session");
}

TEST(WebIdentityOnMoto, MissingTokenFileIsAClearError) {
  CSNAP_REQUIRE_MOTO(moto);
  TempDir dir("csnap-creds-");
  auto chain = default_credentials_chain(
      fake_environment({{"HOME", "/nonexistent"},
                        {"AWS_WEB_IDENTITY_TOKEN_FILE", dir.path("no-such-token")},
                        {"AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/csnap-backup"},
                        {"AWS_ENDPOINT_URL_STS", moto->endpoint()},
                        {"AWS_EC2_METADATA_DISABLED", "true"}}));
  auto failed = chain->fetch();
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().kind(), ErrorKind::invalid_argument);
  EXPECT_TRUE(contains(failed.error().message(), "AWS_WEB_IDENTITY_TOKEN_FILE"))
      << failed.error().message();
  EXPECT_TRUE(contains(failed.error().message(), dir.path("no-such-token")));
}

// Counts the IMDSv2 session tokens our client asked the mock for (its log shows each request
// with its headers).
int our_token_requests(const Ec2MetadataMock& mock) {
  static const std::regex ours(R"(GenerateToken Received request: .*consul-snapshot/)");
  int count = 0;
  std::istringstream lines(mock.log_text());
  for (std::string line; std::getline(lines, line);) {
    if (std::regex_search(line, ours))
      ++count;
  }
  return count;
}

int count_of(const std::string& text, std::string_view part) {
  int count = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1))
    ++count;
  return count;
}

EnvironmentLookup imds_environment(const Ec2MetadataMock& mock) {
  return fake_environment(
      {{"HOME", "/nonexistent"}, {"AWS_EC2_METADATA_SERVICE_ENDPOINT", mock.endpoint()}});
}

constexpr std::string_view kRolePath = "/latest/meta-data/iam/security-credentials/";

// The role's credentials document as curl gets it with a fresh token.
Result<std::string> credentials_document(const Ec2MetadataMock& mock, const std::string& role) {
  CSNAP_ASSIGN_OR_RETURN(
      auto token,
      ::csnap::testing::curl({"-X", "PUT", "-H", "X-aws-ec2-metadata-token-ttl-seconds: 60",
                              mock.endpoint() + "/latest/api/token"}));
  CSNAP_ASSIGN_OR_RETURN(auto document,
                         ::csnap::testing::curl({"-H", "X-aws-ec2-metadata-token: " + token.body,
                                                 mock.endpoint() + std::string(kRolePath) + role}));
  return document.body;
}

TEST(InstanceProfileOnMetadataMock, UsesASessionTokenAndReturnsTheRoleCredentials) {
  auto expiration = std::chrono::system_clock::now() + 1h;
  Ec2MetadataMockOptions options{true, ::csnap::testing::ec2_metadata_mock_config(
                                           "csnap-role", "ASIAMOCKFIRST000001", "mock-secret-1",
                                           "mock-session-1", expiration)};
  CSNAP_REQUIRE_EC2_METADATA_MOCK(mock, options);
  // The mock is in IMDSv2-only mode: without a session token it refuses.
  auto without_token = ::csnap::testing::curl({mock->endpoint() + std::string(kRolePath)});
  ASSERT_TRUE(without_token.ok());
  EXPECT_EQ(without_token->status, 401);

  auto chain = default_credentials_chain(imds_environment(*mock));
  auto credentials = chain->fetch();
  ASSERT_TRUE(credentials.ok()) << credentials.error().message();
  EXPECT_EQ(credentials->access_key_id, "ASIAMOCKFIRST000001");
  EXPECT_EQ(credentials->secret_access_key.reveal(), "mock-secret-1");
  EXPECT_EQ(credentials->session_token.reveal(), "mock-session-1");
  ASSERT_TRUE(credentials->expires);
  EXPECT_EQ(std::chrono::system_clock::to_time_t(*credentials->expires),
            std::chrono::system_clock::to_time_t(expiration));
  EXPECT_TRUE(contains(credentials->source, "instance profile csnap-role"));
  EXPECT_EQ(our_token_requests(*mock), 1);
}

TEST(InstanceProfileOnMetadataMock, AnExpiredSessionTokenIsReplacedAfterA401) {
  Ec2MetadataMockOptions options{
      true, ::csnap::testing::ec2_metadata_mock_config("csnap-role", "ASIAMOCKTOKEN000001", "s",
                                                       "t", std::chrono::system_clock::now() + 1h)};
  CSNAP_REQUIRE_EC2_METADATA_MOCK(mock, options);
  InstanceMetadataOptions imds;
  imds.token_ttl = 1s;
  // A clock that stands still: the provider believes its token is still good, so the mock's
  // 401 is what makes it fetch a new one.
  auto frozen = std::chrono::steady_clock::now();
  imds.now = [frozen] { return frozen; };
  InstanceProfileCredentialsProvider provider(imds_environment(*mock), imds);
  auto first = provider.fetch();
  ASSERT_TRUE(first.ok()) << first.error().message();
  EXPECT_EQ(our_token_requests(*mock), 1);

  // A token of the same life taken after ours; once the mock refuses it, ours has expired too.
  auto probe = ::csnap::testing::curl({"-X", "PUT", "-H", "X-aws-ec2-metadata-token-ttl-seconds: 1",
                                       mock->endpoint() + "/latest/api/token"});
  ASSERT_TRUE(probe.ok());
  const auto deadline = std::chrono::steady_clock::now() + 15s;
  while (true) {
    auto answer = ::csnap::testing::curl({"-H", "X-aws-ec2-metadata-token: " + probe->body,
                                          mock->endpoint() + "/latest/meta-data/"});
    ASSERT_TRUE(answer.ok());
    if (answer->status == 401)
      break;
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the mock never expired its token";
    std::this_thread::sleep_for(100ms);
  }

  auto second = provider.fetch();
  ASSERT_TRUE(second.ok()) << second.error().message();
  EXPECT_EQ(second->access_key_id, "ASIAMOCKTOKEN000001");
  EXPECT_EQ(our_token_requests(*mock), 2);
  EXPECT_GE(count_of(mock->log_text(), "Token has expired"), 2);  // the probe's and ours
}

TEST(InstanceProfileOnMetadataMock, ExpiringCredentialsAreRefreshed) {
  const auto start = std::chrono::system_clock::now();
  Ec2MetadataMockOptions options{
      true, ::csnap::testing::ec2_metadata_mock_config("csnap-role", "ASIAMOCKOLD00000001",
                                                       "old-secret", "old-session", start + 10min)};
  CSNAP_REQUIRE_EC2_METADATA_MOCK(mock, options);
  auto now = start;
  CachedCredentials cached(
      std::make_unique<InstanceProfileCredentialsProvider>(imds_environment(*mock)),
      {300s, [&] { return now; }});
  auto first = cached.fetch();
  ASSERT_TRUE(first.ok()) << first.error().message();
  EXPECT_EQ(first->access_key_id, "ASIAMOCKOLD00000001");

  // The instance's role rotates its credentials.
  ASSERT_TRUE(mock
                  ->write_config(::csnap::testing::ec2_metadata_mock_config(
                      "csnap-role", "ASIAMOCKNEW00000002", "new-secret", "new-session", start + 2h))
                  .ok());
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (true) {
    auto document = credentials_document(*mock, "csnap-role");
    ASSERT_TRUE(document.ok()) << document.error().message();
    if (contains(*document, "ASIAMOCKNEW00000002"))
      break;
    ASSERT_LT(std::chrono::steady_clock::now(), deadline)
        << "the mock never reloaded: " << *document;
    std::this_thread::sleep_for(100ms);
  }

  // Far from expiry: the cached credentials stay.
  now = start + 2min;
  EXPECT_EQ(cached.fetch()->access_key_id, "ASIAMOCKOLD00000001");
  // Within five minutes of expiry: fetched again.
  now = start + 6min;
  auto refreshed = cached.fetch();
  ASSERT_TRUE(refreshed.ok()) << refreshed.error().message();
  EXPECT_EQ(refreshed->access_key_id, "ASIAMOCKNEW00000002");
  EXPECT_EQ(refreshed->secret_access_key.reveal(), "new-secret");
  EXPECT_EQ(std::chrono::system_clock::to_time_t(*refreshed->expires),
            std::chrono::system_clock::to_time_t(start + 2h));
}

TEST(InstanceProfileOnMetadataMock, DisabledMeansNotAsked) {
  Ec2MetadataMockOptions options{
      true, ::csnap::testing::ec2_metadata_mock_config("csnap-role", "ASIAMOCKOFF00000001", "s",
                                                       "t", std::chrono::system_clock::now() + 1h)};
  CSNAP_REQUIRE_EC2_METADATA_MOCK(mock, options);
  auto chain = default_credentials_chain(
      fake_environment({{"HOME", "/nonexistent"},
                        {"AWS_EC2_METADATA_SERVICE_ENDPOINT", mock->endpoint()},
                        {"AWS_EC2_METADATA_DISABLED", "true"}}));
  auto failed = chain->fetch();
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().kind(), ErrorKind::unauthenticated);
  EXPECT_TRUE(contains(failed.error().message(), "AWS_EC2_METADATA_DISABLED"));
  EXPECT_EQ(our_token_requests(*mock), 0);
}

TEST(InstanceProfileOnMetadataMock, SignsS3RequestsOnSeaweed) {
  CSNAP_REQUIRE_SEAWEED(server);
  auto admin = ::csnap::testing::SeaweedServer::admin();
  // The instance's role holds SeaweedFS's admin key (no session token: SeaweedFS has no STS).
  Ec2MetadataMockOptions options{true, ::csnap::testing::ec2_metadata_mock_config(
                                           "csnap-role", admin.access_key, admin.secret_key, "",
                                           std::chrono::system_clock::now() + 1h)};
  CSNAP_REQUIRE_EC2_METADATA_MOCK(mock, options);
  std::string bucket = ::csnap::testing::unique_bucket_name();
  auto creator = S3Backend::create(testing::seaweed_options(*server, bucket, admin));
  ASSERT_TRUE(creator.ok()) << creator.error().message();
  ASSERT_TRUE((*creator)->create_bucket().ok());

  StorageSettings settings;
  settings.s3_bucket = bucket;
  settings.s3_endpoint = server->endpoint();
  settings.s3_region = "us-east-1";
  OpenOptions open;
  open.environment = imds_environment(*mock);
  auto backend = open_backend(settings, open);
  ASSERT_TRUE(backend.ok()) << backend.error().message();
  auto upload = (*backend)->put("from-instance-profile");
  ASSERT_TRUE(upload.ok()) << upload.error().message();
  ASSERT_TRUE((*upload)->write("signed with IMDS credentials").ok());
  auto finished = (*upload)->finish();
  ASSERT_TRUE(finished.ok()) << finished.error().message();
  auto source = (*creator)->get("from-instance-profile");
  ASSERT_TRUE(source.ok()) << source.error().message();
  EXPECT_EQ(*read_all(**source), "signed with IMDS credentials");
  EXPECT_EQ(our_token_requests(*mock), 1);
}

}  // namespace
}  // namespace csnap::storage
