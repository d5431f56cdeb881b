// consul-snapshot against a Consul with ACLs (default deny), with TLS, and on a unix socket:
// tokens from the environment and from a file, never in the output even at debug level; a token
// that cannot see everything fails the backup rather than writing an incomplete one; HTTPS with
// and without the CA. Consul's state is checked with the consul CLI.

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli_test.hpp"
#include "consul_agent.hpp"
#include "daemon_process.hpp"

namespace csnap::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class ConsulAccessTest : public CliTest {
 protected:
  std::size_t backup_count() const {
    std::size_t count = 0;
    for (const auto& entry : fs::recursive_directory_iterator(work_ / "backups")) {
      count += entry.is_regular_file() ? 1 : 0;
    }
    return count;
  }

  std::string cli(const std::vector<std::string>& args) {
    auto out = agent_->run_cli(args);
    EXPECT_TRUE(out.ok()) << (out.ok() ? "" : out.error().message());
    return out.ok() ? *out : "";
  }
};

TEST_F(ConsulAccessTest, AclTokensFromEnvironmentAndFileAndNeverLogged) {
  CSNAP_REQUIRE_CONSUL(agent, ConsulAgentOptions{.acl = true});
  adopt(std::move(agent));
  const std::string token = agent_->management_token();
  cli({"kv", "put", "app/config", "one"});
  cli({"kv", "put", "other/secret", "two"});

  auto no_token = run_tool({"backup", "--once"}, env());
  EXPECT_EQ(no_token.exit_code, 1) << no_token.all();
  EXPECT_NE(no_token.err.find("lacks permission 'agent:read'"), std::string::npos) << no_token.err;
  EXPECT_NE(no_token.err.find("CONSUL_HTTP_TOKEN"), std::string::npos) << no_token.err;
  EXPECT_EQ(backup_count(), 0u);

  auto with_env = env();
  with_env["CONSUL_HTTP_TOKEN"] = token;
  auto from_env = run_tool({"backup", "--once", "--log-level", "debug"}, with_env);
  EXPECT_EQ(from_env.exit_code, 0) << from_env.all();
  EXPECT_NE(from_env.err.find("[DEBUG]"), std::string::npos);
  EXPECT_NE(from_env.err.find("consul-token = **redacted** (environment)"), std::string::npos)
      << from_env.err;
  EXPECT_EQ(from_env.all().find(token), std::string::npos) << "the token was printed";

  auto token_file = work_ / "token";
  std::ofstream(token_file) << token << "\n";
  auto with_file = env();
  with_file["CONSUL_HTTP_TOKEN_FILE"] = token_file.string();
  // Two backups within one second share a key unless their host names differ.
  with_file["CONSUL_SNAPSHOT_HOSTNAME"] = "second-host";
  auto from_file = run_tool({"backup", "--once", "--log-level", "debug"}, with_file);
  EXPECT_EQ(from_file.exit_code, 0) << from_file.all();
  EXPECT_EQ(from_file.all().find(token), std::string::npos) << "the token was printed";
  EXPECT_EQ(backup_count(), 2u);

  cli({"kv", "delete", "-recurse", "app"});
  auto restore = run_tool({"restore", "latest", "--yes", "--log-level", "debug"}, with_file);
  EXPECT_EQ(restore.exit_code, 0) << restore.all();
  EXPECT_EQ(restore.all().find(token), std::string::npos) << "the token was printed";
  EXPECT_EQ(cli({"kv", "get", "app/config"}), "one\n");
}

TEST_F(ConsulAccessTest, TokenThatCannotSeeEveryKeyFailsTheBackup) {
  CSNAP_REQUIRE_CONSUL(agent, ConsulAgentOptions{.acl = true});
  adopt(std::move(agent));
  cli({"kv", "put", "app/config", "one"});
  cli({"kv", "put", "other/secret", "two"});
  cli({"acl", "policy", "create", "-name", "app-only", "-rules",
       R"(key_prefix "app/" { policy = "read" }
agent_prefix "" { policy = "read" })"});
  auto created = nlohmann::json::parse(
      cli({"acl", "token", "create", "-policy-name", "app-only", "-format", "json"}));
  const std::string partial_token = created["SecretID"].get<std::string>();

  auto partial_env = env();
  partial_env["CONSUL_HTTP_TOKEN"] = partial_token;
  auto partial = run_tool({"backup", "--once"}, partial_env);
  EXPECT_EQ(partial.exit_code, 1) << partial.all();
  EXPECT_NE(partial.err.find("X-Consul-Results-Filtered-By-Acls"), std::string::npos)
      << partial.err;
  EXPECT_EQ(partial.all().find(partial_token), std::string::npos);
  EXPECT_EQ(backup_count(), 0u) << "an incomplete backup was written";
  EXPECT_TRUE(fs::is_empty(work_ / "tmp"));
}

// The least-privilege policies the README gives are enough, and are what they claim.
TEST_F(ConsulAccessTest, ReadmePoliciesAreEnoughForBackupAndRestore) {
  CSNAP_REQUIRE_CONSUL(agent, ConsulAgentOptions{.acl = true});
  adopt(std::move(agent));
  cli({"kv", "put", "app/config", "one"});
  cli({"kv", "put", "other/secret", "two"});
  // Config entries of the three permissions: service, intentions and mesh.
  const auto entries = work_ / "entries";
  fs::create_directories(entries);
  std::ofstream(entries / "defaults.json")
      << R"({"Kind":"service-defaults","Name":"web","Protocol":"http"})";
  std::ofstream(entries / "intentions.json")
      << R"({"Kind":"service-intentions","Name":"web","Sources":[{"Name":"api","Action":"allow"}]})";
  std::ofstream(entries / "mesh.json")
      << R"({"Kind":"mesh","TransparentProxy":{"MeshDestinationsOnly":true}})";
  for (const char* file : {"defaults.json", "intentions.json", "mesh.json"})
    cli({"config", "write", (entries / file).string()});
  auto token_for = [&](const std::string& name, const std::string& rules) {
    cli({"acl", "policy", "create", "-name", name, "-rules", rules});
    auto created = nlohmann::json::parse(
        cli({"acl", "token", "create", "-policy-name", name, "-format", "json"}));
    return created["SecretID"].get<std::string>();
  };
  struct Case {
    std::string name;
    std::string backup_rules;
    std::string restore_rules;
    std::map<std::string, std::string> extra_env;
  };
  const std::vector<Case> cases = {
      {"everything",
       R"(agent_prefix "" { policy = "read" }
key_prefix "" { policy = "read" }
key "service/consul-snapshot/lastbackup" { policy = "write" }
query_prefix "" { policy = "read" }
service_prefix "" { policy = "read" intentions = "read" }
mesh = "read"
acl = "write")",
       R"(key_prefix "" { policy = "write" }
query_prefix "" { policy = "write" }
service_prefix "" { policy = "write" intentions = "write" }
mesh = "write"
acl = "write")",
       // Token secrets are in this backup: encrypted, so that nothing warns.
       {{"CRYPTO_PASSWORD", "readme policy test passphrase"}}},
      {"kv-only",
       R"(agent_prefix "" { policy = "read" }
key_prefix "" { policy = "read" }
key "service/consul-snapshot/lastbackup" { policy = "write" })",
       R"(key_prefix "" { policy = "write" })",
       {{"CONSUL_SNAPSHOT_ONLY", "kv"}}},
  };
  for (const auto& test : cases) {
    SCOPED_TRACE(test.name);
    auto backup_env = env();
    backup_env.insert(test.extra_env.begin(), test.extra_env.end());
    backup_env["CONSUL_HTTP_TOKEN"] = token_for(test.name + "-backup", test.backup_rules);
    backup_env["CONSUL_SNAPSHOT_HOSTNAME"] = test.name;
    auto backup = run_tool({"backup", "--once"}, backup_env);
    ASSERT_EQ(backup.exit_code, 0) << backup.all();
    EXPECT_EQ(backup.err.find("[WARN]"), std::string::npos) << backup.err;
    EXPECT_FALSE(cli({"kv", "get", "service/consul-snapshot/lastbackup"}).empty());

    cli({"kv", "delete", "-recurse", "app"});
    cli({"kv", "delete", "-recurse", "other"});
    cli({"config", "delete", "-kind", "service-intentions", "-name", "web"});
    cli({"config", "delete", "-kind", "mesh", "-name", "mesh"});
    auto restore_env = env();
    restore_env.insert(test.extra_env.begin(), test.extra_env.end());
    restore_env["CONSUL_HTTP_TOKEN"] = token_for(test.name + "-restore", test.restore_rules);
    auto files = backup_files();
    auto mine = std::find_if(files.begin(), files.end(), [&](const fs::path& path) {
      return path.filename().string().starts_with(test.name + ".");
    });
    ASSERT_NE(mine, files.end());
    auto restore = run_tool({"restore", mine->string(), "--yes"}, restore_env);
    ASSERT_EQ(restore.exit_code, 0) << restore.all();
    EXPECT_EQ(cli({"kv", "get", "app/config"}), "one\n");
    EXPECT_EQ(cli({"kv", "get", "other/secret"}), "two\n");
    if (test.name == "everything") {
      EXPECT_NE(cli({"config", "read", "-kind", "service-intentions", "-name", "web"}).find("api"),
                std::string::npos);
      EXPECT_NE(
          cli({"config", "read", "-kind", "mesh", "-name", "mesh"}).find("MeshDestinationsOnly"),
          std::string::npos);
    }
  }
}

// The daemon's extra lines in the README (leader lock, session, service registration) are enough
// for a daemon with every feature on.
TEST_F(ConsulAccessTest, ReadmeDaemonPolicyIsEnough) {
  CSNAP_REQUIRE_CONSUL(agent, ConsulAgentOptions{.acl = true});
  adopt(std::move(agent));
  cli({"kv", "put", "app/config", "one"});
  cli({"acl", "policy", "create", "-name", "daemon", "-rules",
       R"(agent_prefix "" { policy = "read" }
key_prefix "" { policy = "read" }
key "service/consul-snapshot/lastbackup" { policy = "write" }
key "service/consul-snapshot/leader" { policy = "write" }
session_prefix "" { policy = "write" }
service "consul-snapshot" { policy = "write" }
query_prefix "" { policy = "read" }
service_prefix "" { policy = "read" intentions = "read" }
mesh = "read"
acl = "write")"});
  auto created = nlohmann::json::parse(
      cli({"acl", "token", "create", "-policy-name", "daemon", "-format", "json"}));
  auto daemon_env = env();
  daemon_env["CONSUL_HTTP_TOKEN"] = created["SecretID"].get<std::string>();
  daemon_env["CRYPTO_PASSWORD"] = "readme daemon policy passphrase";
  daemon_env["BACKUPINTERVAL"] = "1h";
  Daemon daemon({"backup", "--register-service"}, daemon_env, work_ / "daemon.log");
  ASSERT_TRUE(daemon.started());
  EXPECT_TRUE(eventually(30s, [&] { return backup_count() == 1; })) << daemon.log();
  // The local agent's own view (its catalog sync needs an agent token this test agent lacks).
  auto services = [&] {
    auto listed = curl({"-H", "X-Consul-Token: " + agent_->management_token(),
                        "http://" + agent_->http_address() + "/v1/agent/services"});
    return listed.ok() ? listed->body : std::string();
  };
  EXPECT_TRUE(eventually(30s, [&] {
    return services().find("consul-snapshot") != std::string::npos;
  })) << daemon.log();
  EXPECT_NE(daemon.log().find("is the leader now"), std::string::npos) << daemon.log();
  EXPECT_EQ(daemon.log().find("[WARN]"), std::string::npos) << daemon.log();
  EXPECT_EQ(daemon.log().find("[ERROR]"), std::string::npos) << daemon.log();
  daemon.signal(SIGTERM);
  auto code = daemon.wait(30s);
  ASSERT_TRUE(code.has_value()) << daemon.log();
  EXPECT_EQ(*code, 0) << daemon.log();
  EXPECT_EQ(daemon.log().find("[WARN]"), std::string::npos) << "release/deregister failed:\n"
                                                            << daemon.log();
  EXPECT_TRUE(eventually(30s, [&] {
    return services().find("consul-snapshot") == std::string::npos;
  })) << services();
}

TEST_F(ConsulAccessTest, UnixSocketAddress) {
  CSNAP_REQUIRE_CONSUL(agent, ConsulAgentOptions{.unix_socket = true});
  adopt(std::move(agent));
  cli({"kv", "put", "app/unix", "socket"});
  auto unix_env = env();
  unix_env["CONSUL_HTTP_ADDR"] = agent_->unix_address();
  auto backup = run_tool({"backup", "--once"}, unix_env);
  ASSERT_EQ(backup.exit_code, 0) << backup.all();
  cli({"kv", "delete", "app/unix"});
  auto restore = run_tool({"restore", "latest", "--yes"}, unix_env);
  ASSERT_EQ(restore.exit_code, 0) << restore.all();
  EXPECT_EQ(cli({"kv", "get", "app/unix"}), "socket\n");
}

TEST_F(ConsulAccessTest, HttpsNeedsTheCa) {
  CSNAP_REQUIRE_CONSUL(agent, ConsulAgentOptions{.tls = true});
  adopt(std::move(agent));
  cli({"kv", "put", "app/tls", "yes"});

  auto https_env = env();
  https_env["CONSUL_HTTP_ADDR"] = agent_->https_address();
  https_env["CONSUL_CACERT"] = agent_->ca_file();
  auto with_ca = run_tool({"backup", "--once"}, https_env);
  EXPECT_EQ(with_ca.exit_code, 0) << with_ca.all();
  EXPECT_EQ(backup_count(), 1u);

  https_env.erase("CONSUL_CACERT");
  auto without_ca = run_tool({"backup", "--once"}, https_env);
  EXPECT_EQ(without_ca.exit_code, 1) << without_ca.all();
  EXPECT_NE(without_ca.err.find("certificate"), std::string::npos) << without_ca.err;
  EXPECT_NE(without_ca.err.find("CONSUL_CACERT"), std::string::npos) << without_ca.err;

  https_env["CONSUL_CACERT"] = (work_ / "missing-ca.pem").string();
  auto missing_ca = run_tool({"backup", "--once"}, https_env);
  EXPECT_EQ(missing_ca.exit_code, 2) << missing_ca.all();
  EXPECT_NE(missing_ca.err.find("CONSUL_CACERT"), std::string::npos) << missing_ca.err;
  EXPECT_EQ(backup_count(), 1u);
}

}  // namespace
}  // namespace csnap::testing
