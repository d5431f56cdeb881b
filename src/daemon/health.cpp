#include "daemon/health.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace csnap::daemon {

namespace {

// Whole seconds from `then` to `now`; 0 when `then` is in the future.
long long whole_seconds_since(Clock::time_point then, Clock::time_point now) {
  if (then >= now)
    return 0;
  return std::chrono::duration_cast<std::chrono::seconds>(now - then).count();
}

std::string with_last_error(std::string text, const Snapshot& snapshot) {
  if (!snapshot.last_error.empty())
    text += "; last error: " + snapshot.last_error;
  return text;
}

}  // namespace

HealthAnswer evaluate_health(const Snapshot& snapshot, Clock::time_point now,
                             std::chrono::seconds max_age) {
  HealthAnswer answer;
  if (snapshot.last_success)
    answer.last_backup = snapshot.last_success->finished;
  // A time in the future beyond the allowed skew is a wrong clock or a forged key: not counted.
  if (snapshot.cluster_last_backup && *snapshot.cluster_last_backup <= now + kMaxClockSkew)
    answer.last_backup = std::max(answer.last_backup.value_or(*snapshot.cluster_last_backup),
                                  *snapshot.cluster_last_backup);

  if (answer.last_backup) {
    long long age = whole_seconds_since(*answer.last_backup, now);
    if (now - *answer.last_backup <= max_age) {
      answer.status = 200;
      answer.body = fmt::format("Last backup {} seconds ago", age);
    } else {
      answer.status = 500;
      answer.body = with_last_error(
          fmt::format("Last backup {} seconds ago, older than the maximum age of {} seconds", age,
                      max_age.count()),
          snapshot);
    }
    return answer;
  }

  bool failed_before = snapshot.failures_in_a_row > 0 || !snapshot.last_error.empty();
  if (!failed_before && now - snapshot.started <= max_age) {
    answer.status = 200;
    answer.body =
        fmt::format("No backup yet; started {} seconds ago, within the maximum age of {} seconds",
                    whole_seconds_since(snapshot.started, now), max_age.count());
    return answer;
  }
  answer.status = 500;
  answer.body = with_last_error("No backup yet", snapshot);
  return answer;
}

}  // namespace csnap::daemon
