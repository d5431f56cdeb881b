#pragma once
// What the daemon knows about its backups, shared between the backup loop (which writes it) and
// the HTTP server (which reads it for /health, /metrics and /v1/status). Every member function is
// thread-safe; readers get a consistent copy.

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace csnap::daemon {

using Clock = std::chrono::system_clock;

struct BackupOutcome {
  Clock::time_point started;
  Clock::time_point finished;
  std::string key;                               // storage key of the backup written
  std::uint64_t size_bytes = 0;                  // of the stored object
  std::map<std::string, std::uint64_t> entries;  // per kind: "kv", "acl_policies", ...
};

struct Snapshot {
  bool is_leader = false;
  bool lock_enabled = true;
  std::optional<BackupOutcome> last_success;  // this process's last successful backup
  // The cluster's last successful backup as recorded in the lastbackup key (any replica's), if
  // known; health uses the newer of this and last_success.
  std::optional<Clock::time_point> cluster_last_backup;
  std::optional<Clock::time_point> last_attempt;  // start of the last attempt, success or not
  std::optional<std::chrono::duration<double>> last_duration;  // of the last attempt
  std::string last_error;  // message of the last failure, "" after success
  std::uint64_t successes = 0;
  std::map<std::string, std::uint64_t> failures;  // by cause: "consul", "storage", "lock", ...
  std::uint64_t failures_in_a_row = 0;
  Clock::time_point started;  // when the daemon started
  std::string version;
};

class State {
 public:
  explicit State(std::string version, bool lock_enabled);

  void attempt_started(Clock::time_point when);
  void succeeded(const BackupOutcome& outcome);
  void failed(std::string_view cause, std::string message, std::chrono::duration<double> took);
  void set_leader(bool is_leader);
  void set_cluster_last_backup(Clock::time_point when);

  Snapshot snapshot() const;

 private:
  mutable std::mutex mutex_;
  Snapshot data_;
};

}  // namespace csnap::daemon
