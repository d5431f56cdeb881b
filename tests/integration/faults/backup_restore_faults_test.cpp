// `backup --once` and `restore --yes`, run as the real binary, through a real fault proxy
// (Toxiproxy) between the tool and a real Consul agent, and between the tool and SeaweedFS: answers
// cut midway, resets, latency with jitter, stalled connections. Each run either succeeds exactly
// (the backup passes `inspect`, the restored KV equals what was backed up, checked with the consul
// CLI) or fails with an error that names what failed, within a bound set by the configured
// timeouts; a failed run leaves no backup, no multipart upload (boto3) and no spool file.

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "../cli/cli_test.hpp"
#include "aws_emulators.hpp"
#include "seaweed_server.hpp"
#include "toxiproxy.hpp"
#include "util/base64.hpp"

namespace csnap::testing {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// What a fault may do to a run.
enum class Outcome { succeeds, fails, either };

struct Fault {
  std::string name;
  std::vector<Toxic> toxics;
  Outcome backup = Outcome::either;
  Outcome restore = Outcome::either;
};

// Toxics as the tests use them; `stream` says which way they act.
Toxic cut_after(std::int64_t bytes, ToxicStream stream) {
  return {.name = "cut",
          .type = "limit_data",
          .stream = stream,
          .attributes_json = R"({"bytes": )" + std::to_string(bytes) + "}"};
}
Toxic resets(double toxicity) {
  return {.name = "reset",
          .type = "reset_peer",
          .toxicity = toxicity,
          .attributes_json = R"({"timeout": 0})"};
}
Toxic latency() {
  return {.name = "latency",
          .type = "latency",
          .attributes_json = R"({"latency": 120, "jitter": 100})"};
}
Toxic stall(ToxicStream stream) {
  return {.name = stream == ToxicStream::upstream ? "stall-up" : "stall-down",
          .type = "timeout",
          .stream = stream,
          .attributes_json = R"({"timeout": 0})"};
}

bool directory_is_empty(const fs::path& directory) {
  return fs::is_empty(directory);
}

std::string listing(const fs::path& directory) {
  std::string out;
  for (const auto& entry : fs::recursive_directory_iterator(directory))
    out += entry.path().string() + "\n";
  return out;
}

// The KV under `prefix` as the consul CLI exports it, by key.
nlohmann::json exported(const ConsulAgent& agent, const std::string& prefix) {
  auto text = agent.run_cli({"kv", "export", prefix});
  EXPECT_TRUE(text.ok()) << text.error().message();
  if (!text.ok())
    return nlohmann::json::object();
  nlohmann::json by_key = nlohmann::json::object();
  for (auto& entry : nlohmann::json::parse(*text))
    by_key[entry["key"].get<std::string>()] = entry;
  return by_key;
}

// Writes `count` keys under app/ with `size` random bytes each, through `consul kv import`.
void seed(const ConsulAgent& agent, const fs::path& work, int count, std::size_t size) {
  std::mt19937_64 random(42);
  nlohmann::json entries = nlohmann::json::array();
  for (int i = 0; i < count; ++i) {
    std::string value(size, '\0');
    for (auto& c : value)
      c = static_cast<char>(random());
    entries.push_back(
        {{"key", "app/key-" + std::to_string(i)}, {"flags", i}, {"value", base64::encode(value)}});
  }
  auto file = work / "seed.json";
  std::ofstream(file) << entries.dump();
  auto imported = agent.run_cli({"kv", "import", "@" + file.string()});
  ASSERT_TRUE(imported.ok()) << imported.error().message();
}

// Changes the cluster away from the backup: half the keys deleted, a quarter rewritten, in
// transactions sent with curl.
void disturb(const ConsulAgent& agent, int count) {
  nlohmann::json ops = nlohmann::json::array();
  auto send = [&] {
    auto sent = curl(
        {"-X", "PUT", "--data-binary", ops.dump(), "http://" + agent.http_address() + "/v1/txn"});
    ASSERT_TRUE(sent.ok()) << sent.error().message();
    ASSERT_EQ(sent->status, 200) << sent->body;
    ops = nlohmann::json::array();
  };
  for (int i = 0; i < count; ++i) {
    std::string key = "app/key-" + std::to_string(i);
    if (i % 2 == 0) {
      ops.push_back({{"KV", {{"Verb", "delete"}, {"Key", key}}}});
    } else if (i % 4 == 1) {
      ops.push_back(
          {{"KV", {{"Verb", "set"}, {"Key", key}, {"Value", base64::encode("changed")}}}});
    }
    if (ops.size() == 64) {
      ASSERT_NO_FATAL_FAILURE(send());
    }
  }
  if (!ops.empty()) {
    ASSERT_NO_FATAL_FAILURE(send());
  }
}

struct Timed {
  Run run;
  std::chrono::steady_clock::duration elapsed{};
};

Timed timed_run(const std::vector<std::string>& args,
                const std::map<std::string, std::string>& env) {
  auto start = std::chrono::steady_clock::now();
  Run result = run_tool(args, env);
  return {std::move(result), std::chrono::steady_clock::now() - start};
}

// The last line of `text`: the error a failed command ends with.
std::string last_line(const std::string& text) {
  auto end = text.find_last_not_of('\n');
  if (end == std::string::npos)
    return {};
  auto start = text.rfind('\n', end);
  start = start == std::string::npos ? 0 : start + 1;
  return text.substr(start, end - start + 1);
}

// Says in the test's output what each faulty run did (the rows of the faults table in the docs).
void report(const std::string& what, const Timed& timed) {
  auto seconds = static_cast<double>(
                     std::chrono::duration_cast<std::chrono::milliseconds>(timed.elapsed).count()) /
                 1000.0;
  std::cout << "[fault] " << what << ": exit " << timed.run.exit_code << " after " << seconds
            << " s" << (timed.run.exit_code == 0 ? "" : ": " + last_line(timed.run.err)) << "\n";
}

void expect_outcome(Outcome expected, const Run& run, const std::string& what) {
  if (expected == Outcome::succeeds) {
    EXPECT_EQ(run.exit_code, 0) << what << ":\n" << run.all();
  }
  if (expected == Outcome::fails) {
    EXPECT_NE(run.exit_code, 0) << what << " succeeded:\n" << run.all();
  }
  // Success or a plain failure (exit 1), never a signal or a usage error.
  EXPECT_TRUE(run.exit_code == 0 || run.exit_code == 1) << what << ":\n" << run.all();
}

// Adds `fault`'s toxics to `proxy` for the life of the object.
class Toxics {
 public:
  Toxics(ToxiproxyServer& server, std::string proxy, const Fault& fault)
      : server_(server), proxy_(std::move(proxy)), fault_(fault) {
    for (const auto& toxic : fault_.toxics) {
      auto added = server_.add_toxic(proxy_, toxic);
      EXPECT_TRUE(added.ok()) << fault_.name << ": " << added.error().message();
    }
  }
  ~Toxics() {
    for (const auto& toxic : fault_.toxics) {
      auto removed = server_.remove_toxic(proxy_, toxic.name);
      EXPECT_TRUE(removed.ok()) << fault_.name << ": " << removed.error().message();
    }
  }
  Toxics(const Toxics&) = delete;
  Toxics& operator=(const Toxics&) = delete;

 private:
  ToxiproxyServer& server_;
  std::string proxy_;
  const Fault& fault_;
};

constexpr int kKeys = 200;

// Faults between the tool and Consul: every run's requests to Consul go through the proxy.
class ConsulFaults : public CliTest {
 protected:
  void SetUp() override {
    CSNAP_REQUIRE_CONSUL(agent, ConsulAgentOptions{});
    adopt(std::move(agent));
    CSNAP_REQUIRE_TOXIPROXY(server);
    toxiproxy_ = server;
    auto port = toxiproxy_->create_proxy("consul", agent_->http_address());
    ASSERT_TRUE(port.ok()) << port.error().message();
    proxied_ = env();
    proxied_["CONSUL_HTTP_ADDR"] = "127.0.0.1:" + std::to_string(*port);
    proxied_["CONSUL_SNAPSHOT_CONSUL_TIMEOUT"] = "3s";
    // Values of 2 KiB: the KV answer is about 550 KB, so that a cut lands inside it.
    ASSERT_NO_FATAL_FAILURE(seed(*agent_, work_, kKeys, 2048));
    expected_ = exported(*agent_, "app/");
    ASSERT_EQ(expected_.size(), static_cast<std::size_t>(kKeys));
  }
  void TearDown() override {
    if (toxiproxy_ != nullptr)
      static_cast<void>(toxiproxy_->remove_proxy("consul"));
    CliTest::TearDown();
  }

  // A Consul request times out after 3 s and is tried 4 times; a command makes a handful of
  // requests before the one that fails. Generous: a hang is the bug, not slowness.
  static constexpr auto kBound = 100s;

  ToxiproxyServer* toxiproxy_ = nullptr;
  std::map<std::string, std::string> proxied_;
  nlohmann::json expected_;
};

std::vector<Fault> consul_faults() {
  return {
      {"answers cut midway",
       {cut_after(30000, ToxicStream::downstream)},
       Outcome::fails,
       Outcome::fails},
      {"requests cut midway",
       {cut_after(30000, ToxicStream::upstream)},
       Outcome::either,
       Outcome::fails},
      {"half the connections reset", {resets(0.5)}, Outcome::either, Outcome::either},
      {"latency with jitter", {latency()}, Outcome::succeeds, Outcome::succeeds},
      {"answers stalled", {stall(ToxicStream::downstream)}, Outcome::fails, Outcome::fails},
  };
}

TEST_F(ConsulFaults, BackupSucceedsExactlyOrFailsCleanlyInBoundedTime) {
  for (const auto& fault : consul_faults()) {
    SCOPED_TRACE(fault.name);
    auto before = backup_files();
    // Every key, with the tool's own `lastbackup` once a backup has succeeded.
    const auto keys_in_consul = exported(*agent_, "").size();
    Timed backup;
    {
      Toxics toxics(*toxiproxy_, "consul", fault);
      backup = timed_run({"backup", "--once"}, proxied_);
    }
    report("backup, Consul: " + fault.name, backup);
    expect_outcome(fault.backup, backup.run, "backup with " + fault.name);
    EXPECT_LT(backup.elapsed, kBound) << backup.run.all();
    EXPECT_TRUE(directory_is_empty(work_ / "tmp")) << listing(work_ / "tmp");
    auto after = backup_files();
    if (backup.run.exit_code != 0) {
      EXPECT_EQ(after.size(), before.size()) << listing(work_ / "backups");
      EXPECT_NE(backup.run.err.find("Consul"), std::string::npos) << backup.run.err;
      continue;
    }
    ASSERT_EQ(after.size(), before.size() + 1) << listing(work_ / "backups");
    fs::path made;
    for (const auto& file : after) {
      if (std::find(before.begin(), before.end(), file) == before.end())
        made = file;
    }
    auto inspect = run_tool({"inspect", made.string(), "--json"}, env());
    ASSERT_EQ(inspect.exit_code, 0) << inspect.all();
    EXPECT_EQ(nlohmann::json::parse(inspect.out)["kv_entries"], keys_in_consul) << inspect.out;
    // What it holds is what Consul held: restore it into a wiped app/ directly, then compare.
    ASSERT_TRUE(agent_->run_cli({"kv", "delete", "-recurse", "app/"}).ok());
    auto restore = run_tool({"restore", made.string(), "--yes"}, env());
    ASSERT_EQ(restore.exit_code, 0) << restore.all();
    EXPECT_EQ(exported(*agent_, "app/"), expected_);
    // The next backup may fall in the same second, under the same name.
    fs::remove(made);
  }
}

TEST_F(ConsulFaults, RestoreSucceedsExactlyOrFailsCleanlyAndARerunConverges) {
  auto made = run_tool({"backup", "--once"}, env());
  ASSERT_EQ(made.exit_code, 0) << made.all();
  auto files = backup_files();
  ASSERT_EQ(files.size(), 1u);
  const std::string backup = files[0].string();
  for (const auto& fault : consul_faults()) {
    SCOPED_TRACE(fault.name);
    ASSERT_NO_FATAL_FAILURE(disturb(*agent_, kKeys));
    Timed restore;
    {
      Toxics toxics(*toxiproxy_, "consul", fault);
      restore = timed_run({"restore", backup, "--yes"}, proxied_);
    }
    report("restore, Consul: " + fault.name, restore);
    expect_outcome(fault.restore, restore.run, "restore with " + fault.name);
    EXPECT_LT(restore.elapsed, kBound) << restore.run.all();
    EXPECT_TRUE(directory_is_empty(work_ / "tmp")) << listing(work_ / "tmp");
    if (restore.run.exit_code != 0) {
      EXPECT_NE(restore.run.err.find("Consul"), std::string::npos) << restore.run.err;
      // Part of the KV may be written; the same restore without the fault converges.
      auto rerun = run_tool({"restore", backup, "--yes"}, proxied_);
      ASSERT_EQ(rerun.exit_code, 0) << rerun.all();
    }
    EXPECT_EQ(exported(*agent_, "app/"), expected_);
  }
}

// The tool's warning about CONSUL_HTTP_SSL_VERIFY=false comes once per command, though a restore
// makes several Consul clients.
TEST_F(ConsulFaults, UnverifiedTlsIsWarnedOnceACommand) {
  auto made = run_tool({"backup", "--once"}, env());
  ASSERT_EQ(made.exit_code, 0) << made.all();
  auto files = backup_files();
  ASSERT_EQ(files.size(), 1u);
  auto unverified = env();
  unverified["CONSUL_HTTP_SSL_VERIFY"] = "false";
  auto restore = run_tool({"restore", files[0].string(), "--yes"}, unverified);
  ASSERT_EQ(restore.exit_code, 0) << restore.all();
  auto first = restore.err.find("CONSUL_HTTP_SSL_VERIFY=false");
  ASSERT_NE(first, std::string::npos) << restore.err;
  EXPECT_EQ(restore.err.find("CONSUL_HTTP_SSL_VERIFY=false", first + 1), std::string::npos)
      << restore.err;
  auto verified = run_tool({"restore", files[0].string(), "--yes"}, env());
  ASSERT_EQ(verified.exit_code, 0) << verified.all();
  EXPECT_EQ(verified.err.find("CONSUL_HTTP_SSL_VERIFY"), std::string::npos) << verified.err;
}

// boto3 (not our code) says what the bucket holds: "objects N" and "uploads M".
constexpr const char* kBucketScript = R"(
import os, boto3
s3 = boto3.client("s3", endpoint_url=os.environ["ENDPOINT"], region_name="us-east-1",
                  aws_access_key_id=os.environ["KEY_ID"], aws_secret_access_key=os.environ["SECRET"])
if os.environ.get("CREATE"):
    s3.create_bucket(Bucket=os.environ["BUCKET"])
if os.environ.get("CLEAR"):
    for item in s3.list_objects_v2(Bucket=os.environ["BUCKET"]).get("Contents", []):
        s3.delete_object(Bucket=os.environ["BUCKET"], Key=item["Key"])
if os.environ.get("ABORT"):
    for item in s3.list_multipart_uploads(Bucket=os.environ["BUCKET"]).get("Uploads", []):
        s3.abort_multipart_upload(Bucket=os.environ["BUCKET"], Key=item["Key"],
                                  UploadId=item["UploadId"])
objects = s3.list_objects_v2(Bucket=os.environ["BUCKET"]).get("Contents", [])
uploads = s3.list_multipart_uploads(Bucket=os.environ["BUCKET"]).get("Uploads", [])
print("objects", len(objects))
print("uploads", len(uploads))
for item in objects:
    print("object", item["Key"], item["Size"])
)";

constexpr int kBigKeys = 48;  // of 256 KiB random bytes: a backup of 12 MiB, two parts of 8 MiB

// Faults between the tool and SeaweedFS; Consul is reached directly.
class StorageFaults : public CliTest {
 protected:
  void SetUp() override {
    CSNAP_REQUIRE_CONSUL(agent, ConsulAgentOptions{});
    adopt(std::move(agent));
    CSNAP_REQUIRE_SEAWEED(seaweed);
    CSNAP_REQUIRE_TOXIPROXY(server);
    auto python = find_python_with_moto();
    CSNAP_REQUIRE_FOUND(python, "python venv with boto3", "run scripts/install-py-tools.sh")
    python_ = python->string();
    toxiproxy_ = server;
    auto authority = seaweed->endpoint().substr(std::string_view("http://").size());
    auto port = toxiproxy_->create_proxy("s3", authority);
    ASSERT_TRUE(port.ok()) << port.error().message();
    const auto identity = SeaweedServer::admin();
    bucket_env_ = {{"ENDPOINT", seaweed->endpoint()},
                   {"KEY_ID", identity.access_key},
                   {"SECRET", identity.secret_key},
                   {"BUCKET", unique_bucket_name()}};
    auto created = bucket_env_;
    created["CREATE"] = "1";
    auto made = run({python_, "-c", kBucketScript}, created);
    ASSERT_EQ(made.exit_code, 0) << made.all();
    proxied_ = env();
    proxied_.erase("LOCAL_DIR");
    proxied_["S3BUCKET"] = bucket_env_["BUCKET"];
    proxied_["S3ENDPOINT"] = "http://127.0.0.1:" + std::to_string(*port);
    proxied_["S3REGION"] = "us-east-1";
    proxied_["AWS_ACCESS_KEY_ID"] = identity.access_key;
    proxied_["AWS_SECRET_ACCESS_KEY"] = identity.secret_key;
    proxied_["CONSUL_SNAPSHOT_STORAGE_TIMEOUT"] = "5s";
    direct_ = proxied_;
    direct_["S3ENDPOINT"] = seaweed->endpoint();
    ASSERT_NO_FATAL_FAILURE(seed(*agent_, work_, kBigKeys, std::size_t{256} * 1024));
    expected_ = exported(*agent_, "app/");
  }
  void TearDown() override {
    if (toxiproxy_ != nullptr)
      static_cast<void>(toxiproxy_->remove_proxy("s3"));
    CliTest::TearDown();
  }

  // The bucket's objects and pending multipart uploads, as boto3 lists them.
  std::pair<int, int> bucket_contents(std::string* text = nullptr) {
    auto listed = run({python_, "-c", kBucketScript}, bucket_env_);
    EXPECT_EQ(listed.exit_code, 0) << listed.all();
    if (text != nullptr)
      *text = listed.out;
    int objects = -1, uploads = -1;  // -1: not listed
    std::istringstream lines(listed.out);
    std::string label;
    int count = 0;
    while (lines >> label >> count) {
      if (label == "objects")
        objects = count;
      else if (label == "uploads")
        uploads = count;
    }
    return {objects, uploads};
  }

  // An S3 request times out after 5 s and is tried 4 times; a failed upload also looks for and
  // aborts what it started, each request tried 8 times: about 90 s at worst.
  static constexpr auto kBound = 150s;

  ToxiproxyServer* toxiproxy_ = nullptr;
  std::string python_;
  std::map<std::string, std::string> bucket_env_, proxied_, direct_;
  nlohmann::json expected_;
};

std::vector<Fault> storage_faults() {
  return {
      {"answers cut midway",
       {cut_after(2000, ToxicStream::downstream)},
       Outcome::either,
       Outcome::fails},
      {"uploads cut midway",
       {cut_after(1000000, ToxicStream::upstream)},
       Outcome::fails,
       Outcome::either},
      {"half the connections reset", {resets(0.5)}, Outcome::either, Outcome::either},
      {"latency with jitter", {latency()}, Outcome::succeeds, Outcome::succeeds},
      {"connections stalled both ways",
       {stall(ToxicStream::upstream), stall(ToxicStream::downstream)},
       Outcome::fails,
       Outcome::fails},
  };
}

TEST_F(StorageFaults, BackupSucceedsExactlyOrFailsCleanlyInBoundedTime) {
  for (const auto& fault : storage_faults()) {
    SCOPED_TRACE(fault.name);
    const auto keys_in_consul = exported(*agent_, "").size();
    Timed backup;
    {
      Toxics toxics(*toxiproxy_, "s3", fault);
      backup = timed_run({"backup", "--once"}, proxied_);
    }
    report("backup, S3: " + fault.name, backup);
    expect_outcome(fault.backup, backup.run, "backup with " + fault.name);
    EXPECT_LT(backup.elapsed, kBound) << backup.run.all();
    EXPECT_TRUE(directory_is_empty(work_ / "tmp")) << listing(work_ / "tmp");
    std::string contents;
    auto [objects, uploads] = bucket_contents(&contents);
    // A CreateMultipartUpload whose answer was lost may have started an upload; the tool looks
    // for it and aborts it, each request tried 8 times. When the storage cannot be reached for
    // all of them (half the connections reset: rarely; stalled: always) an upload is left, and
    // the tool must say so. Later cases start from an empty bucket either way.
    const bool lost_upload_reported =
        backup.run.err.find("an upload it may have started could not be looked for") !=
            std::string::npos ||
        backup.run.err.find("could not be aborted") != std::string::npos;
    if (lost_upload_reported) {
      EXPECT_NE(backup.run.exit_code, 0);
      EXPECT_LE(uploads, 1) << contents;
      auto aborted = bucket_env_;
      aborted["ABORT"] = "1";
      EXPECT_EQ(run({python_, "-c", kBucketScript}, aborted).exit_code, 0);
    } else {
      EXPECT_EQ(uploads, 0) << contents;
    }
    if (backup.run.exit_code != 0) {
      EXPECT_EQ(objects, 0) << contents;
      EXPECT_NE(backup.run.err.find("s3://"), std::string::npos) << backup.run.err;
      continue;
    }
    EXPECT_EQ(objects, 1) << contents;
    auto inspect = run_tool({"inspect", "latest", "--json"}, direct_);
    ASSERT_EQ(inspect.exit_code, 0) << inspect.all();
    EXPECT_EQ(nlohmann::json::parse(inspect.out)["kv_entries"], keys_in_consul) << inspect.out;
    // The next backup may fall in the same second, under the same name.
    auto cleared = bucket_env_;
    cleared["CLEAR"] = "1";
    EXPECT_EQ(run({python_, "-c", kBucketScript}, cleared).exit_code, 0);
  }
}

TEST_F(StorageFaults, RestoreFromStorageSucceedsExactlyOrFailsBeforeWriting) {
  auto made = run_tool({"backup", "--once"}, direct_);
  ASSERT_EQ(made.exit_code, 0) << made.all();
  for (const auto& fault : storage_faults()) {
    SCOPED_TRACE(fault.name);
    ASSERT_NO_FATAL_FAILURE(disturb(*agent_, kBigKeys));
    auto disturbed = exported(*agent_, "app/");
    Timed restore;
    {
      Toxics toxics(*toxiproxy_, "s3", fault);
      restore = timed_run({"restore", "latest", "--yes"}, proxied_);
    }
    report("restore, S3: " + fault.name, restore);
    expect_outcome(fault.restore, restore.run, "restore with " + fault.name);
    EXPECT_LT(restore.elapsed, kBound) << restore.run.all();
    EXPECT_TRUE(directory_is_empty(work_ / "tmp")) << listing(work_ / "tmp");
    if (restore.run.exit_code != 0) {
      EXPECT_NE(restore.run.err.find("s3://"), std::string::npos) << restore.run.err;
      // The backup is read and verified before anything is written: Consul is untouched.
      EXPECT_EQ(exported(*agent_, "app/"), disturbed);
      auto rerun = run_tool({"restore", "latest", "--yes"}, direct_);
      ASSERT_EQ(rerun.exit_code, 0) << rerun.all();
    }
    EXPECT_EQ(exported(*agent_, "app/"), expected_);
  }
}

}  // namespace
}  // namespace csnap::testing
