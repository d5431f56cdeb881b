#pragma once
// The daemon's answer to GET /health, with the original tool's semantics: 200 and
// `Last backup N seconds ago` while the last backup is younger than the maximum age, 500 with the
// reason otherwise. A pure function of a State snapshot and the time, so it is tested by tables.

#include <chrono>
#include <optional>
#include <string>

#include "daemon/state.hpp"

namespace csnap::daemon {

struct HealthAnswer {
  int status = 500;  // HTTP status: 200 healthy, 500 not
  std::string body;  // one line of text, no trailing newline
  // The backup the answer is about: the newer of this process's last success and the cluster's
  // last backup (the lastbackup key); empty when none is known.
  std::optional<Clock::time_point> last_backup;

  bool healthy() const { return status == 200; }
};

// Evaluates health at `now` for backups that may be at most `max_age` old.
//
// - A backup known (the newer of `snapshot.last_success->finished` and
//   `snapshot.cluster_last_backup`) and at most `max_age` old: 200 `Last backup N seconds ago`
//   (N whole seconds; a time in the future, from another host's clock, counts as 0). A
//   `cluster_last_backup` more than kMaxClockSkew in the future is not counted at all.
// - Older: 500 `Last backup N seconds ago, older than the maximum age of M seconds`, plus
//   `; last error: ...` when the last attempt failed.
// - No backup known: 500 `No backup yet`, plus the last error if any. Startup grace: while the
//   daemon has been up for at most `max_age` and no attempt has failed yet (the first backup is
//   still running, or this replica waits for the lock and the cluster has no lastbackup key yet),
//   the answer is 200 `No backup yet; started N seconds ago, within the maximum age of M seconds`,
//   so that a freshly started daemon is not reported critical before it had the chance to back up.
//   Any failure ends the grace at once.
HealthAnswer evaluate_health(const Snapshot& snapshot, Clock::time_point now,
                             std::chrono::seconds max_age);

}  // namespace csnap::daemon
