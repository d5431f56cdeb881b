#include "storage/registry.hpp"

#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "storage/local.hpp"
#include "storage/s3.hpp"

namespace csnap::storage {
namespace {

OpenOptions no_environment() {
  OpenOptions options;
  options.environment = [](std::string_view) -> std::optional<std::string> { return std::nullopt; };
  options.credentials = std::make_shared<StaticCredentialsProvider>(
      AwsCredentials{"AKID", Secret("registry-secret"), Secret(), {}, ""});
  return options;
}

TEST(StorageUrl, S3UrlFillsBucketPrefixAndParameters) {
  auto settings = apply_storage_url(
      "s3://my-bucket/team/consul/?region=eu-west-1&endpoint=http%3A%2F%2F127.0.0.1%3A8333"
      "&sse=aws:kms&sse_kms_key_id=key-1&path_style=true",
      {});
  ASSERT_TRUE(settings.ok()) << settings.error().message();
  EXPECT_EQ(settings->s3_bucket, "my-bucket");
  EXPECT_EQ(settings->s3_prefix, "team/consul");
  EXPECT_EQ(settings->s3_region, "eu-west-1");
  EXPECT_EQ(settings->s3_endpoint, "http://127.0.0.1:8333");
  EXPECT_EQ(settings->s3_sse, "aws:kms");
  EXPECT_EQ(settings->s3_sse_kms_key_id, "key-1");
  EXPECT_EQ(settings->s3_force_path_style, true);
}

// path_style reads yes/no words as the options do (util/text.hpp parse_bool).
TEST(StorageUrl, PathStyleTakesTheYesNoWordsOfTheOptions) {
  for (const auto& [word, expected] : std::vector<std::pair<std::string, bool>>{{"true", true},
                                                                                {"on", true},
                                                                                {"YES", true},
                                                                                {"1", true},
                                                                                {"false", false},
                                                                                {"off", false},
                                                                                {"No", false},
                                                                                {"0", false}}) {
    auto settings = apply_storage_url("s3://b?path_style=" + word, {});
    ASSERT_TRUE(settings.ok()) << word << ": " << settings.error().message();
    EXPECT_EQ(settings->s3_force_path_style, expected) << word;
  }
  auto refused = apply_storage_url("s3://b?force_path_style=maybe", {});
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message().find("force_path_style must be true or false, not 'maybe'"),
            std::string::npos)
      << refused.error().message();
}

TEST(StorageUrl, RejectsBadUrlsNamingTheProblem) {
  EXPECT_NE(apply_storage_url("gs://b", {}).error().message().find("gs"), std::string::npos);
  EXPECT_NE(apply_storage_url("s3://", {}).error().message().find("no bucket"), std::string::npos);
  EXPECT_NE(apply_storage_url("s3://b?colour=red", {}).error().message().find("colour"),
            std::string::npos);
  EXPECT_FALSE(apply_storage_url("s3://b?path_style=maybe", {}).ok());
  EXPECT_FALSE(apply_storage_url("s3://b%zz", {}).ok());
  EXPECT_FALSE(apply_storage_url("/just/a/path", {}).ok());
}

TEST(StorageUrl, S3UrlsNameABucketNotAServer) {
  for (const char* bad : {"s3://user:pw@b/x", "s3://b:9000/x", "s3://b/x#top", "s3://b c/x"})
    EXPECT_FALSE(apply_storage_url(bad, {}).ok()) << bad;
  auto upper = apply_storage_url("S3://Team.Bucket/a%20b/", {});
  ASSERT_TRUE(upper.ok()) << upper.error().message();
  EXPECT_EQ(upper->s3_bucket, "Team.Bucket");
  EXPECT_EQ(upper->s3_prefix, "a b");

  // A prefix names keys, not a file on a server: taken as written.
  auto literal = apply_storage_url("s3://b/my backups/a/../x/./y", {});
  ASSERT_TRUE(literal.ok()) << literal.error().message();
  EXPECT_EQ(literal->s3_prefix, "my backups/a/../x/./y");
}

TEST(OpenBackend, PicksLocalByDefaultAndForFileUrls) {
  auto backend = open_backend({}, no_environment());
  ASSERT_TRUE(backend.ok());
  EXPECT_NE(dynamic_cast<LocalBackend*>(backend->get()), nullptr);
  EXPECT_TRUE((*backend)->describe().ends_with("/consul-snapshots"));

  StorageSettings settings;
  settings.url = "file:///var/backups";
  settings.s3_bucket = "ignored";
  backend = open_backend(settings, no_environment());
  ASSERT_TRUE(backend.ok());
  EXPECT_EQ((*backend)->describe(), "file:///var/backups");
}

TEST(OpenBackend, MapsTheOriginalVariablesOntoS3) {
  StorageSettings settings;
  settings.s3_bucket = "b";
  settings.s3_region = "ap-south-1";
  settings.s3_endpoint = "http://127.0.0.1:9";
  settings.s3_sse = "AES256";
  auto backend = open_backend(settings, no_environment());
  ASSERT_TRUE(backend.ok()) << backend.error().message();
  auto* s3 = dynamic_cast<S3Backend*>(backend->get());
  ASSERT_NE(s3, nullptr);
  EXPECT_EQ(s3->options().region, "ap-south-1");
  EXPECT_EQ(s3->options().sse, S3Encryption::aes256);
  EXPECT_EQ(s3->host(), "127.0.0.1:9");
  EXPECT_EQ(s3->describe(), "s3://b/?region=ap-south-1&endpoint=http://127.0.0.1:9");
  EXPECT_EQ(s3->describe().find("registry-secret"), std::string::npos);
}

TEST(OpenBackend, RegionAndEndpointFallBackToAwsVariables) {
  auto options = no_environment();
  options.environment = [](std::string_view name) -> std::optional<std::string> {
    if (name == "AWS_REGION")
      return "sa-east-1";
    if (name == "AWS_ENDPOINT_URL")
      return "http://127.0.0.1:1";
    return std::nullopt;
  };
  StorageSettings settings;
  settings.url = "s3://b";
  auto backend = open_backend(settings, options);
  ASSERT_TRUE(backend.ok()) << backend.error().message();
  auto* s3 = dynamic_cast<S3Backend*>(backend->get());
  EXPECT_EQ(s3->options().region, "sa-east-1");
  EXPECT_EQ(s3->options().endpoint, "http://127.0.0.1:1");
}

TEST(OpenBackend, BadSseSettingsAreOneLineErrorsNamingTheOption) {
  StorageSettings settings;
  settings.s3_bucket = "b";
  settings.s3_sse = "rot13";
  auto failed = open_backend(settings, no_environment());
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().kind(), ErrorKind::invalid_argument);
  EXPECT_NE(failed.error().message().find("CONSUL_SNAPSHOT_S3_SSE"), std::string::npos);
  settings.s3_sse = "";
  settings.s3_sse_kms_key_id = "k";
  EXPECT_NE(open_backend(settings, no_environment())
                .error()
                .message()
                .find("CONSUL_SNAPSHOT_S3_SSE_KMS_KEY_ID"),
            std::string::npos);
  settings.s3_sse_kms_key_id.clear();
  settings.s3_part_size = 1024;
  EXPECT_FALSE(open_backend(settings, no_environment()).ok());
}

}  // namespace
}  // namespace csnap::storage
