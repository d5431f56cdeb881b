// S3-specific behaviour against a real SeaweedFS: authentication and permission failures, SSE,
// multipart failure cleanup, the registry and the credential files, and an independent check of
// what we wrote with boto3.

#include <atomic>
#include <cstdlib>
#include <fstream>

#include <gtest/gtest.h>

#include "backend_fixture.hpp"
#include "consul_agent.hpp"
#include "storage/registry.hpp"

namespace csnap::storage {
namespace {

using ::csnap::testing::SeaweedServer;

class S3OnSeaweed : public ::testing::Test {
 protected:
  void SetUp() override {
    CSNAP_REQUIRE_SEAWEED(server);
    server_ = server;
    bucket_ = ::csnap::testing::unique_bucket_name();
    admin_ = make(SeaweedServer::admin());
    auto created = admin_->create_bucket();
    ASSERT_TRUE(created.ok()) << created.error().message();
  }

  std::unique_ptr<S3Backend> make(const ::csnap::testing::S3Identity& identity,
                                  const std::function<void(S3Options&)>& adjust = {}) {
    auto options = testing::seaweed_options(*server_, bucket_, identity);
    options.sleep = [this](std::chrono::milliseconds) { ++retries_; };
    if (adjust)
      adjust(options);
    auto backend = S3Backend::create(std::move(options));
    EXPECT_TRUE(backend.ok()) << backend.error().message();
    return std::move(backend).value();
  }

  static Status put(Backend& backend, std::string_view key, std::string_view content) {
    CSNAP_ASSIGN_OR_RETURN(auto upload, backend.put(key));
    CSNAP_TRY(upload->write(content));
    return upload->finish();
  }

  SeaweedServer* server_ = nullptr;
  std::string bucket_;
  std::unique_ptr<S3Backend> admin_;
  int retries_ = 0;
};

TEST_F(S3OnSeaweed, WrongSecretFailsAtOnceWithSignatureDoesNotMatch) {
  auto identity = SeaweedServer::admin();
  identity.secret_key = "not-the-right-secret-at-all-000000000000";
  auto backend = make(identity);
  auto listed = backend->list("");
  ASSERT_FALSE(listed.ok());
  EXPECT_EQ(listed.error().kind(), ErrorKind::unauthenticated);
  EXPECT_NE(listed.error().message().find("403 SignatureDoesNotMatch"), std::string::npos)
      << listed.error().message();
  auto written = put(*backend, "k", "v");
  ASSERT_FALSE(written.ok());
  EXPECT_NE(written.error().message().find("SignatureDoesNotMatch"), std::string::npos);
  EXPECT_EQ(written.error().message().find(identity.secret_key), std::string::npos);
  EXPECT_EQ(retries_, 0);
}

TEST_F(S3OnSeaweed, UnknownAccessKeyIsInvalidAccessKeyId) {
  auto identity = SeaweedServer::admin();
  identity.access_key = "UNKNOWNKEY0000000000";
  auto listed = make(identity)->list("");
  ASSERT_FALSE(listed.ok());
  EXPECT_EQ(listed.error().kind(), ErrorKind::unauthenticated);
  EXPECT_NE(listed.error().message().find("InvalidAccessKeyId"), std::string::npos)
      << listed.error().message();
  EXPECT_EQ(retries_, 0);
}

TEST_F(S3OnSeaweed, UnknownBucketIsNoSuchBucket) {
  bucket_ = ::csnap::testing::unique_bucket_name();
  auto backend = make(SeaweedServer::admin());
  auto listed = backend->list("");
  ASSERT_FALSE(listed.ok());
  EXPECT_EQ(listed.error().kind(), ErrorKind::not_found);
  EXPECT_NE(listed.error().message().find("NoSuchBucket"), std::string::npos)
      << listed.error().message();
  auto written = put(*backend, "k", "v");
  ASSERT_FALSE(written.ok());
  EXPECT_NE(written.error().message().find("NoSuchBucket"), std::string::npos)
      << written.error().message();
  EXPECT_EQ(retries_, 0);
}

TEST_F(S3OnSeaweed, MissingPermissionIsAccessDenied) {
  ASSERT_TRUE(put(*admin_, "readable", "x").ok());
  auto reader = make(SeaweedServer::reader());
  EXPECT_TRUE(reader->list("").ok());
  auto written = put(*reader, "forbidden", "x");
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.error().kind(), ErrorKind::permission_denied);
  EXPECT_NE(written.error().message().find("AccessDenied"), std::string::npos)
      << written.error().message();
  EXPECT_EQ(retries_, 0);
}

TEST_F(S3OnSeaweed, SseAes256IsSentAndEchoed) {
  auto backend =
      make(SeaweedServer::admin(), [](S3Options& options) { options.sse = S3Encryption::aes256; });
  ASSERT_TRUE(put(*backend, "sse/small", "encrypted at rest").ok());
  std::string large(testing::kTestPartSize + 10, 'z');
  ASSERT_TRUE(put(*backend, "sse/large", large).ok());
  for (const char* key : {"sse/small", "sse/large"}) {
    S3Backend::Call head{"HEAD", key, {}, {}, {}};
    auto response = backend->send(head);
    ASSERT_TRUE(response.ok()) << response.error().message();
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->headers.get("x-amz-server-side-encryption"), "AES256") << key;
  }
}

// Hands out the right secret except for one request, which then fails with a bad signature.
class OneBadSignature final : public CredentialsProvider {
 public:
  explicit OneBadSignature(int bad_call) : bad_call_(bad_call) {}
  Result<AwsCredentials> fetch() override {
    auto identity = SeaweedServer::admin();
    std::string secret =
        ++calls_ == bad_call_ ? "wrong-secret-for-one-request" : identity.secret_key;
    return AwsCredentials{identity.access_key, Secret(secret), Secret(), {}, "test"};
  }
  std::string name() const override { return "one bad signature"; }

 private:
  int bad_call_;
  std::atomic<int> calls_{0};
};

TEST_F(S3OnSeaweed, FailedPartAbortsTheMultipartUpload) {
  // Requests: 1 CreateMultipartUpload, 2 part 1, 3 part 2 (refused), 4 AbortMultipartUpload.
  auto backend = make(SeaweedServer::admin(), [](S3Options& options) {
    options.credentials = std::make_shared<OneBadSignature>(3);
  });
  auto upload = backend->put("failing/backup.tar.zst");
  ASSERT_TRUE(upload.ok());
  std::string data(3 * testing::kTestPartSize, 'q');
  auto written = (*upload)->write(std::string_view(data));
  ASSERT_FALSE(written.ok());
  EXPECT_NE(written.error().message().find("SignatureDoesNotMatch"), std::string::npos)
      << written.error().message();
  upload->reset();
  auto pending = admin_->pending_uploads("");
  ASSERT_TRUE(pending.ok()) << pending.error().message();
  EXPECT_TRUE(pending->empty());
  EXPECT_TRUE(admin_->list("")->empty());
}

TEST_F(S3OnSeaweed, PendingUploadsOfAKilledProcessCanBeFoundAndAborted) {
  // CreateMultipartUpload without anything after it: what a process killed mid-backup leaves.
  S3Backend::Call create{"POST", "killed/backup", {{"uploads", ""}}, {}, {}};
  auto response = admin_->send(create);
  ASSERT_TRUE(response.ok() && response->ok());
  auto pending = admin_->pending_uploads("killed/");
  ASSERT_TRUE(pending.ok()) << pending.error().message();
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].key, "killed/backup");
  ASSERT_TRUE(admin_->abort_upload((*pending)[0]).ok());
  EXPECT_TRUE(admin_->pending_uploads("")->empty());
  // An upload already gone (aborted by a retry whose answer was lost, or by the bucket's
  // lifecycle rule) is done, not an error.
  auto again = admin_->abort_upload((*pending)[0]);
  EXPECT_TRUE(again.ok()) << again.error().message();
}

TEST_F(S3OnSeaweed, RootPrefixIsHiddenFromKeys) {
  auto rooted =
      make(SeaweedServer::admin(), [](S3Options& options) { options.root = "team/consul"; });
  ASSERT_TRUE(put(*rooted, "backups/a", "a").ok());
  EXPECT_EQ(rooted->list("backups/")->at(0).key, "backups/a");
  EXPECT_EQ(admin_->list("")->at(0).key, "team/consul/backups/a");
}

EnvironmentLookup lookup_in(std::map<std::string, std::string> values) {
  return [values = std::move(values)](std::string_view name) -> std::optional<std::string> {
    auto it = values.find(std::string(name));
    if (it == values.end())
      return std::nullopt;
    return it->second;
  };
}

TEST_F(S3OnSeaweed, RegistryOpensAnS3UrlWithEnvironmentCredentials) {
  auto identity = SeaweedServer::admin();
  StorageSettings settings;
  settings.url =
      fmt::format("s3://{}/via-url?endpoint={}&region=us-east-1", bucket_, server_->endpoint());
  OpenOptions options;
  options.environment = lookup_in({{"AWS_ACCESS_KEY_ID", identity.access_key},
                                   {"AWS_SECRET_ACCESS_KEY", identity.secret_key},
                                   {"HOME", "/nonexistent"}});
  auto backend = open_backend(settings, options);
  ASSERT_TRUE(backend.ok()) << backend.error().message();
  ASSERT_TRUE(put(**backend, "k", "through the registry").ok());
  EXPECT_EQ(admin_->list("via-url/")->at(0).key, "via-url/k");
  EXPECT_EQ((*backend)->describe().find(identity.secret_key), std::string::npos);
}

TEST_F(S3OnSeaweed, SharedCredentialsFileProfileWorks) {
  auto dir = testing::make_temp_root();
  auto identity = SeaweedServer::admin();
  std::ofstream(dir / "credentials") << "[default]\naws_access_key_id = WRONG\n"
                                        "aws_secret_access_key = wrong\n[backup]\n"
                                     << "aws_access_key_id = " << identity.access_key
                                     << "\naws_secret_access_key = " << identity.secret_key << "\n";
  StorageSettings settings;
  settings.s3_bucket = bucket_;
  settings.s3_endpoint = server_->endpoint();
  OpenOptions options;
  options.environment = lookup_in({{"AWS_PROFILE", "backup"},
                                   {"AWS_SHARED_CREDENTIALS_FILE", (dir / "credentials").string()},
                                   {"AWS_CONFIG_FILE", (dir / "config").string()}});
  auto backend = open_backend(settings, options);
  ASSERT_TRUE(backend.ok()) << backend.error().message();
  auto written = put(**backend, "from-profile", "x");
  EXPECT_TRUE(written.ok()) << written.error().message();
  std::filesystem::remove_all(dir);
}

std::optional<std::string> find_python_with_boto3() {
  if (const char* explicit_python = std::getenv("CSNAP_PYTHON"); explicit_python != nullptr)
    return std::string(explicit_python);
  std::filesystem::path cache;
  if (const char* value = std::getenv("CONSUL_SNAPSHOT_CACHE"); value != nullptr) {
    cache = value;
  } else if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr) {
    cache = std::filesystem::path(xdg) / "consul-snapshot";
  } else {
    cache = std::filesystem::path(std::getenv("HOME")) / ".cache" / "consul-snapshot";
  }
  auto python = cache / "venv" / "bin" / "python";
  if (!std::filesystem::exists(python))
    return std::nullopt;
  return python.string();
}

TEST_F(S3OnSeaweed, Boto3SeesTheKeySizeAndSseWeWrote) {
  auto python = find_python_with_boto3();
  if (!python) {
    if (::csnap::testing::running_in_ci())
      FAIL() << "boto3 venv not found (CI=true): run scripts/install-py-tools.sh";
    GTEST_SKIP() << "boto3 venv not found: run scripts/install-py-tools.sh";
  }
  auto backend =
      make(SeaweedServer::admin(), [](S3Options& options) { options.sse = S3Encryption::aes256; });
  const std::string key = "backups/2026/11/27/host name+1.consul.snapshot.1.tar.zst";
  std::string content(testing::kTestPartSize * 2 + 77, 'b');
  ASSERT_TRUE(put(*backend, key, content).ok());
  auto identity = SeaweedServer::admin();
  const char* script = R"(
import os, boto3
s3 = boto3.client("s3", endpoint_url=os.environ["ENDPOINT"], region_name="us-east-1",
                  aws_access_key_id=os.environ["KEY_ID"], aws_secret_access_key=os.environ["SECRET"])
listed = s3.list_objects_v2(Bucket=os.environ["BUCKET"])["Contents"]
head = s3.head_object(Bucket=os.environ["BUCKET"], Key=os.environ["KEY"])
print(listed[0]["Key"]); print(head["ContentLength"]); print(head.get("ServerSideEncryption"))
)";
  auto result =
      ::csnap::testing::run_process({*python, "-c", script}, {{"ENDPOINT", server_->endpoint()},
                                                              {"KEY_ID", identity.access_key},
                                                              {"SECRET", identity.secret_key},
                                                              {"BUCKET", bucket_},
                                                              {"KEY", key}});
  ASSERT_TRUE(result.ok()) << result.error().message();
  ASSERT_EQ(result->exit_code, 0) << result->err;
  EXPECT_EQ(result->out, fmt::format("{}\n{}\nAES256\n", key, content.size()));
}

}  // namespace
}  // namespace csnap::storage
