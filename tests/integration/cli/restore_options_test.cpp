// Partial and planned restores through the CLI: --prefix with --mode replace, --transform, diff,
// and a second identical restore that writes nothing. Consul's state is read with the consul CLI
// and curl.

#include <regex>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli_test.hpp"

namespace csnap::testing {
namespace {

class RestoreOptionsTest : public CliTest {
 protected:
  void SetUp() override {
    CSNAP_REQUIRE_CONSUL(agent, ConsulAgentOptions{});
    adopt(std::move(agent));
  }
  void put(const std::string& key, const std::string& value) {
    ASSERT_TRUE(agent_->run_cli({"kv", "put", key, value}).ok()) << key;
  }
  // key -> value of every key under `prefix`, with the consul CLI's export.
  std::map<std::string, std::string> under(const std::string& prefix) {
    auto exported = agent_->run_cli({"kv", "export", prefix});
    std::map<std::string, std::string> out;
    if (!exported.ok())
      return out;
    for (const auto& item : nlohmann::json::parse(*exported)) {
      out[item["key"].get<std::string>()] = item["value"].get<std::string>();  // base64
    }
    return out;
  }
  std::string kv_index() {
    auto result = curl(
        {"-D", "-", "-o", "/dev/null", "http://" + agent_->http_address() + "/v1/kv/?recurse"});
    std::smatch match;
    if (result.ok() &&
        std::regex_search(result->body, match,
                          std::regex(R"(X-Consul-Index: (\d+))", std::regex::icase))) {
      return match[1];
    }
    return "";
  }
};

TEST_F(RestoreOptionsTest, ReplaceTransformDiffAndIdempotence) {
  put("app/a", "1");
  put("app/b", "2");
  put("app/c/", "");
  put("other/x", "9");
  auto backup = run_tool({"backup", "--once"}, env());
  ASSERT_EQ(backup.exit_code, 0) << backup.all();
  const auto app_in_backup = under("app/");

  put("app/a", "changed");
  put("app/new", "not in the backup");
  ASSERT_TRUE(agent_->run_cli({"kv", "delete", "app/b"}).ok());
  put("other/x", "10");
  const auto other_before = under("other/");

  // diff names each change a restore of app/ in replace mode would make, and --exit-code says so.
  auto diff = run_tool(
      {"diff", "latest", "--prefix", "app/", "--mode", "replace", "--json", "--exit-code"}, env());
  EXPECT_EQ(diff.exit_code, 1) << diff.all();
  auto changes = nlohmann::json::parse(diff.out);
  EXPECT_EQ(changes["kv"]["create"], 1) << diff.out;     // app/b
  EXPECT_EQ(changes["kv"]["update"], 1) << diff.out;     // app/a
  EXPECT_EQ(changes["kv"]["delete"], 1) << diff.out;     // app/new
  EXPECT_EQ(changes["kv"]["unchanged"], 1) << diff.out;  // app/c/

  auto replace =
      run_tool({"restore", "latest", "--prefix", "app/", "--mode", "replace", "--yes"}, env());
  ASSERT_EQ(replace.exit_code, 0) << replace.all();
  EXPECT_EQ(under("app/"), app_in_backup);
  EXPECT_EQ(under("other/"), other_before) << "a restore of app/ touched other/";

  auto copy = run_tool(
      {"restore", "latest", "--prefix", "app/", "--transform", "app/=app-copy/", "--yes"}, env());
  ASSERT_EQ(copy.exit_code, 0) << copy.all();
  std::map<std::string, std::string> expected_copy;
  for (const auto& [key, value] : app_in_backup)
    expected_copy["app-copy/" + key.substr(4)] = value;
  EXPECT_EQ(under("app-copy/"), expected_copy);
  EXPECT_EQ(under("app/"), app_in_backup);

  auto clean = run_tool({"diff", "latest", "--prefix", "app/", "--exit-code"}, env());
  EXPECT_EQ(clean.exit_code, 0) << clean.all();

  // A full restore, then the same again: the second writes nothing at all.
  auto full = run_tool({"restore", "latest", "--yes"}, env());
  ASSERT_EQ(full.exit_code, 0) << full.all();
  const std::string index = kv_index();
  ASSERT_FALSE(index.empty());
  auto again = run_tool({"restore", "latest", "--yes", "--log-level", "debug"}, env());
  ASSERT_EQ(again.exit_code, 0) << again.all();
  EXPECT_NE(again.err.find("nothing to write"), std::string::npos) << again.err;
  EXPECT_EQ(again.err.find("PUT /v1/txn"), std::string::npos) << again.err;
  EXPECT_EQ(kv_index(), index);
}

TEST_F(RestoreOptionsTest, PrefixBackupWithGzipHoldsOneSubtree) {
  put("app/a", "1");
  put("app/b/c", "2");
  put("other/x", "9");
  auto backup = run_tool({"backup", "--once", "--prefix", "app/", "--compression", "gzip"}, env());
  ASSERT_EQ(backup.exit_code, 0) << backup.all();
  auto files = backup_files();
  ASSERT_EQ(files.size(), 1u);
  EXPECT_TRUE(files[0].string().ends_with(".tar.gz")) << files[0];
  // The stock gzip and tar read it; kv.json holds app/ only.
  auto listing = run({"tar", "-xzOf", files[0].string(), "kv.json"});
  ASSERT_EQ(listing.exit_code, 0) << listing.all();
  auto kv = nlohmann::json::parse(listing.out);
  ASSERT_EQ(kv.size(), 2u) << listing.out;
  EXPECT_EQ(kv[0]["key"], "app/a");
  EXPECT_EQ(kv[1]["key"], "app/b/c");

  ASSERT_TRUE(agent_->run_cli({"kv", "delete", "-recurse", "app"}).ok());
  auto restore = run_tool({"restore", "latest", "--yes"}, env());
  ASSERT_EQ(restore.exit_code, 0) << restore.all();
  EXPECT_EQ(under("app/").size(), 2u);
  EXPECT_EQ(under("other/").size(), 1u);

  // Replace mode with a backup of app/ replaces app/ only: other/ was never in the backup.
  put("app/extra", "x");
  auto replace = run_tool({"restore", "latest", "--mode", "replace", "--yes"}, env());
  ASSERT_EQ(replace.exit_code, 0) << replace.all();
  EXPECT_EQ(under("app/").size(), 2u);
  EXPECT_EQ(under("other/").size(), 1u);
}

TEST_F(RestoreOptionsTest, BadRestoreOptionsAreUsageErrors) {
  auto backup = run_tool({"backup", "--once"}, env());
  ASSERT_EQ(backup.exit_code, 0) << backup.all();
  auto bad_only = run_tool({"restore", "latest", "--only", "kv,secrets", "--dry-run"}, env());
  EXPECT_EQ(bad_only.exit_code, 2) << bad_only.all();
  EXPECT_NE(bad_only.err.find("secrets"), std::string::npos) << bad_only.err;
  auto bad_transform = run_tool({"restore", "latest", "--transform", "app", "--dry-run"}, env());
  EXPECT_EQ(bad_transform.exit_code, 2) << bad_transform.all();
  EXPECT_NE(bad_transform.err.find("OLD=NEW"), std::string::npos) << bad_transform.err;
  auto bad_mode = run_tool({"restore", "latest", "--mode", "overwrite", "--dry-run"}, env());
  EXPECT_EQ(bad_mode.exit_code, 2) << bad_mode.all();
}

}  // namespace
}  // namespace csnap::testing
