// Restore planning as a whole (PreparedRestore::plan), with the live cluster built from data: what
// a restore would write, delete, skip or refuse, for KV, ACL objects and prepared queries, in
// merge and replace mode and with --only; and LiveScope, what a restore reads of Consul first.

#include "ops/restore.hpp"

#include <algorithm>
#include <chrono>
#include <memory>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "restore_sides.hpp"
#include "temp_dir.hpp"
#include "util/io.hpp"

namespace csnap::ops {
namespace {

using nlohmann::json;

constexpr std::string_view kLockKey = "service/consul-snapshot/leader";
constexpr std::string_view kLastBackupKey = "service/consul-snapshot/lastbackup";

RestoreOptions merge() {
  RestoreOptions options;
  options.kv.protected_keys = {{std::string(kLockKey), "the daemon's leader lock"},
                               {std::string(kLastBackupKey), "the daemon's last backup time"}};
  return options;
}

RestoreOptions replace() {
  auto options = merge();
  options.kv.replace = true;
  return options;
}

// The planned KV changes as "action key @index", in the order the plan reports them.
std::vector<std::string> lines(const std::vector<KvChange>& changes) {
  std::vector<std::string> result;
  result.reserve(changes.size());
  for (const auto& change : changes) {
    result.push_back(std::string(to_string(change.kind)) + " " + change.key + " @" +
                     std::to_string(change.modify_index));
  }
  return result;
}

const KindPlan* find_kind(const RestorePreview& preview, std::string_view kind) {
  auto it = std::find_if(preview.others.begin(), preview.others.end(),
                         [&](const KindPlan& plan) { return plan.kind == kind; });
  return it == preview.others.end() ? nullptr : &*it;
}

json policy(std::string id, std::string name) {
  return {{"ID", std::move(id)}, {"Name", std::move(name)}, {"Rules", "key \"a\" {}"}};
}

json token(std::string accessor, std::string secret) {
  return {{"AccessorID", std::move(accessor)}, {"SecretID", std::move(secret)}};
}

json query(std::string id, std::string name, std::string service) {
  return {{"ID", std::move(id)}, {"Name", std::move(name)}, {"Service", {{"Service", service}}}};
}

class RestorePlanTest : public ::testing::Test {
 protected:
  test_common::TempDir temp_{"csnap-restore-plan-"};
  std::vector<std::unique_ptr<std::string>> bytes_;  // each backup's bytes, for as long as read
  std::vector<KvChange> changes_;

  VerifiedBackup verified(const BackupContents& contents) {
    bytes_.push_back(std::make_unique<std::string>(backup_bytes(contents, temp_.root())));
    LocatedBackup located{.name = "test-backup",
                          .storage = nullptr,
                          .source = std::make_unique<MemorySource>(*bytes_.back())};
    auto backup = verify_backup(located, temp_.root(), {});
    EXPECT_TRUE(backup.ok()) << backup.error().message();
    return std::move(backup).value();
  }

  Result<PreparedRestore> plan(const BackupContents& contents, LiveCluster live,
                               const RestoreOptions& options) {
    changes_.clear();
    return PreparedRestore::plan(verified(contents), std::move(live), options,
                                 [&](const KvChange& change) { changes_.push_back(change); });
  }

  LiveScope scope(const BackupContents& contents, const RestoreOptions& options) {
    auto scope = LiveScope::of(verified(contents), options);
    EXPECT_TRUE(scope.ok()) << scope.error().message();
    return scope.ok() ? *scope : LiveScope{};
  }

  // A backup of app/: one key equal to the live one, one changed, one missing live.
  const BackupContents app_ = {.kv = {{"app/same", "1"}, {"app/changed", "new"}, {"app/new", "3"}}};
  // The live side: the same three keys' state, and app/extra, which the backup lacks.
  static LiveCluster live_app() {
    LiveCluster live;
    live.kv =
        LiveKv::from_entries({live_entry("app/same", "1", 5), live_entry("app/changed", "old", 7),
                              live_entry("app/extra", "x", 9)});
    return live;
  }
};

TEST_F(RestorePlanTest, MergeWritesWhatDiffersAndLeavesTheRestAlone) {
  auto prepared = plan(app_, live_app(), merge());
  ASSERT_TRUE(prepared.ok()) << prepared.error().message();
  const auto& kv = prepared->preview().kv;
  EXPECT_EQ(kv.create, 1U);
  EXPECT_EQ(kv.update, 1U);
  EXPECT_EQ(kv.unchanged, 1U);
  EXPECT_EQ(kv.remove, 0U) << "merge never deletes";
  EXPECT_EQ(kv.bytes, 4U) << "the value bytes of app/changed and app/new";
  // The unchanged key and the live-only key are no change at all.
  EXPECT_EQ(lines(changes_),
            (std::vector<std::string>{"update app/changed @7", "create app/new @0"}));
  EXPECT_FALSE(prepared->preview().changes_nothing());
}

TEST_F(RestorePlanTest, ReplaceAlsoDeletesLiveKeysTheBackupLacksCheckedAgainstTheirIndex) {
  auto prepared = plan(app_, live_app(), replace());
  ASSERT_TRUE(prepared.ok()) << prepared.error().message();
  EXPECT_EQ(prepared->preview().kv.remove, 1U);
  EXPECT_EQ(lines(changes_), (std::vector<std::string>{"update app/changed @7", "create app/new @0",
                                                       "delete app/extra @9"}));
}

TEST_F(RestorePlanTest, ABackupOfASubtreeReplacesOnlyThatSubtree) {
  auto subtree = app_;
  subtree.kv_prefix = "app/";
  auto live = live_app();
  live.kv =
      LiveKv::from_entries({live_entry("app/extra", "x", 9), live_entry("other/key", "y", 10)});
  EXPECT_EQ(scope(subtree, replace()).kv_prefix, "app/") << "the live KV is read under app/ only";
  auto prepared = plan(subtree, std::move(live), replace());
  ASSERT_TRUE(prepared.ok()) << prepared.error().message();
  EXPECT_EQ(prepared->preview().kv.remove, 1U);
  EXPECT_EQ(changes_.back().key, "app/extra") << "other/key is outside the backup's subtree";
}

TEST_F(RestorePlanTest, KeysHeldBySessionsAndTheToolsOwnKeysAreSkippedInBothModes) {
  BackupContents backup = {.kv = {{"vault/core/lock", "old leader"},
                                  {std::string(kLockKey), "old lock holder"},
                                  {std::string(kLastBackupKey), "1000"}}};
  auto live = [] {
    LiveCluster cluster;
    cluster.kv = LiveKv::from_entries({live_entry("vault/core/lock", "leader", 19, "sess-vault"),
                                       live_entry("vault/core/other", "x", 20, "sess-vault"),
                                       live_entry(std::string(kLockKey), "me", 21, "sess-me"),
                                       live_entry(std::string(kLastBackupKey), "2000", 22)});
    return cluster;
  };
  for (const auto& options : {merge(), replace()}) {
    SCOPED_TRACE(options.kv.replace ? "replace" : "merge");
    auto prepared = plan(backup, live(), options);
    ASSERT_TRUE(prepared.ok()) << prepared.error().message();
    const auto& kv = prepared->preview().kv;
    EXPECT_EQ(kv.create + kv.update + kv.remove, 0U);
    EXPECT_TRUE(prepared->preview().changes_nothing());
    std::vector<std::string> skipped;
    for (const auto& note : kv.skipped)
      skipped.push_back(note.key + ": " + note.reason);
    std::vector<std::string> expected = {
        "vault/core/lock: held by session sess-vault (a lock of another application; it keeps its "
        "value)",
        std::string(kLockKey) + ": the daemon's leader lock",
        std::string(kLastBackupKey) + ": the daemon's last backup time"};
    if (options.kv.replace) {
      // Not in the backup, so replace would delete it, but it is held.
      expected.emplace_back(
          "vault/core/other: held by session sess-vault (a lock of another application; it "
          "keeps its value)");
    }
    EXPECT_EQ(skipped, expected);
  }
}

TEST_F(RestorePlanTest, ABackupEqualToTheLiveClusterChangesNothing) {
  auto live = live_app();
  live.kv =
      LiveKv::from_entries({live_entry("app/same", "1", 5), live_entry("app/changed", "new", 7),
                            live_entry("app/new", "3", 8)});
  auto prepared = plan(app_, std::move(live), replace());
  ASSERT_TRUE(prepared.ok()) << prepared.error().message();
  EXPECT_EQ(prepared->preview().kv.unchanged, 3U);
  EXPECT_TRUE(changes_.empty());
  EXPECT_TRUE(prepared->preview().changes_nothing());
}

// The target's own management token and the built-in policy are never written; what is new is
// created, and a policy matched by name with other rules is updated.
TEST_F(RestorePlanTest, AclObjectsArePlannedAgainstTheTargetsOwn) {
  BackupContents backup = app_;
  auto changed = policy("b-2", "changed");
  changed["Rules"] = "key \"b\" {}";
  backup.json_members = {
      {"acl/policies.json",
       json::array({policy(std::string(kGlobalManagementPolicyId), "global-management"),
                    policy("b-1", "new-policy"), changed})},
      {"acl/tokens.json", json::array({token(std::string(kAnonymousTokenId), "anonymous"),
                                       token("acc-copy", "target-management-secret"),
                                       token("acc-new", "new-secret")})}};
  auto live = live_app();
  live.acl.objects.policies =
      json::array({policy(std::string(kGlobalManagementPolicyId), "global-management"),
                   policy("l-2", "changed")});
  live.acl.objects.tokens = json::array({token(std::string(kAnonymousTokenId), "anonymous"),
                                         token("target-management", "target-management-secret")});
  auto prepared = plan(backup, std::move(live), merge());
  ASSERT_TRUE(prepared.ok()) << prepared.error().message();
  const auto* policies = find_kind(prepared->preview(), "acl-policies");
  ASSERT_NE(policies, nullptr);
  EXPECT_EQ(policies->create, 1U);
  EXPECT_EQ(policies->update, 1U);
  EXPECT_EQ(policies->skip, 1U);
  const auto* tokens = find_kind(prepared->preview(), "acl-tokens");
  ASSERT_NE(tokens, nullptr);
  EXPECT_EQ(tokens->create, 1U);
  EXPECT_EQ(tokens->skip, 2U);
  EXPECT_EQ(tokens->notes,
            (std::vector<std::string>{"skip token anonymous (built in)",
                                      "skip token acc-copy (its SecretID already belongs to token "
                                      "target-management in the target)"}));
}

TEST_F(RestorePlanTest, BackupTokensExpiredWhenTheLiveSideWasReadAreNotRestored) {
  BackupContents backup = app_;
  auto expiring = token("acc-expiring", "secret");
  expiring["ExpirationTime"] = "2026-11-27T12:00:00Z";
  backup.json_members = {{"acl/tokens.json", json::array({expiring})}};
  auto at = [&](std::chrono::sys_days day) {
    auto live = live_app();
    live.acl.read_at = day;
    auto prepared = plan(backup, std::move(live), merge());
    EXPECT_TRUE(prepared.ok()) << prepared.error().message();
    return *find_kind(prepared->preview(), "acl-tokens");
  };
  using std::chrono::November;
  EXPECT_EQ(at(std::chrono::year{2026} / November / 27).create, 1U);
  EXPECT_EQ(at(std::chrono::year{2026} / November / 28).skip, 1U);

  // A live side that does not say when it was read is compared at the time of planning.
  auto live = live_app();
  live.acl.read_at.reset();
  auto prepared = plan(backup, std::move(live), merge());
  ASSERT_TRUE(prepared.ok()) << prepared.error().message();
  EXPECT_EQ(find_kind(prepared->preview(), "acl-tokens")->skip, 1U);
}

TEST_F(RestorePlanTest, AclObjectsForAClusterWithoutAclsAreRefused) {
  BackupContents backup = app_;
  backup.json_members = {{"acl/policies.json", json::array({policy("b-1", "p")})}};
  auto live = live_app();
  live.acl.enabled = false;
  EXPECT_TRUE(scope(backup, merge()).acl);
  auto prepared = plan(backup, std::move(live), merge());
  ASSERT_FALSE(prepared.ok());
  EXPECT_EQ(prepared.error().kind(), ErrorKind::invalid_argument);
  EXPECT_NE(prepared.error().message().find("holds 1 ACL objects but Consul has ACLs disabled"),
            std::string::npos)
      << prepared.error().message();
  EXPECT_NE(prepared.error().message().find("--only kv,query"), std::string::npos);

  // Empty ACL members (a backup of a cluster without ACLs) restore anywhere, read nothing.
  backup.json_members = {{"acl/policies.json", json::array()}, {"acl/tokens.json", json::array()}};
  EXPECT_FALSE(scope(backup, merge()).acl);
  live = live_app();
  live.acl.enabled = false;
  prepared = plan(backup, std::move(live), merge());
  ASSERT_TRUE(prepared.ok()) << prepared.error().message();
  EXPECT_FALSE(prepared->preview().changes_nothing()) << "the KV still differs";
  ASSERT_NE(find_kind(prepared->preview(), "acl-policies"), nullptr);
  EXPECT_EQ(find_kind(prepared->preview(), "acl-policies")->create, 0U);
}

TEST_F(RestorePlanTest, HiddenTokenSecretsInTheTargetRefuseTheAclRestore) {
  BackupContents backup = app_;
  backup.json_members = {{"acl/tokens.json", json::array({token("acc-1", "secret")})}};
  auto live = live_app();
  live.acl.objects.tokens = json::array({token("acc-live", std::string(kHiddenSecret))});
  auto prepared = plan(backup, std::move(live), merge());
  ASSERT_FALSE(prepared.ok());
  EXPECT_EQ(prepared.error().kind(), ErrorKind::permission_denied);
  EXPECT_NE(prepared.error().message().find("acl:write"), std::string::npos)
      << prepared.error().message();
}

TEST_F(RestorePlanTest, PreparedQueriesMatchByIdThenByName) {
  BackupContents backup = app_;
  backup.json_members = {
      {"prepared-queries.json",
       json::array({query("q-1", "web", "web-v2"),  // same ID live, other service: update
                    query("q-2", "db", "db"),       // same name live under another ID: unchanged
                    query("q-3", "cache", "cache")})}};
  auto live = live_app();
  live.queries = json::array({query("q-1", "web", "web"), query("l-9", "db", "db")});
  EXPECT_TRUE(scope(backup, merge()).queries);
  auto prepared = plan(backup, std::move(live), merge());
  ASSERT_TRUE(prepared.ok()) << prepared.error().message();
  const auto* queries = find_kind(prepared->preview(), kPreparedQueriesKind);
  ASSERT_NE(queries, nullptr);
  EXPECT_EQ(queries->update, 1U);
  EXPECT_EQ(queries->unchanged, 1U);
  EXPECT_EQ(queries->create, 1U);

  backup.json_members = {{"prepared-queries.json", json::array()}};
  EXPECT_FALSE(scope(backup, merge()).queries) << "no live queries read for none to restore";
}

TEST_F(RestorePlanTest, OnlyPlansAndReadsTheSelectedKinds) {
  BackupContents backup = app_;
  backup.json_members = {{"acl/policies.json", json::array({policy("b-1", "p")})},
                         {"prepared-queries.json", json::array({query("q-1", "web", "web")})}};
  auto kv_only = merge();
  kv_only.only = {"kv"};
  auto read = scope(backup, kv_only);
  EXPECT_EQ(read.kv_prefix, "");
  EXPECT_FALSE(read.acl);
  EXPECT_FALSE(read.queries);
  auto prepared = plan(backup, live_app(), kv_only);
  ASSERT_TRUE(prepared.ok()) << prepared.error().message();
  EXPECT_EQ(prepared->preview().kv.create, 1U);
  EXPECT_TRUE(prepared->preview().others.empty());

  auto without_kv = merge();
  without_kv.only = {"acl", "query"};
  read = scope(backup, without_kv);
  EXPECT_FALSE(read.kv_prefix.has_value());
  EXPECT_TRUE(read.acl);
  EXPECT_TRUE(read.queries);
  prepared = plan(backup, live_app(), without_kv);
  ASSERT_TRUE(prepared.ok()) << prepared.error().message();
  EXPECT_TRUE(prepared->preview().kv.empty());
  EXPECT_EQ(prepared->preview().kv.unchanged, 0U) << "KV was not compared at all";
  EXPECT_TRUE(changes_.empty());
  ASSERT_NE(find_kind(prepared->preview(), "acl-policies"), nullptr);
  EXPECT_EQ(find_kind(prepared->preview(), "acl-policies")->create, 1U);
  ASSERT_NE(find_kind(prepared->preview(), kPreparedQueriesKind), nullptr);
  EXPECT_EQ(find_kind(prepared->preview(), kPreparedQueriesKind)->create, 1U);
}

TEST_F(RestorePlanTest, ConfigEntriesAreReadForTheirKindsAndPlannedOnlyWhenSelected) {
  BackupContents backup = app_;
  backup.json_members = {
      {"config-entries.json",
       json::array({{{"Kind", "service-router"}, {"Name", "web"}, {"ModifyIndex", 3}},
                    {{"Kind", "service-defaults"}, {"Name", "web"}, {"Protocol", "http"}}})}};
  auto only_config = merge();
  only_config.only = {"config"};
  auto read = scope(backup, only_config);
  EXPECT_FALSE(read.kv_prefix.has_value());
  EXPECT_EQ(read.config_kinds, (std::vector<std::string>{"service-defaults", "service-router"}));
  LiveCluster live;
  live.config_entries = json::array(
      {{{"Kind", "service-defaults"}, {"Name", "web"}, {"Protocol", "http"}, {"ModifyIndex", 40}}});
  auto prepared = plan(backup, std::move(live), only_config);
  ASSERT_TRUE(prepared.ok()) << prepared.error().message();
  EXPECT_TRUE(prepared->preview().kv.empty());
  const auto* config = find_kind(prepared->preview(), kConfigEntriesKind);
  ASSERT_NE(config, nullptr);
  EXPECT_EQ(config->unchanged, 1U);
  EXPECT_EQ(config->create, 1U);

  auto kv_only = merge();
  kv_only.only = {"kv"};
  EXPECT_TRUE(scope(backup, kv_only).config_kinds.empty()) << "no config entries read";
  prepared = plan(backup, live_app(), kv_only);
  ASSERT_TRUE(prepared.ok()) << prepared.error().message();
  EXPECT_EQ(find_kind(prepared->preview(), kConfigEntriesKind), nullptr);
}

TEST(ParseOnly, AcceptsTheFourKindsAndRefusesOthers) {
  auto kinds = parse_only("kv,query,config");
  ASSERT_TRUE(kinds.ok());
  EXPECT_EQ(*kinds, (std::set<std::string>{"kv", "query", "config"}));
  auto bad = parse_only("kv,acls");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().kind(), ErrorKind::invalid_argument);
  EXPECT_NE(bad.error().message().find("'acls'"), std::string::npos);
}

}  // namespace
}  // namespace csnap::ops
