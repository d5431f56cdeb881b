// The ACL system and prepared queries, backed up from one real Consul agent and restored into a
// fresh one; what came back is checked with the consul CLI and curl, not with our client.

#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "archive/backup_reader.hpp"
#include "archive/backup_writer.hpp"
#include "consul/client.hpp"
#include "consul_agent.hpp"
#include "ops/acl_backup.hpp"
#include "ops/acl_restore.hpp"
#include "ops/prepared_queries.hpp"

namespace csnap::ops {
namespace {

using nlohmann::json;
using testing::ConsulAgent;
using testing::ConsulAgentOptions;

// A P-256 public key: a `jwt` auth method validates tokens with it offline.
constexpr std::string_view kJwtPublicKey =
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAElJZvR7WCfwazvLuLZVJ1Kt7EQtmF\n"
    "ZcDyDKqHQT7VxG90v3vPKhmFADbNzpGtSK5SYpfp7OTXEPKHzK8ZgWaZQw==\n"
    "-----END PUBLIC KEY-----\n";

// Sends `method` `path` to `agent` with `token` and `body` by curl; expects 200 and JSON.
json call(const ConsulAgent& agent, const std::string& token, const std::string& method,
          const std::string& path, const std::string& body = {}) {
  std::vector<std::string> args = {"-X", method, "-H", "X-Consul-Token: " + token};
  if (!body.empty()) {
    args.emplace_back("--data-binary");
    args.push_back(body);
  }
  args.push_back("http://" + agent.http_address() + path);
  auto result = testing::curl(args);
  EXPECT_TRUE(result.ok()) << result.error().message();
  if (!result.ok())
    return nullptr;
  EXPECT_EQ(result->status, 200) << method << " " << path << ": " << result->body;
  auto parsed = json::parse(result->body, nullptr, false);
  return parsed.is_discarded() ? json() : parsed;
}

json cli_json(const ConsulAgent& agent, const std::vector<std::string>& args) {
  auto out = agent.run_cli(args);
  EXPECT_TRUE(out.ok()) << out.error().message();
  if (!out.ok())
    return nullptr;
  auto parsed = json::parse(*out, nullptr, false);
  EXPECT_FALSE(parsed.is_discarded()) << *out;
  return parsed;
}

std::unique_ptr<consul::Client> client_for(const ConsulAgent& agent, const std::string& token) {
  auto client = consul::Client::create({.address = agent.http_address(), .token = Secret(token)});
  EXPECT_TRUE(client.ok()) << client.error().message();
  return client.ok() ? std::move(*client) : nullptr;
}

// A backup held in memory and read back through BackupReader, as a restore would.
struct Backup {
  std::string bytes;
  std::unique_ptr<archive::BackupReader> reader;
};

struct Written {
  AclBackupResult acls;
  QueryBackupResult queries;
};

Written take_backup(consul::Client& client, Backup& backup, const AclBackupOptions& options = {}) {
  Written written;
  archive::BackupWriter writer({.temp_dir = std::filesystem::temp_directory_path()});
  auto acls = backup_acls(client, writer, options);
  EXPECT_TRUE(acls.ok()) << acls.error().message();
  if (acls.ok())
    written.acls = *acls;
  auto queries = backup_prepared_queries(client, writer, {.allow_partial = options.allow_partial});
  EXPECT_TRUE(queries.ok()) << queries.error().message();
  if (queries.ok())
    written.queries = *queries;
  StringSink sink;
  auto status = writer.write(archive::Meta{}, sink, codec::Compression::zstd);
  EXPECT_TRUE(status.ok()) << status.error().message();
  backup.bytes = sink.take();
  MemorySource source(backup.bytes);
  auto reader = archive::BackupReader::open(source, std::filesystem::temp_directory_path());
  EXPECT_TRUE(reader.ok()) << reader.error().message();
  if (reader.ok())
    backup.reader = std::make_unique<archive::BackupReader>(std::move(*reader));
  return written;
}

std::uint64_t last_log_index(const ConsulAgent& agent) {
  auto self = call(agent, agent.management_token(), "GET", "/v1/agent/self");
  auto text = self["Stats"]["raft"]["last_log_index"];
  return text.is_string() ? std::stoull(text.get<std::string>()) : 0;
}

std::uint64_t writes(const std::vector<KindPlan>& kinds) {
  std::uint64_t total = 0;
  for (const auto& kind : kinds)
    total += kind.create + kind.update + kind.failed;
  return total;
}

bool has_note(const std::vector<KindPlan>& kinds, std::string_view text) {
  for (const auto& kind : kinds) {
    for (const auto& note : kind.notes) {
      if (note.find(text) != std::string::npos)
        return true;
    }
  }
  return false;
}

TEST(AclBackupRestore, EverythingComesBackInAFreshClusterAndASecondRestoreWritesNothing) {
  CSNAP_REQUIRE_CONSUL(target, ConsulAgentOptions{.acl = true});
  CSNAP_REQUIRE_CONSUL(source, ConsulAgentOptions{.acl = true});
  const std::string a_token = source->management_token();
  const std::string b_token = target->management_token();
  ASSERT_NE(a_token, b_token);

  // The source cluster: policies with rules, a role, tokens, a jwt auth method, a binding rule,
  // a prepared query; the anonymous token changed; a token holding the target's management
  // secret under another AccessorID.
  call(
      *source, a_token, "PUT", "/v1/acl/policy",
      R"({"Name":"kv-read","Description":"read all keys","Rules":"key_prefix \"\" { policy = \"read\" }"})");
  call(*source, a_token, "PUT", "/v1/acl/policy",
       R"({"Name":"svc-write","Rules":"service_prefix \"web\" { policy = \"write\" }"})");
  call(*source, a_token, "PUT", "/v1/acl/role",
       R"({"Name":"reader","Description":"reads","Policies":[{"Name":"kv-read"}]})");
  auto with_policy =
      call(*source, a_token, "PUT", "/v1/acl/token", R"({"Policies":[{"Name":"kv-read"}]})");
  auto with_role =
      call(*source, a_token, "PUT", "/v1/acl/token", R"({"Roles":[{"Name":"reader"}]})");
  auto described = call(
      *source, a_token, "PUT", "/v1/acl/token",
      R"({"Description":"web deployer","Policies":[{"Name":"svc-write"}],"ServiceIdentities":[{"ServiceName":"api"}]})");
  json method = {{"Name", "jwt"},
                 {"Type", "jwt"},
                 {"Description", "offline jwt"},
                 {"Config",
                  {{"JWTValidationPubKeys", {kJwtPublicKey}},
                   {"BoundAudiences", {"backup-test"}},
                   {"ClaimMappings", {{"sub", "sub"}}}}}};
  call(*source, a_token, "PUT", "/v1/acl/auth-method", method.dump());
  call(
      *source, a_token, "PUT", "/v1/acl/binding-rule",
      R"({"AuthMethod":"jwt","BindType":"service","BindName":"svc-${value.sub}","Description":"by subject"})");
  call(*source, a_token, "PUT", "/v1/acl/token/00000000-0000-0000-0000-000000000002",
       R"({"Description":"anonymous, changed in the source"})");
  call(*source, a_token, "PUT", "/v1/acl/token",
       json({{"Description", "holds the target's secret"}, {"SecretID", b_token}}).dump());
  call(
      *source, a_token, "POST", "/v1/query",
      R"({"Name":"web-nearest","Service":{"Service":"web","OnlyPassing":true,"Tags":["v1"]},"DNS":{"TTL":"10s"}})");

  auto a_client = client_for(*source, a_token);
  Backup backup;
  auto written = take_backup(*a_client, backup);
  ASSERT_TRUE(backup.reader);
  EXPECT_TRUE(written.acls.acls_enabled);
  EXPECT_FALSE(written.acls.partial);
  EXPECT_EQ(written.acls.counts["acl-policies"], 4U);  // 2 built in + 2
  EXPECT_EQ(written.acls.counts["acl-roles"], 1U);
  EXPECT_EQ(written.acls.counts["acl-tokens"], 6U);  // management, anonymous, 4
  EXPECT_EQ(written.acls.counts["acl-auth-methods"], 1U);
  EXPECT_EQ(written.acls.counts["acl-binding-rules"], 1U);
  EXPECT_EQ(written.queries.count, 1U);
  for (auto member : {"acl/policies.json", "acl/roles.json", "acl/tokens.json",
                      "acl/auth-methods.json", "acl/binding-rules.json", "prepared-queries.json"}) {
    EXPECT_TRUE(backup.reader->has_member(member)) << member;
  }

  // Restore into the fresh target.
  auto b_client = client_for(*target, b_token);
  auto live_acl = read_live_acl(*b_client);
  ASSERT_TRUE(live_acl.ok()) << live_acl.error().message();
  auto plan = plan_acl_restore(*backup.reader, *live_acl);
  ASSERT_TRUE(plan.ok()) << plan.error().message();
  auto done = apply_acl_restore(*b_client, *plan);
  ASSERT_TRUE(done.ok()) << done.error().message();
  for (const auto& kind : *done) {
    EXPECT_EQ(kind.failed, 0U) << kind.kind << ": " << ::testing::PrintToString(kind.notes);
  }
  EXPECT_TRUE(has_note(*done, "skip policy global-management (built in)"));
  EXPECT_TRUE(has_note(*done, "skip token anonymous (built in)"));
  EXPECT_TRUE(has_note(*done, "its SecretID already belongs to token"));
  auto live_queries = read_live_queries(*b_client);
  ASSERT_TRUE(live_queries.ok()) << live_queries.error().message();
  auto query_plan = plan_query_restore(*backup.reader, *live_queries);
  ASSERT_TRUE(query_plan.ok()) << query_plan.error().message();
  auto queries_done = apply_query_restore(*b_client, *query_plan);
  ASSERT_TRUE(queries_done.ok());
  EXPECT_EQ(queries_done->create, 1U);
  EXPECT_EQ(queries_done->failed, 0U) << ::testing::PrintToString(queries_done->notes);

  // Policies by name with the same rules; the role linked to the target's policy ID.
  auto kv_read =
      cli_json(*target, {"acl", "policy", "read", "-name", "kv-read", "-format", "json"});
  EXPECT_EQ(kv_read["Rules"], "key_prefix \"\" { policy = \"read\" }");
  EXPECT_EQ(kv_read["Description"], "read all keys");
  auto svc_write =
      cli_json(*target, {"acl", "policy", "read", "-name", "svc-write", "-format", "json"});
  EXPECT_EQ(svc_write["Rules"], "service_prefix \"web\" { policy = \"write\" }");
  auto role = cli_json(*target, {"acl", "role", "read", "-name", "reader", "-format", "json"});
  ASSERT_EQ(role["Policies"].size(), 1U);
  EXPECT_EQ(role["Policies"][0]["ID"], kv_read["ID"]);

  // Tokens keep AccessorID and SecretID, and authenticate.
  for (const auto& token : {with_policy, with_role, described}) {
    auto self = testing::curl({"-H", "X-Consul-Token: " + token["SecretID"].get<std::string>(),
                               "http://" + target->http_address() + "/v1/acl/token/self"});
    ASSERT_TRUE(self.ok());
    ASSERT_EQ(self->status, 200) << self->body;
    auto body = json::parse(self->body);
    EXPECT_EQ(body["AccessorID"], token["AccessorID"]);
  }
  auto restored =
      cli_json(*target, {"acl", "token", "read", "-id", described["AccessorID"].get<std::string>(),
                         "-format", "json"});
  EXPECT_EQ(restored["Description"], "web deployer");
  EXPECT_EQ(restored["Policies"][0]["ID"], svc_write["ID"]);
  EXPECT_EQ(restored["ServiceIdentities"][0]["ServiceName"], "api");
  auto via_role =
      cli_json(*target, {"acl", "token", "read", "-id", with_role["AccessorID"].get<std::string>(),
                         "-format", "json"});
  EXPECT_EQ(via_role["Roles"][0]["ID"], role["ID"]);
  // The source's management token works in the target too.
  EXPECT_EQ(testing::curl({"-H", "X-Consul-Token: " + a_token,
                           "http://" + target->http_address() + "/v1/acl/token/self"})
                ->status,
            200);

  // Never overwritten: the anonymous token and the target's own management token.
  auto anonymous = cli_json(*target, {"acl", "token", "read", "-id",
                                      "00000000-0000-0000-0000-000000000002", "-format", "json"});
  EXPECT_EQ(anonymous["Description"], "Anonymous Token");
  auto b_self = call(*target, b_token, "GET", "/v1/acl/token/self");
  EXPECT_EQ(b_self["Description"], "Initial Management Token");

  // The auth method with its Config, the binding rule, the prepared query.
  auto jwt = cli_json(*target, {"acl", "auth-method", "read", "-name", "jwt", "-format", "json"});
  EXPECT_EQ(jwt["Type"], "jwt");
  EXPECT_EQ(jwt["Description"], "offline jwt");
  EXPECT_EQ(jwt["Config"]["JWTValidationPubKeys"][0], kJwtPublicKey);
  EXPECT_EQ(jwt["Config"]["BoundAudiences"][0], "backup-test");
  auto rules =
      cli_json(*target, {"acl", "binding-rule", "list", "-method", "jwt", "-format", "json"});
  ASSERT_EQ(rules.size(), 1U);
  EXPECT_EQ(rules[0]["BindName"], "svc-${value.sub}");
  EXPECT_EQ(rules[0]["Description"], "by subject");
  auto queries = call(*target, b_token, "GET", "/v1/query");
  ASSERT_EQ(queries.size(), 1U);
  EXPECT_EQ(queries[0]["Name"], "web-nearest");
  EXPECT_EQ(queries[0]["Service"]["Service"], "web");
  EXPECT_EQ(queries[0]["Service"]["Tags"][0], "v1");
  EXPECT_EQ(queries[0]["DNS"]["TTL"], "10s");

  // A second restore finds everything unchanged and writes nothing.
  const auto before = last_log_index(*target);
  live_acl = read_live_acl(*b_client);
  ASSERT_TRUE(live_acl.ok()) << live_acl.error().message();
  auto again = plan_acl_restore(*backup.reader, *live_acl);
  ASSERT_TRUE(again.ok()) << again.error().message();
  EXPECT_EQ(writes(again->kinds), 0U);
  for (const auto& kind : again->kinds)
    EXPECT_EQ(kind.create + kind.update, 0U) << kind.kind;
  live_queries = read_live_queries(*b_client);
  ASSERT_TRUE(live_queries.ok()) << live_queries.error().message();
  auto query_again = plan_query_restore(*backup.reader, *live_queries);
  ASSERT_TRUE(query_again.ok());
  EXPECT_EQ(query_again->summary.create + query_again->summary.update, 0U);
  EXPECT_EQ(query_again->summary.unchanged, 1U);
  auto done_again = apply_acl_restore(*b_client, *again);
  ASSERT_TRUE(done_again.ok());
  EXPECT_EQ(writes(*done_again), 0U);
  ASSERT_TRUE(apply_query_restore(*b_client, *query_again).ok());
  EXPECT_EQ(last_log_index(*target), before);
}

TEST(AclBackup, ATokenThatCannotSeeSecretsFailsUnlessPartialIsAllowed) {
  CSNAP_REQUIRE_CONSUL(agent, ConsulAgentOptions{.acl = true});
  const std::string management = agent->management_token();
  call(*agent, management, "PUT", "/v1/acl/policy",
       R"({"Name":"acl-read","Rules":"acl = \"read\"\nquery_prefix \"\" { policy = \"read\" }"})");
  call(*agent, management, "PUT", "/v1/acl/policy",
       R"({"Name":"kv-only","Rules":"key_prefix \"\" { policy = \"read\" }"})");
  auto reader =
      call(*agent, management, "PUT", "/v1/acl/token", R"({"Policies":[{"Name":"acl-read"}]})");
  auto kv_only =
      call(*agent, management, "PUT", "/v1/acl/token", R"({"Policies":[{"Name":"kv-only"}]})");

  auto client = client_for(*agent, reader["SecretID"].get<std::string>());
  archive::BackupWriter writer({.temp_dir = std::filesystem::temp_directory_path()});
  auto refused = backup_acls(*client, writer, {});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind(), ErrorKind::permission_denied);
  EXPECT_NE(refused.error().message().find("acl:write"), std::string::npos)
      << refused.error().message();
  EXPECT_NE(refused.error().message().find("--allow-partial"), std::string::npos);

  archive::BackupWriter partial_writer({.temp_dir = std::filesystem::temp_directory_path()});
  auto partial = backup_acls(*client, partial_writer, {.allow_partial = true});
  ASSERT_TRUE(partial.ok()) << partial.error().message();
  EXPECT_TRUE(partial->acls_enabled);
  EXPECT_TRUE(partial->partial);
  ASSERT_FALSE(partial->warnings.empty());
  EXPECT_NE(partial->warnings[0].find("hidden"), std::string::npos);
  EXPECT_EQ(partial_writer.members().size(), 5U);

  auto no_acl_read = client_for(*agent, kv_only["SecretID"].get<std::string>());
  archive::BackupWriter denied_writer({.temp_dir = std::filesystem::temp_directory_path()});
  auto denied = backup_acls(*no_acl_read, denied_writer, {.allow_partial = true});
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.error().kind(), ErrorKind::permission_denied);
  EXPECT_NE(denied.error().message().find("acl:read"), std::string::npos)
      << denied.error().message();
  // The same token sees no prepared query: Consul marks the list filtered, which fails.
  call(*agent, management, "POST", "/v1/query", R"({"Name":"q","Service":{"Service":"web"}})");
  auto queries = backup_prepared_queries(*no_acl_read, denied_writer);
  ASSERT_FALSE(queries.ok());
  EXPECT_NE(queries.error().message().find("Filtered-By-Acls"), std::string::npos)
      << queries.error().message();
}

TEST(AclBackup, ACLsDisabledIsRecordedNotAnError) {
  CSNAP_REQUIRE_CONSUL(agent, ConsulAgentOptions{});
  auto client = consul::Client::create({.address = agent->http_address()});
  ASSERT_TRUE(client.ok());
  auto query = testing::curl({"-X", "POST", "--data-binary",
                              R"({"Name":"plain","Service":{"Service":"db"}})",
                              "http://" + agent->http_address() + "/v1/query"});
  ASSERT_TRUE(query.ok());
  ASSERT_EQ(query->status, 200) << query->body;

  archive::BackupWriter writer({.temp_dir = std::filesystem::temp_directory_path()});
  auto acls = backup_acls(**client, writer, {});
  ASSERT_TRUE(acls.ok()) << acls.error().message();
  EXPECT_FALSE(acls->acls_enabled);
  EXPECT_FALSE(acls->partial);
  EXPECT_TRUE(writer.members().empty());
  auto queries = backup_prepared_queries(**client, writer);
  ASSERT_TRUE(queries.ok()) << queries.error().message();
  EXPECT_EQ(queries->count, 1U);
  auto members = writer.members();
  ASSERT_EQ(members.size(), 1U);
  EXPECT_EQ(members[0].name, "prepared-queries.json");
}

}  // namespace
}  // namespace csnap::ops
