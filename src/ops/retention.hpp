#pragma once
// Retention: which backups to keep and why, and removing the others. The rules are restic's
// `forget` rules: a backup is kept when any rule keeps it, and the newest is always kept.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ops/encryption.hpp"
#include "storage/backend.hpp"
#include "util/result.hpp"

namespace csnap::ops {

enum class RetentionAction {
  keep,
  remove,
  not_a_backup,  // the key does not follow the naming layout: never touched
  // Named for a time more than kMaxFutureSkew after now: never touched, and not counted by any
  // rule (a wrong clock, or planted so that every real backup would look old).
  future_dated,
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
  std::optional<std::chrono::seconds> keep_within{};  // younger than this, counted from now
  std::optional<std::int64_t> keep_hourly{};
  std::optional<std::int64_t> keep_daily{};
  std::optional<std::int64_t> keep_weekly{};  // ISO 8601 weeks
  std::optional<std::int64_t> keep_monthly{};

  // True when no rule is set: such a policy keeps everything and `prune` refuses it.
  bool empty() const;
  // "keep-last 3, keep-daily 7", in option syntax.
  std::string describe() const;

  // Decides for every object of `objects`: backups newest first (ties by key, descending), then
  // the future-dated ones (by time), then the keys that are not backups, by key. Calendar
  // buckets are UTC; hourly/daily/weekly/monthly keep the newest backup of each of the last N
  // distinct hours/days/weeks/months that have one. `now` sets each decision's age, the window
  // of keep_within, and which backups are future-dated.
  std::vector<RetentionDecision> select(std::span<const storage::ObjectInfo> objects,
                                        std::chrono::system_clock::time_point now) const;
};

// meta.json's entry counts of a backup: kind ("kv", "acl-policies", ...) -> entries.
using EntryCounts = std::map<std::string, std::uint64_t>;

// The shrink guard. A cluster wiped by accident (or restored from the wrong file) still gets
// backed up on schedule, and without a guard retention would then remove, one interval after
// another, the backups that still hold the data. So while the newest backup holds "sharply"
// fewer KV entries, or ACL objects, than a backup retention would remove, retention removes
// nothing until an operator confirms (--confirm-shrink). Sharply means both: fewer than
// 1/kShrinkDivisor of the older count, and at least kShrinkMinimumDrop fewer; the minimum keeps
// small clusters and test setups, where a handful of keys come and go, from tripping it.
inline constexpr std::uint64_t kShrinkDivisor = 2;
inline constexpr std::uint64_t kShrinkMinimumDrop = 10;

struct ShrinkHold {
  std::string what;  // "KV entries" or "ACL objects"
  std::string newest_key;
  std::uint64_t newest_count = 0;
  std::string older_key;  // a backup retention would have removed
  std::uint64_t older_count = 0;

  // One line for the log: what shrank, from which backup to which, and how to go on.
  std::string describe() const;
};

// Whether `newest` holds sharply fewer KV entries ("kv") or ACL objects (the sum of "acl-*")
// than `older`: the first of the two that does, with the counts; the keys are left empty. A
// kind that one of them does not record (a backup without ACLs, an old format) is not compared.
std::optional<ShrinkHold> find_shrink(const EntryCounts& newest, const EntryCounts& older);

// Reads the counts in the meta.json of the backup at a key of `storage`, decrypting with
// `encryption` (an unencrypted backup is read too: this decides nothing about trust). Nothing
// when they cannot be known: no key for an encrypted backup, a format without counts, an object
// that cannot be read (logged at debug level).
std::function<std::optional<EntryCounts>(const std::string& key)> meta_counts_reader(
    storage::Backend& storage, EncryptionSettings encryption, std::filesystem::path tmp_dir);

struct PruneOptions {
  bool dry_run = false;  // decide and report, remove nothing
  std::chrono::system_clock::time_point now = std::chrono::system_clock::now();
  // Keys kept whatever the policy, with the reason "protected": the daemon passes the backup it
  // has just written, which stays even if a replica with a fast clock wrote a "newer" one.
  std::vector<std::string> protect{};
  // The shrink guard's counts: `known_counts` first (the daemon passes those of the backups it
  // wrote), else `read_counts` (see meta_counts_reader); a backup whose counts are unknown is
  // not compared. With neither, the guard is off.
  std::map<std::string, EntryCounts> known_counts{};
  std::function<std::optional<EntryCounts>(const std::string& key)> read_counts{};
  // --confirm-shrink: remove what the policy does not keep even after a shrink.
  bool confirm_shrink = false;
};

struct PruneReport {
  std::string prefix;  // the listed prefix, with its trailing '/'
  std::vector<RetentionDecision> decisions;
  // Keys whose removal failed, each with the backend's error; the others were still removed.
  std::vector<std::pair<std::string, std::string>> failures;
  std::size_t kept = 0;
  std::size_t removed = 0;  // with dry_run: would be removed
  std::size_t not_backups = 0;
  std::size_t future_dated = 0;
  // Set when the shrink guard held retention: nothing was removed (the backups the policy would
  // have removed are kept, with the reason "held").
  std::optional<ShrinkHold> held;
  std::uint64_t bytes_kept = 0;
  std::uint64_t bytes_freed = 0;  // with dry_run: would be freed; failed removals not counted
  bool dry_run = false;
  bool ok() const { return failures.empty(); }
};

// Lists the objects under `key_prefix` ("backups" or "backups/"), applies `policy`, and removes
// the backups it does not keep (unless `options.dry_run`, or the shrink guard holds). Warns about
// each future-dated backup and about a hold. A failed removal is recorded in the report and the
// others go on; only a failed listing is an error. `policy` must not be empty.
Result<PruneReport> prune(storage::Backend& storage, std::string_view key_prefix,
                          const RetentionPolicy& policy, const PruneOptions& options = {});

}  // namespace csnap::ops
