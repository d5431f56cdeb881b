#pragma once
// Retention: which backups to keep and why, and removing the others. The rules are restic's
// `forget` rules: a backup is kept when any rule keeps it, and the newest is always kept.

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "storage/backend.hpp"
#include "util/result.hpp"

namespace csnap::ops {

enum class RetentionAction {
  keep,
  remove,
  not_a_backup,  // the key does not follow the naming layout: never touched
};
std::string_view to_string(RetentionAction action);

struct RetentionDecision {
  std::string key;
  std::optional<std::int64_t> time;  // Unix time from the key; none for not_a_backup
  std::uint64_t size = 0;
  std::chrono::seconds age{0};  // now - time (negative for a time in the future)
  RetentionAction action = RetentionAction::keep;
  // Why it is kept, e.g. "newest", "last 3", "daily 2026-11-27", "within 7d".
  std::vector<std::string> reasons;
};

// Unset rules are not part of the policy. Counts are >= 1 and `keep_within` > 0 when set (see
// cli::retention_policy, which builds a policy from the options and checks that).
struct RetentionPolicy {
  std::optional<std::int64_t> keep_last{};
  std::optional<std::chrono::seconds> keep_within{};  // relative to the newest backup's time
  std::optional<std::int64_t> keep_hourly{};
  std::optional<std::int64_t> keep_daily{};
  std::optional<std::int64_t> keep_weekly{};  // ISO 8601 weeks
  std::optional<std::int64_t> keep_monthly{};

  // True when no rule is set: such a policy keeps everything and `prune` refuses it.
  bool empty() const;
  // "keep-last 3, keep-daily 7", in option syntax.
  std::string describe() const;

  // Decides for every object of `objects`: backups newest first (ties by key, descending), then
  // the keys that are not backups, by key. Calendar buckets are UTC; hourly/daily/weekly/monthly
  // keep the newest backup of each of the last N distinct hours/days/weeks/months that have one.
  // `now` only sets each decision's age.
  std::vector<RetentionDecision> select(std::span<const storage::ObjectInfo> objects,
                                        std::chrono::system_clock::time_point now) const;
};

// "7d", "36h", "1h30m", "45s".
std::string format_duration(std::chrono::seconds duration);

struct PruneOptions {
  bool dry_run = false;  // decide and report, remove nothing
  std::chrono::system_clock::time_point now = std::chrono::system_clock::now();
  // Keys kept whatever the policy, with the reason "protected": the daemon passes the backup it
  // has just written, which stays even if a replica with a fast clock wrote a "newer" one.
  std::vector<std::string> protect{};
};

struct PruneReport {
  std::string prefix;  // the listed prefix, with its trailing '/'
  std::vector<RetentionDecision> decisions;
  // Keys whose removal failed, each with the backend's error; the others were still removed.
  std::vector<std::pair<std::string, std::string>> failures;
  std::size_t kept = 0;
  std::size_t removed = 0;  // with dry_run: would be removed
  std::size_t not_backups = 0;
  std::uint64_t bytes_kept = 0;
  std::uint64_t bytes_freed = 0;  // with dry_run: would be freed; failed removals not counted
  bool dry_run = false;
  bool ok() const { return failures.empty(); }
};

// Lists the objects under `key_prefix` ("backups" or "backups/"), applies `policy`, and removes
// the backups it does not keep (unless `options.dry_run`). A failed removal is recorded in the
// report and the others go on; only a failed listing is an error. `policy` must not be empty.
Result<PruneReport> prune(storage::Backend& storage, std::string_view key_prefix,
                          const RetentionPolicy& policy, const PruneOptions& options = {});

}  // namespace csnap::ops
