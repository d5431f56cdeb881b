// evaluate_health: the original tool's /health semantics, as a table.

#include "daemon/health.hpp"

#include <gtest/gtest.h>

namespace csnap::daemon {
namespace {

using namespace std::chrono_literals;

constexpr Clock::time_point kNow = Clock::time_point(1'800'000'000s);

BackupOutcome outcome_finished_at(Clock::time_point finished) {
  BackupOutcome outcome;
  outcome.started = finished - 3s;
  outcome.finished = finished;
  outcome.key = "backups/x.tar.zst";
  return outcome;
}

struct HealthCase {
  const char* name;
  std::optional<Clock::duration> success_age;  // last_success->finished = kNow - this
  std::optional<Clock::duration> cluster_age;  // cluster_last_backup = kNow - this
  Clock::duration uptime;                      // started = kNow - this
  std::string last_error;
  std::uint64_t failures_in_a_row;
  std::chrono::seconds max_age;
  int status;
  std::string body;
};

// Names the case in gtest's output instead of dumping its bytes.
void PrintTo(const HealthCase& c, std::ostream* out) {
  *out << c.name;
}

class HealthTable : public ::testing::TestWithParam<HealthCase> {};

TEST_P(HealthTable, Answers) {
  const HealthCase& c = GetParam();
  Snapshot snapshot;
  snapshot.started = kNow - c.uptime;
  if (c.success_age)
    snapshot.last_success = outcome_finished_at(kNow - *c.success_age);
  if (c.cluster_age)
    snapshot.cluster_last_backup = kNow - *c.cluster_age;
  snapshot.last_error = c.last_error;
  snapshot.failures_in_a_row = c.failures_in_a_row;

  HealthAnswer answer = evaluate_health(snapshot, kNow, c.max_age);
  EXPECT_EQ(answer.status, c.status);
  EXPECT_EQ(answer.body, c.body);
  EXPECT_EQ(answer.healthy(), c.status == 200);
}

// clang-format off
INSTANTIATE_TEST_SUITE_P(
    Cases, HealthTable,
    ::testing::Values(
        HealthCase{"fresh_success", 42s, std::nullopt, 1h, "", 0, 3600s,
                   200, "Last backup 42 seconds ago"},
        HealthCase{"just_now", 0s, std::nullopt, 1h, "", 0, 3600s,
                   200, "Last backup 0 seconds ago"},
        HealthCase{"fractions_round_down", 42999ms, std::nullopt, 1h, "", 0, 3600s,
                   200, "Last backup 42 seconds ago"},
        HealthCase{"exactly_max_age_is_fresh", 3600s, std::nullopt, 2h, "", 0, 3600s,
                   200, "Last backup 3600 seconds ago"},
        HealthCase{"just_past_max_age", 3600s + 1ms, std::nullopt, 2h, "", 0, 3600s,
                   500, "Last backup 3600 seconds ago, older than the maximum age of 3600 seconds"},
        HealthCase{"stale", 7200s, std::nullopt, 3h, "", 0, 3600s,
                   500, "Last backup 7200 seconds ago, older than the maximum age of 3600 seconds"},
        HealthCase{"stale_with_error", 7200s, std::nullopt, 3h, "reading the KV store: connection refused", 3, 3600s,
                   500, "Last backup 7200 seconds ago, older than the maximum age of 3600 seconds; "
                        "last error: reading the KV store: connection refused"},
        HealthCase{"fresh_despite_a_later_failure", 100s, std::nullopt, 3h, "storage: 503", 1, 3600s,
                   200, "Last backup 100 seconds ago"},
        HealthCase{"cluster_newer_than_own", 7200s, 30s, 3h, "", 0, 3600s,
                   200, "Last backup 30 seconds ago"},
        HealthCase{"own_newer_than_cluster", 30s, 7200s, 3h, "", 0, 3600s,
                   200, "Last backup 30 seconds ago"},
        HealthCase{"only_cluster_known_follower", std::nullopt, 90s, 3h, "", 0, 3600s,
                   200, "Last backup 90 seconds ago"},
        HealthCase{"only_cluster_known_stale", std::nullopt, 5000s, 3h, "", 0, 3600s,
                   500, "Last backup 5000 seconds ago, older than the maximum age of 3600 seconds"},
        HealthCase{"future_time_from_skewed_clock", std::nullopt, -20s, 3h, "", 0, 3600s,
                   200, "Last backup 0 seconds ago"},
        // The lastbackup key set to 2100 while this daemon's backups fail: not counted at all.
        HealthCase{"far_future_cluster_is_ignored", std::nullopt, -2'300'000'000s, 3h, "storage: 503 Slow Down", 3, 3600s,
                   500, "No backup yet; last error: storage: 503 Slow Down"},
        HealthCase{"far_future_cluster_with_a_stale_own_backup", 7200s, -2'300'000'000s, 3h, "", 0, 3600s,
                   500, "Last backup 7200 seconds ago, older than the maximum age of 3600 seconds"},
        HealthCase{"cluster_just_beyond_the_skew_allowance", std::nullopt, -(kMaxClockSkew + 1s), 3h, "", 0, 3600s,
                   500, "No backup yet"},
        HealthCase{"cluster_at_the_skew_allowance", std::nullopt, -kMaxClockSkew, 3h, "", 0, 3600s,
                   200, "Last backup 0 seconds ago"},
        HealthCase{"short_max_age", 91s, std::nullopt, 3h, "", 0, 90s,
                   500, "Last backup 91 seconds ago, older than the maximum age of 90 seconds"},
        HealthCase{"startup_grace", std::nullopt, std::nullopt, 5s, "", 0, 3600s,
                   200, "No backup yet; started 5 seconds ago, within the maximum age of 3600 seconds"},
        HealthCase{"grace_ends_at_max_age", std::nullopt, std::nullopt, 3601s, "", 0, 3600s,
                   500, "No backup yet"},
        HealthCase{"failure_ends_grace", std::nullopt, std::nullopt, 5s, "reading the KV store: 403 Forbidden", 1, 3600s,
                   500, "No backup yet; last error: reading the KV store: 403 Forbidden"},
        HealthCase{"many_failures_no_backup", std::nullopt, std::nullopt, 2h, "storage: 503 Slow Down", 40, 3600s,
                   500, "No backup yet; last error: storage: 503 Slow Down"}),
    [](const ::testing::TestParamInfo<HealthCase>& param_info) {
      return std::string(param_info.param.name);
    });
// clang-format on

TEST(Health, ReportsTheBackupItJudged) {
  Snapshot snapshot;
  snapshot.started = kNow - 1h;
  snapshot.last_success = outcome_finished_at(kNow - 50s);
  snapshot.cluster_last_backup = kNow - 10s;
  HealthAnswer answer = evaluate_health(snapshot, kNow, 3600s);
  ASSERT_TRUE(answer.last_backup);
  EXPECT_EQ(*answer.last_backup, kNow - 10s);

  Snapshot empty;
  empty.started = kNow;
  EXPECT_FALSE(evaluate_health(empty, kNow, 3600s).last_backup);
}

TEST(Health, FollowsTheStateThroughItsLife) {
  State state("1.2.3", true);
  auto started = state.snapshot().started;
  EXPECT_EQ(evaluate_health(state.snapshot(), started + 1s, 60s).status, 200);

  state.attempt_started(started + 1s);
  state.failed("consul", "reading the KV store: connection refused", 2s);
  EXPECT_EQ(evaluate_health(state.snapshot(), started + 3s, 60s).body,
            "No backup yet; last error: reading the KV store: connection refused");

  state.succeeded(outcome_finished_at(started + 10s));
  EXPECT_EQ(evaluate_health(state.snapshot(), started + 15s, 60s).body,
            "Last backup 5 seconds ago");
  EXPECT_EQ(evaluate_health(state.snapshot(), started + 71s, 60s).status, 500);

  // another replica backed up
  EXPECT_EQ(state.offer_cluster_last_backup(started + 70s, started + 71s),
            LastBackupOffer::accepted);
  EXPECT_EQ(evaluate_health(state.snapshot(), started + 71s, 60s).body,
            "Last backup 1 seconds ago");
}

TEST(Health, IgnoresAFutureLastBackupKeyAndWarnsOncePerValue) {
  State state("1.2.3", true);
  const auto started = state.snapshot().started;
  const auto year_2100 = Clock::time_point(4'102'444'800s);
  state.attempt_started(started + 1s);
  state.failed("storage", "uploading: 503 Slow Down", 1s);

  EXPECT_EQ(state.offer_cluster_last_backup(year_2100, started + 2s), LastBackupOffer::ignored);
  EXPECT_EQ(state.offer_cluster_last_backup(year_2100, started + 12s),
            LastBackupOffer::ignored_again);
  EXPECT_EQ(state.offer_cluster_last_backup(year_2100 + 1s, started + 22s),
            LastBackupOffer::ignored);
  Snapshot snapshot = state.snapshot();
  EXPECT_FALSE(snapshot.cluster_last_backup);
  EXPECT_EQ(snapshot.ignored_cluster_last_backup, year_2100 + 1s);
  HealthAnswer answer = evaluate_health(snapshot, started + 23s, 60s);
  EXPECT_EQ(answer.status, 500);
  EXPECT_EQ(answer.body, "No backup yet; last error: uploading: 503 Slow Down");

  // A real backup by another replica still counts.
  EXPECT_EQ(state.offer_cluster_last_backup(started + 20s, started + 23s),
            LastBackupOffer::accepted);
  EXPECT_EQ(evaluate_health(state.snapshot(), started + 23s, 60s).body,
            "Last backup 3 seconds ago");
}

}  // namespace
}  // namespace csnap::daemon
