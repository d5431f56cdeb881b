// The scheduler driven with fake steps, a fake leader lock and a fake clock: the back-off, the
// failure streak, lock gating, a lost lock and a shutdown during a backup, retention after a
// success, and the status it publishes. No real time passes and nothing leaves the process.

#include "daemon/scheduler.hpp"

#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "captured_log.hpp"

namespace csnap::daemon {
namespace {

using namespace std::chrono_literals;
using test_common::CapturedLog;

constexpr std::chrono::seconds kInterval = 60s;

// Time passes only when the scheduler waits or a step says so. `on_wait` runs at the start of
// each wait, after the wait is recorded (a test stops the scheduler from it).
class FakeClock final : public SchedulerClock {
 public:
  std::chrono::steady_clock::time_point now() const override { return steady_; }
  Clock::time_point wall_time() const override { return wall_; }
  bool wait(std::chrono::seconds duration) override {
    waits.push_back(duration);
    if (on_wait)
      on_wait();
    if (interrupted_)
      return true;
    advance(duration);
    return false;
  }
  void interrupt() override { interrupted_ = true; }

  void advance(std::chrono::seconds duration) {
    steady_ += duration;
    wall_ += duration;
  }

  std::vector<std::chrono::seconds> waits;
  std::function<void()> on_wait;

 private:
  std::chrono::steady_clock::time_point steady_{1000h};
  Clock::time_point wall_{std::chrono::seconds(1'800'000'000)};
  bool interrupted_ = false;
};

class FakeLeadership final : public Leadership {
 public:
  Result<bool> acquire() override {
    ++acquires;
    if (!acquire_error.empty())
      return Error(ErrorKind::unavailable, acquire_error);
    held_ = held_ || available;
    return held_;
  }
  Result<bool> held() override { return held_ && !lost_; }
  Status confirm() override {
    ++confirms;
    if (!held_ || lost_)
      return Error(ErrorKind::cancelled, "the lock is not held");
    return {};
  }
  bool lost() const override { return lost_; }
  void release() override { released = true; }
  std::string session_id() const override { return "session-1"; }

  void lose() { lost_ = true; }

  bool available = true;      // acquire() gets the lock
  std::string acquire_error;  // acquire() fails with it
  int acquires = 0;
  int confirms = 0;
  bool released = false;

 private:
  bool held_ = false;
  bool lost_ = false;
};

// Each turn's steps recorded in `calls`; the backups answer from `backups` in order (a success
// when it is empty), or from `on_back_up` when set.
class FakeSteps final : public BackupSteps {
 public:
  Status connect() override {
    calls.emplace_back("connect");
    if (!connect_errors.empty()) {
      Error error = connect_errors.front();
      connect_errors.pop_front();
      return error;
    }
    return {};
  }
  std::optional<std::string> read_cluster_last_backup() override {
    calls.emplace_back("read_cluster_last_backup");
    return cluster_last_backup;
  }
  Status open_storage() override {
    calls.emplace_back("open_storage");
    return {};
  }
  Result<BackupOutcome> back_up(const BackupControl& control) override {
    calls.emplace_back("back_up");
    if (on_back_up)
      return on_back_up(control);
    if (!backups.empty()) {
      Result<BackupOutcome> next = backups.front();
      backups.pop_front();
      return next;
    }
    return success();
  }
  void prune(const BackupOutcome& written) override { calls.push_back("prune " + written.key); }
  void refresh_listing() override { calls.emplace_back("refresh_listing"); }
  void end_turn() override { calls.emplace_back("end_turn"); }

  BackupOutcome success() {
    BackupOutcome outcome;
    outcome.key = "backups/" + std::to_string(++written_) + ".tar.zst";
    outcome.size_bytes = 1000;
    outcome.entries = {{"kv", 5}};
    return outcome;
  }
  int count(const std::string& call) const {
    return static_cast<int>(std::count(calls.begin(), calls.end(), call));
  }

  std::deque<Error> connect_errors;
  std::deque<Result<BackupOutcome>> backups;
  std::function<Result<BackupOutcome>(const BackupControl&)> on_back_up;
  std::optional<std::string> cluster_last_backup;  // what the lastbackup key holds
  std::vector<std::string> calls;

 private:
  int written_ = 0;
};

// A scheduler over the fakes that stops itself during its `turns`-th wait.
struct Harness {
  explicit Harness(bool with_lock = true)
      : state("0.1.0", with_lock),
        scheduler({.interval = kInterval,
                   .lock_key = "service/consul-snapshot/leader",
                   .last_backup_key = "service/consul-snapshot/lastbackup"},
                  steps, with_lock ? &lock : nullptr, state, clock) {}

  void run(std::size_t turns) {
    clock.on_wait = [this, turns] {
      if (clock.waits.size() >= turns)
        scheduler.request_stop(0s);
    };
    scheduler.run();
  }

  FakeSteps steps;
  FakeLeadership lock;
  FakeClock clock;
  State state;
  Scheduler scheduler;
};

Error storage_error() {
  return Error(ErrorKind::io, "uploading backups/x: disk full");
}

TEST(Scheduler, BacksOffOneIntervalPerFailureInARowUpToFourAndResetsAfterASuccess) {
  Harness harness;
  for (int i = 0; i < 5; ++i)
    harness.steps.backups.emplace_back(storage_error());
  harness.steps.backups.emplace_back(harness.steps.success());
  harness.steps.backups.emplace_back(storage_error());

  harness.run(7);

  EXPECT_EQ(harness.clock.waits, (std::vector<std::chrono::seconds>{
                                     1 * kInterval, 2 * kInterval, 3 * kInterval, 4 * kInterval,
                                     4 * kInterval, 1 * kInterval, 1 * kInterval}));
  EXPECT_EQ(harness.steps.count("back_up"), 7);
}

TEST(Scheduler, WaitAfterFailuresIsOneToFourIntervals) {
  EXPECT_EQ(wait_after(0, 10s), 10s);
  EXPECT_EQ(wait_after(1, 10s), 10s);
  EXPECT_EQ(wait_after(2, 10s), 20s);
  EXPECT_EQ(wait_after(3, 10s), 30s);
  EXPECT_EQ(wait_after(4, 10s), 40s);
  EXPECT_EQ(wait_after(1000, 10s), 40s);
}

TEST(Scheduler, AFailureStreakCountsEachCauseAndSaysWhereItFailed) {
  CapturedLog log;
  Harness harness;
  harness.steps.connect_errors.emplace_back(ErrorKind::unavailable, "connection refused");
  harness.steps.backups.emplace_back(storage_error());
  harness.steps.backups.emplace_back(Error(ErrorKind::permission_denied, "403 on kv"));
  harness.steps.backups.emplace_back(storage_error());

  harness.run(4);

  Snapshot snapshot = harness.state.snapshot();
  EXPECT_EQ(snapshot.failures_in_a_row, 4u);
  EXPECT_EQ(snapshot.successes, 0u);
  EXPECT_EQ(snapshot.failures, (std::map<std::string, std::uint64_t>{
                                   {"unavailable", 1}, {"i/o", 2}, {"permission_denied", 1}}));
  EXPECT_EQ(snapshot.last_error, "uploading backups/x: disk full");
  ASSERT_EQ(snapshot.history.size(), 4u);
  EXPECT_EQ(snapshot.history[0].cause, "unavailable");
  EXPECT_EQ(snapshot.history[2].cause, "permission_denied");

  std::string text = log.text();
  EXPECT_NE(text.find("[ERROR] Backup failed (1 in a row, at connecting to Consul): connection "
                      "refused"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("[ERROR] Backup failed (4 in a row, at backup): uploading backups/x: disk "
                      "full"),
            std::string::npos)
      << text;
}

TEST(Scheduler, ASuccessEndsTheStreakAndKeepsTheCounts) {
  Harness harness;
  harness.steps.backups.emplace_back(storage_error());
  harness.steps.backups.emplace_back(storage_error());

  harness.run(3);

  Snapshot snapshot = harness.state.snapshot();
  EXPECT_EQ(snapshot.failures_in_a_row, 0u);
  EXPECT_EQ(snapshot.successes, 1u);
  EXPECT_EQ(snapshot.failures.at("i/o"), 2u);
  EXPECT_EQ(snapshot.last_error, "");
  ASSERT_TRUE(snapshot.last_success);
  EXPECT_EQ(snapshot.last_success->key, "backups/1.tar.zst");
}

TEST(Scheduler, ADaemonThatDoesNotLeadTakesNoBackupButReadsTheClusterLastBackup) {
  CapturedLog log;
  Harness harness;
  harness.lock.available = false;

  harness.run(3);

  EXPECT_EQ(harness.steps.count("back_up"), 0);
  EXPECT_EQ(harness.steps.count("open_storage"), 0);
  EXPECT_EQ(harness.steps.count("read_cluster_last_backup"), 3);
  EXPECT_EQ(harness.lock.acquires, 3) << "it tries for the lock every turn";
  EXPECT_EQ(harness.steps.count("end_turn"), 3) << "and closes the turn's connection";
  EXPECT_EQ(harness.clock.waits, (std::vector<std::chrono::seconds>(3, kInterval)));
  Snapshot snapshot = harness.state.snapshot();
  EXPECT_FALSE(snapshot.is_leader);
  EXPECT_TRUE(snapshot.history.empty());
  EXPECT_FALSE(snapshot.last_attempt);
  EXPECT_EQ(log.text().find("leader now"), std::string::npos);
}

TEST(Scheduler, TheDaemonThatAcquiresTheLockBacksUpAndSaysSo) {
  CapturedLog log;
  Harness harness;
  harness.lock.available = false;
  harness.clock.on_wait = [&harness] {
    harness.lock.available = true;  // the other daemon's session ended during the first wait
    if (harness.clock.waits.size() == 2)
      harness.scheduler.request_stop(0s);
  };

  harness.scheduler.run();

  EXPECT_EQ(harness.steps.count("back_up"), 1);
  EXPECT_EQ(harness.state.snapshot().successes, 1u);
  EXPECT_NE(log.text().find("[INFO] This daemon is the leader now (lock "
                            "service/consul-snapshot/leader, session session-1): it takes the "
                            "backups"),
            std::string::npos)
      << log.text();
  EXPECT_TRUE(harness.lock.released);
  EXPECT_FALSE(harness.state.snapshot().is_leader) << "not the leader once it released the lock";
}

TEST(Scheduler, ALockThatCannotBeReadIsAFailureAndNoBackup) {
  Harness harness;
  harness.lock.acquire_error = "lock request timed out";

  harness.run(2);

  EXPECT_EQ(harness.steps.count("back_up"), 0);
  EXPECT_EQ(harness.steps.count("read_cluster_last_backup"), 0)
      << "a daemon cut off from Consul goes no further than the lock";
  EXPECT_EQ(harness.steps.count("end_turn"), 2);
  Snapshot snapshot = harness.state.snapshot();
  EXPECT_FALSE(snapshot.is_leader);
  EXPECT_EQ(snapshot.failures.at("unavailable"), 2u);
  EXPECT_EQ(harness.clock.waits, (std::vector<std::chrono::seconds>{kInterval, 2 * kInterval}));
}

TEST(Scheduler, WithoutALockEveryTurnBacksUpAndNothingConfirmsTheCommit) {
  Harness harness(/*with_lock=*/false);
  harness.steps.on_back_up = [&harness](const BackupControl& control) -> Result<BackupOutcome> {
    EXPECT_FALSE(control.confirm_commit);
    EXPECT_EQ(control.stop_reason(), "");
    return harness.steps.success();
  };

  harness.run(2);

  EXPECT_EQ(harness.steps.count("back_up"), 2);
  EXPECT_EQ(harness.lock.acquires, 0);
}

// What ops::run_backup does with its control: asks for a reason to stop while it works (each
// `step` of fake time), and confirms right before the commit.
Result<BackupOutcome> back_up_like_run_backup(FakeSteps& steps, FakeClock& clock,
                                              const BackupControl& control,
                                              const std::vector<std::chrono::seconds>& work) {
  for (auto step : work) {
    clock.advance(step);
    if (auto reason = control.stop_reason(); !reason.empty())
      return Error(ErrorKind::cancelled, "backup abandoned: " + reason);
  }
  if (control.confirm_commit)
    CSNAP_TRY(control.confirm_commit());
  return steps.success();
}

TEST(Scheduler, ALockLostDuringABackupAbandonsItWithoutSuccessOrRetention) {
  Harness harness;
  harness.steps.on_back_up = [&harness](const BackupControl& control) {
    harness.lock.lose();  // the renewal thread found the session gone
    return back_up_like_run_backup(harness.steps, harness.clock, control, {5s, 5s});
  };

  harness.run(1);

  Snapshot snapshot = harness.state.snapshot();
  EXPECT_EQ(snapshot.successes, 0u);
  EXPECT_EQ(snapshot.failures.at("cancelled"), 1u);
  EXPECT_NE(snapshot.last_error.find("lost the leader lock"), std::string::npos)
      << snapshot.last_error;
  EXPECT_EQ(harness.steps.count("refresh_listing"), 0);
  for (const auto& call : harness.steps.calls)
    EXPECT_NE(call.rfind("prune", 0), 0u) << "no retention after an abandoned backup";
  EXPECT_EQ(harness.lock.confirms, 0) << "abandoned before the commit";
}

TEST(Scheduler, TheCommitIsConfirmedWithTheLockAndALostLockThereFailsTheBackup) {
  Harness harness;
  harness.steps.on_back_up = [&harness](const BackupControl& control) -> Result<BackupOutcome> {
    // Lost after the last check of the stop reason, before the commit.
    auto reason = control.stop_reason();
    EXPECT_EQ(reason, "");
    harness.lock.lose();
    CSNAP_TRY(control.confirm_commit());
    return harness.steps.success();
  };

  harness.run(1);

  EXPECT_EQ(harness.lock.confirms, 1);
  EXPECT_EQ(harness.state.snapshot().successes, 0u);
  EXPECT_EQ(harness.state.snapshot().failures.at("cancelled"), 1u);
  EXPECT_EQ(harness.steps.count("refresh_listing"), 0);
}

TEST(Scheduler, AShutdownDuringABackupLetsItFinishWithinTheGrace) {
  Harness harness;
  harness.steps.on_back_up = [&harness](const BackupControl& control) {
    harness.scheduler.request_stop(30s);
    return back_up_like_run_backup(harness.steps, harness.clock, control, {10s, 10s, 9s});
  };

  harness.scheduler.run();  // ends by itself: the stop was requested

  Snapshot snapshot = harness.state.snapshot();
  EXPECT_EQ(snapshot.successes, 1u);
  EXPECT_TRUE(snapshot.failures.empty());
  EXPECT_EQ(harness.steps.count("prune backups/1.tar.zst"), 1);
  EXPECT_EQ(harness.steps.count("back_up"), 1) << "no turn after the stop";
  EXPECT_EQ(harness.steps.count("connect"), 1);
  EXPECT_TRUE(harness.lock.released);
}

TEST(Scheduler, AShutdownDuringABackupAbandonsItOnceTheGraceIsOver) {
  Harness harness;
  std::vector<std::string> reasons;
  harness.steps.on_back_up = [&harness](const BackupControl& control) {
    harness.scheduler.request_stop(30s);
    return back_up_like_run_backup(harness.steps, harness.clock, control, {10s, 10s, 10s, 10s});
  };

  harness.scheduler.run();

  Snapshot snapshot = harness.state.snapshot();
  EXPECT_EQ(snapshot.successes, 0u);
  EXPECT_EQ(snapshot.failures.at("cancelled"), 1u);
  EXPECT_NE(snapshot.last_error.find("the grace period (--shutdown-grace) is over"),
            std::string::npos)
      << snapshot.last_error;
  ASSERT_EQ(snapshot.history.size(), 1u);
  EXPECT_EQ(snapshot.history[0].duration, 30s) << "abandoned at the end of the grace";
  EXPECT_EQ(harness.steps.count("refresh_listing"), 0);
  EXPECT_EQ(harness.lock.confirms, 0);
  EXPECT_TRUE(harness.lock.released);
}

TEST(Scheduler, AStopBeforeTheFirstTurnTakesNoTurn) {
  Harness harness;
  harness.scheduler.request_stop(30s);

  harness.scheduler.run();

  EXPECT_TRUE(harness.steps.calls.empty());
  EXPECT_TRUE(harness.clock.waits.empty());
  EXPECT_TRUE(harness.lock.released);
}

TEST(Scheduler, RetentionAndTheListingFollowEachSuccessAndNoFailure) {
  Harness harness;
  harness.steps.backups.emplace_back(storage_error());
  harness.steps.backups.emplace_back(harness.steps.success());
  harness.steps.backups.emplace_back(storage_error());

  harness.run(3);

  // A failed, a successful and a failed turn, each ended before the wait.
  EXPECT_EQ(harness.steps.calls, (std::vector<std::string>{
                                     "connect",
                                     "read_cluster_last_backup",
                                     "open_storage",
                                     "back_up",
                                     "end_turn",
                                     "connect",
                                     "read_cluster_last_backup",
                                     "open_storage",
                                     "back_up",
                                     "prune backups/1.tar.zst",
                                     "refresh_listing",
                                     "end_turn",
                                     "connect",
                                     "read_cluster_last_backup",
                                     "open_storage",
                                     "back_up",
                                     "end_turn",
                                 }));
}

TEST(Scheduler, EachAttemptIsPublishedBeforeTheNextWait) {
  Harness harness;
  harness.steps.backups.emplace_back(storage_error());
  harness.steps.on_back_up = [&harness](const BackupControl&) -> Result<BackupOutcome> {
    harness.clock.advance(7s);  // the backup takes 7 s
    if (!harness.steps.backups.empty()) {
      auto next = harness.steps.backups.front();
      harness.steps.backups.pop_front();
      return next;
    }
    return harness.steps.success();
  };
  const Clock::time_point start = harness.clock.wall_time();
  std::vector<Snapshot> published;
  harness.clock.on_wait = [&] {
    published.push_back(harness.state.snapshot());
    if (published.size() == 2)
      harness.scheduler.request_stop(0s);
  };

  harness.scheduler.run();

  ASSERT_EQ(published.size(), 2u);
  ASSERT_EQ(published[0].history.size(), 1u);
  EXPECT_FALSE(published[0].history[0].succeeded);
  EXPECT_EQ(published[0].last_attempt, start);
  EXPECT_EQ(published[0].last_duration, 7s);
  EXPECT_TRUE(published[0].is_leader);

  ASSERT_EQ(published[1].history.size(), 2u);
  EXPECT_TRUE(published[1].history[1].succeeded);
  // The second turn starts after the failed one (7 s) and one interval of back-off.
  const Clock::time_point second = start + 7s + kInterval;
  EXPECT_EQ(published[1].last_attempt, second);
  ASSERT_TRUE(published[1].last_success);
  EXPECT_EQ(published[1].last_success->started, second);
  EXPECT_EQ(published[1].last_success->finished, second + 7s);
  EXPECT_EQ(published[1].last_duration, 7s);
}

TEST(Scheduler,
     TheClusterLastBackupCountsWhenItHasHappenedAndIsIgnoredOnceWithAWarningInTheFuture) {
  CapturedLog log;
  State state("0.1.0", true);
  const Clock::time_point now{std::chrono::seconds(1'800'000'000)};
  const std::string key = "service/consul-snapshot/lastbackup";

  offer_cluster_last_backup(state, key, "not a time", now);
  offer_cluster_last_backup(state, key, " 1799999000\n", now);
  EXPECT_EQ(state.snapshot().cluster_last_backup,
            Clock::time_point(std::chrono::seconds(1'799'999'000)));
  EXPECT_EQ(log.text(), "");

  offer_cluster_last_backup(state, key, "1800003600", now);
  offer_cluster_last_backup(state, key, "1800003600", now + 10s);
  EXPECT_EQ(state.snapshot().cluster_last_backup,
            Clock::time_point(std::chrono::seconds(1'799'999'000)))
      << "a time an hour ahead does not count";
  std::string text = log.text();
  const std::string warning =
      "[WARN] Ignoring service/consul-snapshot/lastbackup = 1800003600 (2027-01-15T09:00:00Z): it "
      "is in the future, more than 60s ahead of this clock (a wrong clock on the replica that "
      "wrote it, or a forged value); /health counts only backups that have happened";
  auto first = text.find(warning);
  EXPECT_NE(first, std::string::npos) << text;
  EXPECT_EQ(text.find(warning, first + 1), std::string::npos) << "warned once: " << text;
}

TEST(Scheduler, TheClusterLastBackupIsJudgedByTheSchedulersClock) {
  CapturedLog log;
  Harness harness;  // its clock's wall time is 1'800'000'000 (2027-01-15), ahead of the real one
  harness.lock.available = false;
  harness.steps.cluster_last_backup = "1799999000";
  harness.run(1);
  EXPECT_EQ(harness.state.snapshot().cluster_last_backup,
            Clock::time_point(std::chrono::seconds(1'799'999'000)))
      << "a time before the scheduler's clock counts, though it is after the real one";

  Harness ahead;
  ahead.lock.available = false;
  ahead.steps.cluster_last_backup = "1800003600";  // an hour ahead of the scheduler's clock
  ahead.run(1);
  EXPECT_FALSE(ahead.state.snapshot().cluster_last_backup);
  EXPECT_NE(log.text().find("Ignoring service/consul-snapshot/lastbackup = 1800003600"),
            std::string::npos)
      << log.text();
}

TEST(SystemSchedulerClock, AnInterruptEndsTheWaitInProgressAndEveryLaterOne) {
  SystemSchedulerClock clock;
  EXPECT_FALSE(clock.wait(0s)) << "not interrupted yet";

  bool interrupted = false;
  std::thread waiter([&] { interrupted = clock.wait(24h); });
  clock.interrupt();
  waiter.join();  // hangs (and the test times out) if the interrupt is lost
  EXPECT_TRUE(interrupted);
  EXPECT_TRUE(clock.wait(24h)) << "a wait after the interrupt returns at once";
}

}  // namespace
}  // namespace csnap::daemon
