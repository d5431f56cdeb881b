#pragma once
// What the daemon knows about its backups, shared between the backup loop (which writes it) and
// the HTTP server (which reads it for /health, /metrics, /v1/status and the web page). Every
// member function is thread-safe; readers get a consistent copy.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace csnap::daemon {

using Clock = std::chrono::system_clock;

// How far in the future another replica's clock may put the lastbackup key before the value is
// ignored: NTP keeps clocks far closer; a value beyond it is a wrong clock or a forged key, and
// counting it would keep /health green without backups.
inline constexpr std::chrono::seconds kMaxClockSkew{60};

// What State::offer_cluster_last_backup did with a value.
enum class LastBackupOffer {
  accepted,       // not in the future (beyond kMaxClockSkew): health may count it
  ignored,        // in the future: ignored, and not the value ignored last time (warn about it)
  ignored_again,  // the same future value as last time (already warned about)
};

struct BackupOutcome {
  Clock::time_point started;
  Clock::time_point finished;
  std::string key;                               // storage key of the backup written
  std::uint64_t size_bytes = 0;                  // of the stored object
  std::map<std::string, std::uint64_t> entries;  // per kind: "kv", "acl_policies", ...
  bool partial = false;  // entries the token could not read were left out (--allow-partial)
};

// One backup attempt of this process, successful or not, as kept in the history.
struct Attempt {
  Clock::time_point started;
  std::chrono::duration<double> duration{0};
  bool succeeded = false;
  // Of a success:
  std::string key;
  std::uint64_t size_bytes = 0;
  std::map<std::string, std::uint64_t> entries;
  bool partial = false;
  // Of a failure:
  std::string cause;  // "consul", "storage", "lock", ...
  std::string error;  // the message, cut to Attempt::kMaxErrorBytes

  static constexpr std::size_t kMaxErrorBytes = 300;

  std::uint64_t total_entries() const;
};

struct Snapshot {
  bool is_leader = false;
  bool lock_enabled = true;
  std::optional<BackupOutcome> last_success;  // this process's last successful backup
  // The cluster's last successful backup as recorded in the lastbackup key (any replica's), if
  // known; health uses the newer of this and last_success.
  std::optional<Clock::time_point> cluster_last_backup;
  // The last value of the lastbackup key that was ignored for being in the future, if any.
  std::optional<Clock::time_point> ignored_cluster_last_backup;
  std::optional<Clock::time_point> last_attempt;  // start of the last attempt, success or not
  std::optional<std::chrono::duration<double>> last_duration;  // of the last attempt
  std::string last_error;  // message of the last failure, "" after success
  std::uint64_t successes = 0;
  std::map<std::string, std::uint64_t> failures;  // by cause: "consul", "storage", "lock", ...
  std::uint64_t failures_in_a_row = 0;
  Clock::time_point started;  // when the daemon started
  std::string version;
  std::vector<Attempt> history;  // the last attempts of this process, oldest first
  // Why the last retention run removed nothing although its policy would have (the shrink guard,
  // ops::ShrinkHold); "" when it was not held.
  std::string retention_held;
};

class State {
 public:
  static constexpr std::size_t kDefaultHistoryLimit = 100;

  // `history_limit`: how many attempts the history keeps (the oldest go first); at least 1.
  explicit State(std::string version, bool lock_enabled,
                 std::size_t history_limit = kDefaultHistoryLimit);

  void attempt_started(Clock::time_point when);
  // Records a success, and appends it to the history.
  void succeeded(const BackupOutcome& outcome);
  // Records a failure that took `took`, and appends it to the history (as an attempt that started
  // `took` ago). Registered secrets in `message` are redacted (log::scrub_secrets) before it is
  // kept, since it is shown on /health, /v1/status and the page.
  void failed(std::string_view cause, std::string message, std::chrono::duration<double> took);
  void set_leader(bool is_leader);
  // The lastbackup key read at `now` says `when`: kept (when newer than what is known) unless it
  // is more than kMaxClockSkew after `now`.
  LastBackupOffer offer_cluster_last_backup(Clock::time_point when, Clock::time_point now);
  // The reason the last retention run was held, or "" when it was not.
  void set_retention_held(std::string reason);

  Snapshot snapshot() const;

 private:
  void remember(Attempt attempt);  // with mutex_ held

  mutable std::mutex mutex_;
  std::size_t history_limit_;
  Snapshot data_;
};

// `time` in UTC as RFC 3339 with whole seconds, e.g. "2027-01-15T08:00:00Z".
std::string format_utc(Clock::time_point time);

}  // namespace csnap::daemon
