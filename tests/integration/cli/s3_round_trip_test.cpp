// A backup to S3 and a restore from it, end to end, against a real SeaweedFS that checks
// signatures; boto3 (not our code) checks the object's key, size and server-side encryption.

#include <cstdlib>
#include <regex>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli_test.hpp"
#include "seaweed_server.hpp"

namespace csnap::testing {
namespace {

std::optional<std::string> boto3_python() {
  if (const char* python = std::getenv("CSNAP_PYTHON"); python != nullptr)
    return python;
  const char* home = std::getenv("HOME");
  std::filesystem::path cache =
      std::getenv("CONSUL_SNAPSHOT_CACHE") != nullptr
          ? std::filesystem::path(std::getenv("CONSUL_SNAPSHOT_CACHE"))
          : std::filesystem::path(home == nullptr ? "/root" : home) / ".cache" / "consul-snapshot";
  auto python = cache / "venv" / "bin" / "python";
  if (!std::filesystem::exists(python))
    return std::nullopt;
  return python.string();
}

constexpr const char* kBoto3Script = R"(
import os, sys, boto3
s3 = boto3.client("s3", endpoint_url=os.environ["ENDPOINT"], region_name="us-east-1",
                  aws_access_key_id=os.environ["KEY_ID"], aws_secret_access_key=os.environ["SECRET"])
if sys.argv[1] == "create":
    s3.create_bucket(Bucket=os.environ["BUCKET"])
else:
    for item in s3.list_objects_v2(Bucket=os.environ["BUCKET"]).get("Contents", []):
        head = s3.head_object(Bucket=os.environ["BUCKET"], Key=item["Key"])
        print(item["Key"], head["ContentLength"], head.get("ServerSideEncryption"))
)";

TEST(S3EndToEnd, BackupToS3AndRestoreFromIt) {
  CSNAP_REQUIRE_CONSUL(agent, ConsulAgentOptions{});
  CSNAP_REQUIRE_SEAWEED(server);
  auto python = boto3_python();
  if (!python) {
    if (running_in_ci())
      FAIL() << "boto3 venv not found (CI=true): run scripts/install-py-tools.sh";
    GTEST_SKIP() << "boto3 venv not found: run scripts/install-py-tools.sh";
  }
  const auto identity = SeaweedServer::admin();
  const std::string bucket = unique_bucket_name();
  const std::map<std::string, std::string> boto_env = {{"ENDPOINT", server->endpoint()},
                                                       {"KEY_ID", identity.access_key},
                                                       {"SECRET", identity.secret_key},
                                                       {"BUCKET", bucket}};
  auto created = run({*python, "-c", kBoto3Script, "create"}, boto_env);
  ASSERT_EQ(created.exit_code, 0) << created.all();

  ASSERT_TRUE(agent->run_cli({"kv", "put", "app/s3", "through object storage"}).ok());
  ASSERT_TRUE(agent->run_cli({"kv", "put", "-flags=7", "app/flags", "seven"}).ok());
  auto tmp = std::filesystem::temp_directory_path() / ("csnap-s3-" + unique_bucket_name());
  std::filesystem::create_directories(tmp);
  const std::map<std::string, std::string> tool_env = {
      {"CONSUL_HTTP_ADDR", agent->http_address()}, {"S3BUCKET", bucket},
      {"S3ENDPOINT", server->endpoint()},          {"S3REGION", "us-east-1"},
      {"AWS_ACCESS_KEY_ID", identity.access_key},  {"AWS_SECRET_ACCESS_KEY", identity.secret_key},
      {"CONSUL_SNAPSHOT_S3_SSE", "AES256"},        {"SNAPSHOT_TMP_DIR", tmp.string()},
      {"CONSUL_SNAPSHOT_HOSTNAME", "s3host"}};

  auto backup = run_tool({"backup", "--once", "--log-level", "debug"}, tool_env);
  ASSERT_EQ(backup.exit_code, 0) << backup.all();
  EXPECT_EQ(backup.all().find(identity.secret_key), std::string::npos)
      << "the secret key was printed";

  auto listed = run({*python, "-c", kBoto3Script, "list"}, boto_env);
  ASSERT_EQ(listed.exit_code, 0) << listed.all();
  EXPECT_TRUE(std::regex_match(
      listed.out,
      std::regex(
          R"(backups/\d{4}/\d{1,2}/\d{1,2}/s3host\.consul\.snapshot\.\d+\.tar\.zst \d+ AES256\n)")))
      << listed.out;

  auto ours = run_tool({"list", "--json"}, tool_env);
  ASSERT_EQ(ours.exit_code, 0) << ours.all();
  auto list = nlohmann::json::parse(ours.out);
  ASSERT_EQ(list.size(), 1u) << ours.out;
  EXPECT_EQ(list[0]["counts"]["kv"], 2);

  ASSERT_TRUE(agent->run_cli({"kv", "delete", "-recurse", "app"}).ok());
  auto restore = run_tool({"restore", "latest", "--yes"}, tool_env);
  ASSERT_EQ(restore.exit_code, 0) << restore.all();
  EXPECT_EQ(*agent->run_cli({"kv", "get", "app/s3"}), "through object storage\n");
  auto detailed = agent->run_cli({"kv", "get", "-detailed", "app/flags"});
  ASSERT_TRUE(detailed.ok());
  EXPECT_TRUE(std::regex_search(*detailed, std::regex(R"(Flags\s+7\n)"))) << *detailed;
  std::filesystem::remove_all(tmp);
}

}  // namespace
}  // namespace csnap::testing
