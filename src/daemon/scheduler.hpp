#pragma once
// The daemon's backup loop: a turn every interval (longer after failures), a backup in each turn
// while this daemon leads, retention after each success, the status published for the HTTP
// server, and a shutdown that lets a backup in flight finish within a grace period. What it does
// outside the process (Consul, the storage, the lock, the time) is injected, so that unit tests
// drive it with fakes and a fake clock.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "daemon/leadership.hpp"
#include "daemon/state.hpp"
#include "util/result.hpp"

namespace csnap::daemon {

// How the scheduler tells the time and waits between turns. Thread-safe: interrupt() comes from
// the thread that asks the scheduler to stop.
class SchedulerClock {
 public:
  virtual ~SchedulerClock() = default;

  // Monotonic time, for waits, durations and the shutdown grace.
  virtual std::chrono::steady_clock::time_point now() const = 0;
  // Wall-clock time, for the times the status shows.
  virtual Clock::time_point wall_time() const = 0;
  // Waits `duration`, or less once interrupt() is called (also before the wait); true if it was.
  virtual bool wait(std::chrono::seconds duration) = 0;
  // Ends the current wait and every later one at once.
  virtual void interrupt() = 0;
};

// The real time, and a condition variable to wait on.
class SystemSchedulerClock final : public SchedulerClock {
 public:
  std::chrono::steady_clock::time_point now() const override;
  Clock::time_point wall_time() const override;
  bool wait(std::chrono::seconds duration) override;
  void interrupt() override;

 private:
  std::mutex mutex_;
  std::condition_variable wake_;
  bool interrupted_ = false;
};

// What a backup in flight asks the scheduler (see ops::BackupOptions' members of the same names).
struct BackupControl {
  // A reason to abandon the backup now ("" = go on): the grace of a shutdown is over, or the
  // leadership is lost.
  std::function<std::string()> stop_reason;
  // Right before the commit: an error abandons the backup. Unset when there is no leader lock.
  std::function<Status()> confirm_commit;
};

// The steps of a turn that reach outside the process, in the order a turn takes them. The
// daemon's talk to Consul and the storage (cli/daemon.cpp); a test's are fakes.
class BackupSteps {
 public:
  virtual ~BackupSteps() = default;

  // Connects to Consul for this turn's requests. An error is a failed attempt.
  virtual Status connect() = 0;
  // The value of the lastbackup key (the cluster's last backup, by any replica), for the status;
  // nullopt when it is absent or could not be read (the step logs why). Every daemon reads it
  // each turn, leader or not.
  virtual std::optional<std::string> read_cluster_last_backup() = 0;
  // Opens the storage if it is not open yet (it is kept across turns). An error is a failed
  // attempt.
  virtual Status open_storage() = 0;
  // Takes a backup, abandoning it as `control` says. The outcome's times are the scheduler's.
  virtual Result<BackupOutcome> back_up(const BackupControl& control) = 0;
  // Applies the retention policy (if any) after the backup `written`, which it must keep. Its
  // errors are only logged.
  virtual void prune(const BackupOutcome& written) = 0;
  // Lists the storage again for the daemon's pages, after a backup changed it.
  virtual void refresh_listing() = 0;
  // Ends every turn, however it went: closes the turn's connection to Consul (the storage is
  // kept), so that none stays open through the wait.
  virtual void end_turn() = 0;
};

struct SchedulerOptions {
  // From the end of a turn that succeeded to the start of the next (after a failure: wait_after).
  std::chrono::seconds interval{60};
  std::string lock_key{};         // the leader lock's key, for the log lines
  std::string last_backup_key{};  // the lastbackup key, for the log lines
};

// After `failures_in_a_row` failures (0 after a success), how long until the next turn: one
// interval per failure in a row, at least one interval and at most four.
std::chrono::seconds wait_after(std::uint64_t failures_in_a_row, std::chrono::seconds interval);

// The lastbackup key `key`, read at `now`, holds `value`: offered to `state` as the cluster's last
// backup when it is a Unix time. A time in the future is ignored, with a warning the first time.
void offer_cluster_last_backup(State& state, std::string_view key, std::string_view value,
                               Clock::time_point now);

// A failure's cause for the status and metrics: the error's kind, as a label value ("i/o",
// "invalid_argument").
std::string failure_cause(const Error& error);

class Scheduler {
 public:
  // `leadership` null: this daemon always leads (--lock=false). `steps`, `leadership`, `state`
  // and `clock` must outlive the scheduler.
  Scheduler(SchedulerOptions options, BackupSteps& steps, Leadership* leadership, State& state,
            SchedulerClock& clock);

  // Takes turns until request_stop(), then releases the leadership. Runs on one thread.
  void run();
  // Ends run() after the turn in progress; a backup in flight may go on for `grace` and is
  // abandoned after it. Thread-safe; the first request's grace counts.
  void request_stop(std::chrono::seconds grace);

 private:
  // One turn: take the lead if we can, back up if we lead. Returns how long to wait.
  std::chrono::seconds turn();
  // True when this daemon leads (now or after acquiring the lock); logs and publishes changes.
  Result<bool> lead();
  std::chrono::seconds back_up();
  std::chrono::seconds failed(const Error& error, std::string_view step,
                              std::chrono::steady_clock::time_point started);
  bool stop_requested() const;
  std::string stop_reason() const;

  SchedulerOptions options_;
  BackupSteps& steps_;
  Leadership* leadership_;
  State& state_;
  SchedulerClock& clock_;
  BackupControl control_;

  mutable std::mutex mutex_;                                       // guards abort_at_
  std::optional<std::chrono::steady_clock::time_point> abort_at_;  // set by request_stop()
};

}  // namespace csnap::daemon
