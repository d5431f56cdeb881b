// The ACL system and prepared queries through the CLI: backed up from one cluster, restored into
// a fresh one whose management token differs; the restored token authenticates there, and a
// second restore changes nothing. Checked with curl and the consul CLI.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli_test.hpp"

namespace csnap::testing {
namespace {

using Json = nlohmann::json;

TEST(AclRestoreThroughCli, FreshClusterGetsPoliciesRolesTokensAndQueries) {
  CSNAP_REQUIRE_CONSUL(source, ConsulAgentOptions{.acl = true});
  CSNAP_REQUIRE_CONSUL(target, ConsulAgentOptions{.acl = true});
  ASSERT_NE(source->management_token(), target->management_token());
  auto work = std::filesystem::temp_directory_path() /
              ("csnap-acl-cli-" + std::to_string(std::random_device{}()));
  std::filesystem::create_directories(work / "tmp");

  auto cli = [](ConsulAgent& agent, const std::vector<std::string>& args) {
    auto out = agent.run_cli(args);
    EXPECT_TRUE(out.ok()) << (out.ok() ? "" : out.error().message());
    return out.ok() ? *out : std::string();
  };
  cli(*source, {"kv", "put", "app/config", "v"});
  cli(*source, {"acl", "policy", "create", "-name", "app-read", "-rules",
                R"(key_prefix "app/" { policy = "read" })"});
  cli(*source, {"acl", "role", "create", "-name", "app-readers", "-policy-name", "app-read"});
  auto token = Json::parse(cli(*source, {"acl", "token", "create", "-role-name", "app-readers",
                                         "-description", "service token", "-format", "json"}));
  const std::string accessor = token["AccessorID"], secret = token["SecretID"];
  auto query = curl({"-X", "POST", "-H", "X-Consul-Token: " + source->management_token(),
                     "--data-binary", R"({"Name":"web-query","Service":{"Service":"web"}})",
                     "http://" + source->http_address() + "/v1/query"});
  ASSERT_TRUE(query.ok());
  ASSERT_EQ(query->status, 200) << query->body;

  auto backup_env =
      std::map<std::string, std::string>{{"CONSUL_HTTP_ADDR", source->http_address()},
                                         {"CONSUL_HTTP_TOKEN", source->management_token()},
                                         {"LOCAL_DIR", (work / "backups").string()},
                                         {"SNAPSHOT_TMP_DIR", (work / "tmp").string()},
                                         {"CRYPTO_PASSWORD", "acl backup passphrase"},
                                         {"CONSUL_SNAPSHOT_SCRYPT_WORK_FACTOR", "12"}};
  auto backup = run_tool({"backup", "--once"}, backup_env);
  ASSERT_EQ(backup.exit_code, 0) << backup.all();

  auto restore_env = backup_env;
  restore_env["CONSUL_HTTP_ADDR"] = target->http_address();
  restore_env["CONSUL_HTTP_TOKEN"] = target->management_token();
  auto restore = run_tool({"restore", "latest", "--yes"}, restore_env);
  ASSERT_EQ(restore.exit_code, 0) << restore.all();
  EXPECT_NE(restore.out.find("acl-tokens"), std::string::npos) << restore.out;

  // The token exists on the target with the same IDs, and authenticates there.
  auto self = curl({"-H", "X-Consul-Token: " + secret,
                    "http://" + target->http_address() + "/v1/acl/token/self"});
  ASSERT_TRUE(self.ok());
  ASSERT_EQ(self->status, 200) << self->body;
  EXPECT_EQ(Json::parse(self->body)["AccessorID"], accessor);
  // It reads app/ through its restored role and policy, and nothing else.
  auto allowed = curl({"-H", "X-Consul-Token: " + secret,
                       "http://" + target->http_address() + "/v1/kv/app/config?raw"});
  ASSERT_TRUE(allowed.ok());
  EXPECT_EQ(allowed->status, 200) << allowed->body;
  EXPECT_EQ(allowed->body, "v");
  auto denied = curl({"-H", "X-Consul-Token: " + secret, "-X", "PUT", "--data-binary", "x",
                      "http://" + target->http_address() + "/v1/kv/app/config"});
  ASSERT_TRUE(denied.ok());
  EXPECT_EQ(denied->status, 403) << denied->body;
  // The target's own management token still works.
  EXPECT_FALSE(cli(*target, {"acl", "token", "read", "-self"}).empty());
  auto queries = curl({"-H", "X-Consul-Token: " + target->management_token(),
                       "http://" + target->http_address() + "/v1/query"});
  ASSERT_TRUE(queries.ok());
  EXPECT_NE(queries->body.find("web-query"), std::string::npos) << queries->body;

  auto again = run_tool({"restore", "latest", "--yes"}, restore_env);
  ASSERT_EQ(again.exit_code, 0) << again.all();
  EXPECT_NE(again.err.find("nothing to write"), std::string::npos) << again.all();
  std::filesystem::remove_all(work);
}

}  // namespace
}  // namespace csnap::testing
