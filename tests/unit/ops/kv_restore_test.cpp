// The KV restore's planning and judging, with the live side built from data: keys held by a
// session and the daemon's own keys are skipped in both modes, creates and updates carry the
// ModifyIndex the plan saw, refused writes are judged from a fresh read, and the report counts
// every failure.

#include "ops/kv_restore.hpp"

#include <filesystem>

#include <gtest/gtest.h>

#include "ops/restore.hpp"
#include "restore_sides.hpp"
#include "temp_dir.hpp"
#include "util/io.hpp"

namespace csnap::ops {
namespace {

using consul::TxnOp;

// A verified backup reader over an in-memory backup holding `entries` in kv.json.
archive::BackupReader backup_of(const std::vector<BackupEntry>& entries,
                                const std::filesystem::path& temp_dir) {
  auto bytes = backup_bytes({.kv = entries}, temp_dir);
  MemorySource source(bytes);
  auto reader = archive::BackupReader::open(source, temp_dir);
  EXPECT_TRUE(reader.ok()) << reader.error().message();
  return std::move(reader).value();
}

KvSelection daemon_keys(bool replace) {
  KvSelection selection;
  selection.replace = replace;
  selection.protected_keys = {{"service/consul-snapshot/leader", "the leader lock"},
                              {"service/consul-snapshot/lastbackup", "the last backup time"}};
  return selection;
}

class KvPlanTest : public ::testing::Test {
 protected:
  test_common::TempDir temp_{"csnap-kv-restore-"};
  // In the backup: an app key that differs live, one missing live, one held by a session live
  // (with another value), and the daemon's keys with old values.
  archive::BackupReader backup_ = backup_of({{"app/changed", "from backup"},
                                             {"app/new", "created"},
                                             {"vault/core/lock", "old leader"},
                                             {"service/consul-snapshot/lastbackup", "1000"},
                                             {"service/consul-snapshot/leader", "old lock holder"}},
                                            temp_.root());

  LiveKv live() {
    return LiveKv::from_entries(
        {live_entry("app/changed", "live", 17), live_entry("app/extra", "not in the backup", 18),
         live_entry("vault/core/lock", "current leader", 19, "sess-vault"),
         live_entry("vault/core/held-extra", "x", 20, "sess-vault"),
         live_entry("service/consul-snapshot/lastbackup", "2000", 21),
         live_entry("service/consul-snapshot/leader", "me", 22, "sess-me")});
  }
};

TEST_F(KvPlanTest, MergeSkipsHeldAndOwnKeys) {
  auto live_kv = live();
  std::vector<KvChange> changes;
  auto plan = plan_kv(backup_, daemon_keys(false), live_kv,
                      [&](const KvChange& change) { changes.push_back(change); });
  ASSERT_TRUE(plan.ok()) << plan.error().message();
  EXPECT_EQ(plan->create, 1U);
  EXPECT_EQ(plan->update, 1U);
  EXPECT_EQ(plan->remove, 0U);
  EXPECT_EQ(plan->skip, 3U);
  ASSERT_EQ(plan->skipped.size(), 3U);
  EXPECT_EQ(plan->skipped[0].key, "vault/core/lock");
  EXPECT_NE(plan->skipped[0].reason.find("held by session sess-vault"), std::string::npos);
  EXPECT_EQ(plan->skipped[1].key, "service/consul-snapshot/lastbackup");
  EXPECT_EQ(plan->skipped[1].reason, "the last backup time");
  EXPECT_EQ(plan->skipped[2].reason, "the leader lock");
  // The skips reach the diff too, with their reasons.
  ASSERT_EQ(changes.size(), 5U);
  EXPECT_EQ(changes[2].kind, KvChangeKind::skip);
  EXPECT_EQ(changes[2].key, "vault/core/lock");
  EXPECT_FALSE(changes[2].reason.empty());
}

TEST_F(KvPlanTest, ReplaceDeletesNeitherHeldNorOwnKeys) {
  auto live_kv = live();
  std::vector<KvChange> changes;
  auto plan = plan_kv(backup_, daemon_keys(true), live_kv,
                      [&](const KvChange& change) { changes.push_back(change); });
  ASSERT_TRUE(plan.ok()) << plan.error().message();
  EXPECT_EQ(plan->remove, 1U);  // app/extra only
  EXPECT_EQ(plan->skip, 4U);    // and vault/core/held-extra, not in the backup, is left alone
  std::vector<std::string> removed, skipped;
  for (const auto& change : changes) {
    if (change.kind == KvChangeKind::remove)
      removed.push_back(change.key);
    if (change.kind == KvChangeKind::skip)
      skipped.push_back(change.key);
  }
  EXPECT_EQ(removed, std::vector<std::string>{"app/extra"});
  EXPECT_NE(std::find(skipped.begin(), skipped.end(), "vault/core/held-extra"), skipped.end());
}

TEST_F(KvPlanTest, AHeldKeyThatAlreadyMatchesIsUnchangedNotSkipped) {
  auto live_kv = LiveKv::from_entries({live_entry("vault/core/lock", "old leader", 19, "s")});
  KvSelection selection;
  selection.prefix = "vault/";
  auto plan = plan_kv(backup_, selection, live_kv);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->unchanged, 1U);
  EXPECT_EQ(plan->skip, 0U);
}

TEST_F(KvPlanTest, ProtectionAppliesToTheTargetName) {
  // --transform app/=service/consul-snapshot/: the backup's app/new would land on our own key.
  KvSelection selection = daemon_keys(false);
  selection.prefix = "app/new";
  selection.transform_from = "app/new";
  selection.transform_to = "service/consul-snapshot/leader";
  auto live_kv = LiveKv::from_entries({});
  auto plan = plan_kv(backup_, selection, live_kv);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->create, 0U);
  EXPECT_EQ(plan->skip, 1U);
}

TEST(JudgeRefusal, ACasOnAChangedKeyIsAConflict) {
  auto op = TxnOp::cas("k", "backup", 0, 10);
  auto verdict = judge_refusal(op, "index is stale", live_entry("k", "someone else's", 12));
  EXPECT_EQ(verdict.kind, RefusalVerdict::Kind::conflict);
  EXPECT_NE(verdict.reason.find("ModifyIndex 12, the plan saw 10"), std::string::npos)
      << verdict.reason;
}

TEST(JudgeRefusal, ACreateOfAKeyMadeMeanwhileIsAConflict) {
  auto op = TxnOp::cas("k", "backup", 0, 0);
  auto verdict = judge_refusal(op, "index is stale", live_entry("k", "new", 30, "sess"));
  EXPECT_EQ(verdict.kind, RefusalVerdict::Kind::conflict);
  EXPECT_NE(verdict.reason.find("created after the plan"), std::string::npos);
  EXPECT_NE(verdict.reason.find("now held by session sess"), std::string::npos);
}

TEST(JudgeRefusal, AnUpdateOfAKeyDeletedMeanwhileIsAConflict) {
  auto verdict = judge_refusal(TxnOp::cas("k", "v", 0, 9), "index is stale", std::nullopt);
  EXPECT_EQ(verdict.kind, RefusalVerdict::Kind::conflict);
}

TEST(JudgeRefusal, AKeyAlreadyAsInTheBackupIsDone) {
  // E.g. an earlier attempt of the same transaction was applied.
  auto op = TxnOp::cas("k", "backup", 3, 10);
  auto now = live_entry("k", "backup", 11);
  now.flags = 3;
  EXPECT_EQ(judge_refusal(op, "index is stale", now).kind, RefusalVerdict::Kind::done);
  EXPECT_EQ(judge_refusal(TxnOp::remove_cas("k", 10), "stale", std::nullopt).kind,
            RefusalVerdict::Kind::done);
}

TEST(JudgeRefusal, ADeleteOfAChangedKeyIsAConflict) {
  auto verdict =
      judge_refusal(TxnOp::remove_cas("k", 10), "index is stale", live_entry("k", "", 11));
  EXPECT_EQ(verdict.kind, RefusalVerdict::Kind::conflict);
}

TEST(JudgeRefusal, ARefusalOfAnUnchangedKeyIsAFailureWithConsulsReason) {
  auto verdict =
      judge_refusal(TxnOp::cas("k", "v", 0, 10), "Permission denied", live_entry("k", "x", 10));
  EXPECT_EQ(verdict.kind, RefusalVerdict::Kind::failed);
  EXPECT_EQ(verdict.reason, "Permission denied");
  // --force: plain sets have no index to conflict with.
  verdict = judge_refusal(TxnOp::set("k", "v"), "Permission denied", live_entry("k", "x", 99));
  EXPECT_EQ(verdict.kind, RefusalVerdict::Kind::failed);
}

TEST(RestoreReport, EveryConflictAndRefusalCountsAsFailed) {
  RestoreReport report;
  EXPECT_EQ(report.failed(), 0U);
  report.kv.skipped.push_back({"held", "held by session"});
  EXPECT_EQ(report.failed(), 0U) << "a skip is not a failure";
  report.kv.conflicts.push_back({"a", "changed after the plan"});
  report.kv.failed.push_back({"b", "Permission denied"});
  report.others.push_back(KindPlan{.kind = "prepared-queries", .create = 1, .failed = 1});
  report.others.push_back(KindPlan{.kind = "acl-tokens", .failed = 2});
  EXPECT_EQ(report.failed(), 5U);
}

}  // namespace
}  // namespace csnap::ops
