// Config entries (and so intentions) through the CLI: written to one dev agent with the consul
// CLI, backed up, restored into a fresh agent and read back there with the consul CLI; a second
// restore writes nothing; --only config restores nothing else; an entry the target refuses fails
// alone.

#include <fstream>
#include <random>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli_test.hpp"

namespace csnap::testing {
namespace {

using Json = nlohmann::json;

// The entries the tests write: a protocol for every proxy, one for web, a router that needs it,
// and an intention.
const std::vector<std::pair<std::string, Json>>& test_entries() {
  static const std::vector<std::pair<std::string, Json>> entries = {
      {"proxy-defaults",
       {{"Kind", "proxy-defaults"}, {"Name", "global"}, {"Config", {{"protocol", "http"}}}}},
      {"service-defaults", {{"Kind", "service-defaults"}, {"Name", "web"}, {"Protocol", "http"}}},
      {"service-router",
       {{"Kind", "service-router"},
        {"Name", "web"},
        {"Routes",
         {{{"Match", {{"HTTP", {{"PathPrefix", "/admin"}}}}},
           {"Destination", {{"Service", "admin"}}}}}}}},
      {"service-intentions",
       {{"Kind", "service-intentions"},
        {"Name", "web"},
        {"Sources", {{{"Name", "api"}, {"Action", "allow"}}}}}},
  };
  return entries;
}

class ConfigEntriesTest : public CliTest {
 protected:
  void SetUp() override {
    CSNAP_REQUIRE_CONSUL(source, ConsulAgentOptions{});
    CSNAP_REQUIRE_CONSUL(target, ConsulAgentOptions{});
    adopt(std::move(source));
    target_ = std::move(target);
  }

  void TearDown() override {
    target_.reset();
    CliTest::TearDown();
  }

  // Writes `entry` with `consul config write` on `agent`.
  void write_entry(ConsulAgent& agent, const Json& entry) {
    const auto file = work_ / "entry.json";
    std::ofstream(file) << entry.dump();
    auto written = agent.run_cli({"config", "write", file.string()});
    ASSERT_TRUE(written.ok()) << (written.ok() ? "" : written.error().message());
  }

  // `consul config read` of kind/name on `agent`; null when it is not there.
  static Json read_entry(ConsulAgent& agent, const std::string& kind, const std::string& name) {
    auto read = agent.run_cli({"config", "read", "-kind", kind, "-name", name});
    if (!read.ok())
      return nullptr;
    return Json::parse(*read, nullptr, false);
  }

  std::map<std::string, std::string> target_env() const {
    auto environment = env();
    environment["CONSUL_HTTP_ADDR"] = target_->http_address();
    return environment;
  }

  std::unique_ptr<ConsulAgent> target_;
};

TEST_F(ConfigEntriesTest, RoundTripIntoAFreshAgentAndASecondRestoreWritesNothing) {
  for (const auto& [kind, entry] : test_entries())
    write_entry(*agent_, entry);
  auto backup = run_tool({"backup", "--once"}, env());
  ASSERT_EQ(backup.exit_code, 0) << backup.all();
  auto inspect = run_tool({"inspect", "latest", "--json"}, env());
  ASSERT_EQ(inspect.exit_code, 0) << inspect.all();
  EXPECT_EQ(Json::parse(inspect.out)["meta"]["counts"]["config-entries"], test_entries().size())
      << inspect.out;

  auto dry_run = run_tool({"restore", "latest", "--dry-run"}, target_env());
  ASSERT_EQ(dry_run.exit_code, 0) << dry_run.all();
  EXPECT_TRUE(read_entry(*target_, "service-defaults", "web").is_null()) << "a dry run writes";

  auto before = run_tool({"diff", "latest", "--exit-code"}, target_env());
  EXPECT_EQ(before.exit_code, 1) << before.all();
  // The plan's table: kind, create, update, delete, unchanged, skip.
  std::istringstream table(
      before.out.substr(std::min(before.out.find("\nconfig-entries"), before.out.size())));
  std::string row;
  std::uint64_t create = 0;
  table >> row >> create;
  EXPECT_EQ(row, "config-entries") << before.out;
  EXPECT_EQ(create, test_entries().size()) << before.out;

  auto restore = run_tool({"restore", "latest", "--yes"}, target_env());
  ASSERT_EQ(restore.exit_code, 0) << restore.all();
  EXPECT_NE(restore.out.find("config-entries"), std::string::npos) << restore.out;
  auto after = run_tool({"diff", "latest", "--exit-code"}, target_env());
  EXPECT_EQ(after.exit_code, 0) << after.all();
  std::map<std::string, Json> restored;
  for (const auto& [kind, entry] : test_entries()) {
    auto live = read_entry(*target_, kind, entry["Name"]);
    ASSERT_TRUE(live.is_object()) << kind << " not restored: " << restore.all();
    restored[kind] = live;
  }
  EXPECT_EQ(restored["proxy-defaults"]["Config"]["protocol"], "http");
  EXPECT_EQ(restored["service-defaults"]["Protocol"], "http");
  EXPECT_EQ(restored["service-router"]["Routes"][0]["Destination"]["Service"], "admin");
  EXPECT_EQ(restored["service-intentions"]["Sources"][0]["Name"], "api");
  EXPECT_EQ(restored["service-intentions"]["Sources"][0]["Action"], "allow");
  // The intention is an intention for Consul, not just an entry.
  auto check = target_->run_cli({"intention", "check", "api", "web"});
  ASSERT_TRUE(check.ok()) << check.error().message();
  EXPECT_NE(check->find("Allowed"), std::string::npos) << *check;

  auto again = run_tool({"restore", "latest", "--yes"}, target_env());
  ASSERT_EQ(again.exit_code, 0) << again.all();
  EXPECT_NE(again.err.find("nothing to write"), std::string::npos) << again.all();
  for (const auto& [kind, entry] : test_entries()) {
    auto live = read_entry(*target_, kind, entry["Name"]);
    ASSERT_TRUE(live.is_object());
    EXPECT_EQ(live["ModifyIndex"], restored[kind]["ModifyIndex"]) << kind << " written again";
  }
}

TEST_F(ConfigEntriesTest, OnlyConfigRestoresConfigEntriesAndNothingElse) {
  write_entry(*agent_, test_entries()[1].second);
  ASSERT_TRUE(agent_->run_cli({"kv", "put", "app/key", "v"}).ok());
  auto backup = run_tool({"backup", "--once"}, env());
  ASSERT_EQ(backup.exit_code, 0) << backup.all();

  auto restore = run_tool({"restore", "latest", "--yes", "--only", "config"}, target_env());
  ASSERT_EQ(restore.exit_code, 0) << restore.all();
  EXPECT_EQ(read_entry(*target_, "service-defaults", "web")["Protocol"], "http");
  auto key = target_->run_cli({"kv", "get", "app/key"});
  EXPECT_FALSE(key.ok() && !key->empty()) << "--only config restored a key";

  // And a backup --only config holds config entries alone.
  auto config_backup = run_tool({"backup", "--once", "--only", "config"}, env());
  ASSERT_EQ(config_backup.exit_code, 0) << config_backup.all();
  auto inspect = run_tool({"inspect", "latest", "--json"}, env());
  ASSERT_EQ(inspect.exit_code, 0) << inspect.all();
  auto counts = Json::parse(inspect.out)["meta"]["counts"];
  EXPECT_EQ(counts, (Json{{"config-entries", 1}})) << inspect.out;
}

TEST_F(ConfigEntriesTest, AnEntryOfAKindTheTargetDoesNotKnowFailsAloneAndTheRestoreExitsOne) {
  write_entry(*agent_, test_entries()[1].second);
  auto backup = run_tool({"backup", "--once"}, env());
  ASSERT_EQ(backup.exit_code, 0) << backup.all();
  auto files = backup_files();
  ASSERT_EQ(files.size(), 1U);

  const auto crafted = work_ / "crafted.tar.zst";
  rewrite_member(files[0], "config-entries.json", crafted, [](Json& entries, Json& meta) {
    entries.push_back({{"Kind", "made-up-kind"}, {"Name", "x"}});
    meta["counts"]["config-entries"] = entries.size();
  });
  auto restore = run_tool({"restore", crafted.string(), "--yes"}, target_env());
  EXPECT_EQ(restore.exit_code, 1) << restore.all();
  EXPECT_NE(restore.out.find("failed to create made-up-kind x"), std::string::npos)
      << restore.all();
  EXPECT_NE(restore.out.find("invalid config entry kind"), std::string::npos) << restore.all();
  EXPECT_EQ(read_entry(*target_, "service-defaults", "web")["Protocol"], "http")
      << "the other entry is restored all the same";
}

}  // namespace
}  // namespace csnap::testing

namespace csnap::testing {
namespace {

// A token that may read everything but one service's config entries: Consul filters them out of
// the listing, and the backup fails rather than look complete, unless --allow-partial.
TEST(ConfigEntriesAcl, EntriesHiddenByAclsFailTheBackupUnlessPartialIsAllowed) {
  CSNAP_REQUIRE_CONSUL(agent, ConsulAgentOptions{.acl = true});
  auto work = std::filesystem::temp_directory_path() /
              ("csnap-config-acl-" + std::to_string(std::random_device{}()));
  std::filesystem::create_directories(work / "tmp");
  auto cli = [&](const std::vector<std::string>& args) {
    auto out = agent->run_cli(args);
    EXPECT_TRUE(out.ok()) << (out.ok() ? "" : out.error().message());
    return out.ok() ? *out : std::string();
  };
  for (const char* name : {"web", "db"}) {
    std::ofstream(work / "entry.json")
        << Json{{"Kind", "service-defaults"}, {"Name", name}, {"Protocol", "http"}}.dump();
    cli({"config", "write", (work / "entry.json").string()});
  }
  cli({"acl", "policy", "create", "-name", "all-but-db", "-rules",
       R"(agent_prefix "" { policy = "read" }
key_prefix "" { policy = "write" }
query_prefix "" { policy = "read" }
service "web" { policy = "read" }
mesh = "read")"});
  auto token =
      Json::parse(cli({"acl", "token", "create", "-policy-name", "all-but-db", "-format", "json"}));
  const std::map<std::string, std::string> env = {
      {"CONSUL_HTTP_ADDR", agent->http_address()},
      {"CONSUL_HTTP_TOKEN", token["SecretID"].get<std::string>()},
      {"LOCAL_DIR", (work / "backups").string()},
      {"SNAPSHOT_TMP_DIR", (work / "tmp").string()},
      {"CONSUL_SNAPSHOT_ONLY", "kv,query,config"}};

  auto refused = run_tool({"backup", "--once"}, env);
  EXPECT_EQ(refused.exit_code, 1) << refused.all();
  EXPECT_NE(refused.err.find("config entries"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("X-Consul-Results-Filtered-By-Acls"), std::string::npos)
      << refused.err;
  EXPECT_NE(refused.err.find("service-defaults"), std::string::npos) << refused.err;
  EXPECT_FALSE(std::filesystem::exists(work / "backups") &&
               !std::filesystem::is_empty(work / "backups"))
      << "an incomplete backup was written";

  auto partial = run_tool({"backup", "--once", "--allow-partial"}, env);
  ASSERT_EQ(partial.exit_code, 0) << partial.all();
  auto inspect = run_tool({"inspect", "latest", "--json"}, env);
  ASSERT_EQ(inspect.exit_code, 0) << inspect.all();
  auto meta = Json::parse(inspect.out)["meta"];
  EXPECT_EQ(meta["partial"], true) << inspect.out;
  EXPECT_EQ(meta["counts"]["config-entries"], 1) << "only web is visible: " << inspect.out;
  std::filesystem::remove_all(work);
}

}  // namespace
}  // namespace csnap::testing
