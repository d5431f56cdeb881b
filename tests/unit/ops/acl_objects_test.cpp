// The pure planning of an ACL and prepared-query restore: matching, re-linking and equality, on
// small tables of Consul's JSON.

#include "ops/acl_objects.hpp"

#include <chrono>

#include <gtest/gtest.h>

namespace csnap::ops {
namespace {

using consul::AclKind;
using nlohmann::json;

const auto kNow = std::chrono::sys_days{std::chrono::year{2026} / 11 / 27};

// The plan's entries of `kind`, as "label: action".
std::vector<std::string> actions(const AclRestorePlan& plan, AclKind kind) {
  std::vector<std::string> result;
  for (const auto& planned : plan.objects) {
    if (planned.kind == kind)
      result.push_back(planned.label + ": " + std::string(to_string(planned.action)));
  }
  return result;
}

const KindPlan& summary(const AclRestorePlan& plan, std::string_view kind) {
  for (const auto& kind_plan : plan.kinds) {
    if (kind_plan.kind == kind)
      return kind_plan;
  }
  static const KindPlan none;
  ADD_FAILURE() << "no summary for " << kind;
  return none;
}

json policy(std::string id, std::string name, std::string rules) {
  return {{"ID", id},          {"Name", name},     {"Rules", rules},   {"Description", ""},
          {"Hash", "h-" + id}, {"CreateIndex", 7}, {"ModifyIndex", 9}, {"Datacenters", nullptr}};
}

json token(std::string accessor, std::string secret, const json& policies = json::array(),
           const json& roles = json::array()) {
  json result = {{"AccessorID", accessor},
                 {"SecretID", secret},
                 {"Description", ""},
                 {"Local", false},
                 {"CreateTime", "2026-11-01T00:00:00Z"},
                 {"Hash", "x"},
                 {"CreateIndex", 3},
                 {"ModifyIndex", 3}};
  if (!policies.empty())
    result["Policies"] = policies;
  if (!roles.empty())
    result["Roles"] = roles;
  return result;
}

TEST(PlanAclObjects, PoliciesMatchByIdThenNameAndSkipBuiltIns) {
  AclObjects backup;
  backup.policies = json::array({
      policy("00000000-0000-0000-0000-000000000001", "global-management", "all"),
      policy("00000000-0000-0000-0000-000000000002", "builtin/global-read-only", "read"),
      policy("b-1", "same", "key \"a\" {}"),     // matches live by name, equal
      policy("b-2", "changed", "key \"b\" {}"),  // matches live by name, rules differ
      policy("l-3", "renamed", "r"),             // matches live by ID, name differs
      policy("b-4", "new", "r"),                 // nothing matches
  });
  AclObjects live;
  live.policies = json::array({
      policy("00000000-0000-0000-0000-000000000001", "global-management", "all"),
      policy("l-1", "same", "key \"a\" {}"),
      policy("l-2", "changed", "key \"old\" {}"),
      policy("l-3", "old-name", "r"),
  });
  live.policies[1]["Hash"] = "another hash";  // bookkeeping does not count
  live.policies[1]["CreateIndex"] = 99;

  auto plan = plan_acl_objects(backup, live, kNow);
  EXPECT_EQ(actions(plan, AclKind::policy),
            (std::vector<std::string>{"policy global-management: skip",
                                      "policy builtin/global-read-only: skip",
                                      "policy same: unchanged", "policy changed: update",
                                      "policy renamed: update", "policy new: create"}));
  const auto& policies = summary(plan, "acl-policies");
  EXPECT_EQ(policies.create, 1U);
  EXPECT_EQ(policies.update, 2U);
  EXPECT_EQ(policies.unchanged, 1U);
  EXPECT_EQ(policies.skip, 2U);
  ASSERT_FALSE(policies.notes.empty());
  EXPECT_EQ(policies.notes[0], "skip policy global-management (built in)");
  EXPECT_EQ(plan.policy_ids.at("b-1"), "l-1");
  EXPECT_EQ(plan.policy_ids.at("l-3"), "l-3");
  EXPECT_EQ(plan.policy_ids.at("00000000-0000-0000-0000-000000000001"),
            "00000000-0000-0000-0000-000000000001");
  EXPECT_FALSE(plan.policy_ids.contains("b-4"));
}

TEST(PlanAclObjects, RolesAndTokensCompareOnRelinkedPolicyIds) {
  AclObjects backup;
  backup.policies = json::array({policy("b-p", "kv-read", "r")});
  backup.roles = json::array({
      {{"ID", "b-r"}, {"Name", "reader"}, {"Policies", {{{"ID", "b-p"}, {"Name", "kv-read"}}}}},
  });
  backup.tokens = json::array({
      token("acc-1", "sec-1", {{{"ID", "b-p"}, {"Name", "kv-read"}}}),
      token("acc-2", "sec-2", json::array(), {{{"ID", "b-r"}, {"Name", "reader"}}}),
  });
  AclObjects live;
  live.policies = json::array({policy("l-p", "kv-read", "r")});
  live.roles = json::array({
      {{"ID", "l-r"}, {"Name", "reader"}, {"Policies", {{{"ID", "l-p"}, {"Name", "kv-read"}}}}},
  });
  live.tokens = json::array({
      token("acc-1", "sec-1", {{{"ID", "l-p"}, {"Name", "kv-read"}}}),
      token("acc-2", "sec-2", json::array(), {{{"ID", "l-r"}, {"Name", "reader"}}}),
  });
  live.tokens[0]["CreateTime"] = "2026-11-27T10:00:00Z";

  auto plan = plan_acl_objects(backup, live, kNow);
  EXPECT_EQ(actions(plan, AclKind::role), std::vector<std::string>{"role reader: unchanged"});
  EXPECT_EQ(actions(plan, AclKind::token),
            (std::vector<std::string>{"token acc-1: unchanged", "token acc-2: unchanged"}));

  // The same token linked to another policy in the target is an update.
  live.tokens[0]["Policies"] = json::array({{{"ID", "other"}, {"Name", "other"}}});
  plan = plan_acl_objects(backup, live, kNow);
  EXPECT_EQ(actions(plan, AclKind::token),
            (std::vector<std::string>{"token acc-1: update", "token acc-2: unchanged"}));
}

TEST(PlanAclObjects, TokensThatMustNotBeWrittenAreSkippedWithANote) {
  AclObjects backup;
  backup.tokens = json::array({
      token("00000000-0000-0000-0000-000000000002", "anonymous"),
      token("acc-hidden", "<hidden>"),
      token("acc-copy", "target-management-secret"),
      token("acc-clash", "backup-secret"),
      token("acc-login", "login-secret"),
      token("acc-expired", "expired-secret"),
      token("acc-later", "later-secret"),
      token("acc-new", "new-secret"),
  });
  backup.tokens[4]["AuthMethod"] = "jwt";
  backup.tokens[5]["ExpirationTime"] = "2026-11-26T00:00:00.5Z";
  backup.tokens[6]["ExpirationTime"] = "2026-11-28T00:00:00Z";
  AclObjects live;
  live.tokens = json::array({
      token("00000000-0000-0000-0000-000000000002", "anonymous"),
      token("target-management", "target-management-secret"),
      token("acc-clash", "another-secret"),
  });
  live.tokens[0]["Description"] = "changed, and still never written";

  auto plan = plan_acl_objects(backup, live, kNow);
  EXPECT_EQ(actions(plan, AclKind::token),
            (std::vector<std::string>{"token anonymous: skip", "token acc-hidden: skip",
                                      "token acc-copy: skip", "token acc-clash: skip",
                                      "token acc-login: skip", "token acc-expired: skip",
                                      "token acc-later: create", "token acc-new: create"}));
  const auto& tokens = summary(plan, "acl-tokens");
  ASSERT_EQ(tokens.notes.size(), 6U);
  EXPECT_EQ(tokens.notes[0], "skip token anonymous (built in)");
  EXPECT_EQ(tokens.notes[1], "skip token acc-hidden (its SecretID is not in the backup)");
  EXPECT_EQ(tokens.notes[2],
            "skip token acc-copy (its SecretID already belongs to token target-management in "
            "the target)");
  EXPECT_EQ(tokens.notes[3],
            "skip token acc-clash (the target has this AccessorID with another SecretID)");
  EXPECT_NE(tokens.notes[4].find("login token of auth method jwt"), std::string::npos);
  EXPECT_NE(tokens.notes[5].find("expired"), std::string::npos);
}

TEST(PlanAclObjects, AuthMethodsMatchByNameAndBindingRulesByIdThenContent) {
  AclObjects backup;
  backup.auth_methods = json::array({
      {{"Name", "jwt"}, {"Type", "jwt"}, {"Config", {{"BoundAudiences", {"a"}}}}},
      {{"Name", "other"}, {"Type", "jwt"}, {"Config", {{"BoundAudiences", {"b"}}}}},
  });
  backup.binding_rules = json::array({
      {{"ID", "b-1"}, {"AuthMethod", "jwt"}, {"BindType", "service"}, {"BindName", "x"}},
      {{"ID", "b-2"}, {"AuthMethod", "jwt"}, {"BindType", "role"}, {"BindName", "r"}},
      {{"ID", "b-3"}, {"AuthMethod", "jwt"}, {"BindType", "node"}, {"BindName", "n"}},
  });
  AclObjects live;
  live.auth_methods = json::array({
      {{"Name", "jwt"},
       {"Type", "jwt"},
       {"Config", {{"BoundAudiences", {"a"}}}},
       {"CreateIndex", 4},
       {"ModifyIndex", 4}},
      {{"Name", "other"}, {"Type", "jwt"}, {"Config", {{"BoundAudiences", {"c"}}}}},
  });
  live.binding_rules = json::array({
      {{"ID", "l-1"},
       {"AuthMethod", "jwt"},
       {"BindType", "service"},
       {"BindName", "x"},
       {"Selector", ""},
       {"Description", ""}},
      {{"ID", "b-2"}, {"AuthMethod", "jwt"}, {"BindType", "role"}, {"BindName", "changed"}},
  });

  auto plan = plan_acl_objects(backup, live, kNow);
  EXPECT_EQ(actions(plan, AclKind::auth_method),
            (std::vector<std::string>{"auth method jwt: unchanged", "auth method other: update"}));
  EXPECT_EQ(actions(plan, AclKind::binding_rule),
            (std::vector<std::string>{"binding rule b-1 (auth method jwt): unchanged",
                                      "binding rule b-2 (auth method jwt): update",
                                      "binding rule b-3 (auth method jwt): create"}));
}

TEST(RestoreBody, CreatesWithoutConsulsIdsAndUpdatesTheLiveOne) {
  PlannedObject role{
      .kind = AclKind::role,
      .action = RestoreAction::create,
      .backup_id = "b-r",
      .object = {{"ID", "b-r"},
                 {"Name", "reader"},
                 {"Hash", "x"},
                 {"CreateIndex", 5},
                 {"Policies",
                  {{{"ID", "b-p"}, {"Name", "kv-read"}}, {{"ID", "gone"}, {"Name", "by-name"}}}}}};
  IdMap policies = {{"b-p", "l-p"}};
  EXPECT_EQ(restore_body(role, policies, {}),
            json({{"Name", "reader"}, {"Policies", {{{"ID", "l-p"}}, {{"Name", "by-name"}}}}}));
  role.action = RestoreAction::update;
  role.live_id = "l-r";
  EXPECT_EQ(restore_body(role, policies, {})["ID"], "l-r");

  PlannedObject kept{.kind = AclKind::token,
                     .action = RestoreAction::create,
                     .object = token("acc", "sec", json::array(), {{{"ID", "b-r"}}})};
  kept.object["ExpirationTime"] = "2026-12-01T00:00:00Z";
  auto body = restore_body(kept, {}, {{"b-r", "l-r"}});
  EXPECT_EQ(body["AccessorID"], "acc");
  EXPECT_EQ(body["SecretID"], "sec");
  EXPECT_EQ(body["Roles"], json::array({{{"ID", "l-r"}}}));
  EXPECT_EQ(body["ExpirationTime"], "2026-12-01T00:00:00Z");
  EXPECT_FALSE(body.contains("CreateTime"));
  EXPECT_FALSE(body.contains("Hash"));
  kept.action = RestoreAction::update;
  EXPECT_FALSE(restore_body(kept, {}, {}).contains("ExpirationTime"));
}

TEST(Comparable, EmptyAndAbsentFieldsAreEqualAndLinksCompareByIdInAnyOrder) {
  json left = {{"ID", "a"},
               {"Name", "n"},
               {"Datacenters", nullptr},
               {"Description", ""},
               {"Policies", {{{"ID", "2"}, {"Name", "two"}}, {{"ID", "1"}, {"Name", "one"}}}}};
  json right = {{"ID", "b"},
                {"Name", "n"},
                {"ModifyIndex", 8},
                {"Policies", {{{"ID", "1"}}, {{"ID", "2"}, {"Name", "renamed"}}}}};
  EXPECT_EQ(comparable(AclKind::role, left), comparable(AclKind::role, right));
  right["Description"] = "d";
  EXPECT_NE(comparable(AclKind::role, left), comparable(AclKind::role, right));
}

json query(std::string id, std::string name, std::string service) {
  return {{"ID", id},
          {"Name", name},
          {"Session", ""},
          {"Token", ""},
          {"Service", {{"Service", service}, {"Tags", nullptr}, {"OnlyPassing", false}}},
          {"CreateIndex", 3},
          {"ModifyIndex", 3}};
}

TEST(PlanQueryObjects, MatchByIdThenNameAndSkipSessionBoundOnes) {
  json backup = json::array({
      query("q-1", "same-id", "web"),
      query("b-2", "by-name", "db"),
      query("b-3", "", "cache"),
      query("b-4", "new", "api"),
      query("b-5", "with-session", "x"),
      query("b-6", "hidden-token", "y"),
  });
  backup[4]["Session"] = "s-1";
  backup[5]["Token"] = "<hidden>";
  json live = json::array({
      query("q-1", "renamed-live", "web"),
      query("l-2", "by-name", "db"),
      query("l-6", "hidden-token", "y"),
  });
  live[1]["CreateIndex"] = 50;
  live[2]["Token"] = "a-real-token";

  KindPlan summary{.kind = "prepared-queries"};
  auto plan = plan_query_objects(backup, live, summary);
  ASSERT_EQ(plan.size(), 6U);
  EXPECT_EQ(plan[0].action, RestoreAction::update);  // matched by ID, name differs
  EXPECT_EQ(plan[0].live_id, "q-1");
  EXPECT_EQ(plan[1].action, RestoreAction::unchanged);
  EXPECT_EQ(plan[1].live_id, "l-2");
  EXPECT_EQ(plan[2].action, RestoreAction::create);  // no name, no ID match
  EXPECT_EQ(plan[3].action, RestoreAction::create);
  EXPECT_EQ(plan[4].action, RestoreAction::skip);
  EXPECT_EQ(plan[5].action, RestoreAction::unchanged);  // a hidden token is not compared
  EXPECT_EQ(summary.create, 2U);
  EXPECT_EQ(summary.update, 1U);
  EXPECT_EQ(summary.unchanged, 2U);
  EXPECT_EQ(summary.skip, 1U);
  EXPECT_FALSE(query_body(backup[5]).contains("Token"));
  EXPECT_FALSE(query_body(backup[0]).contains("ID"));
}

}  // namespace
}  // namespace csnap::ops
