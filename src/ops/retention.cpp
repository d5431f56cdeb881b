#include "ops/retention.hpp"

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <functional>

#include <fmt/format.h>

#include "archive/backup_reader.hpp"
#include "ops/naming.hpp"
#include "util/duration.hpp"
#include "util/log.hpp"

namespace csnap::ops {
namespace {

using namespace std::chrono;

struct Bucket {
  std::int64_t id = 0;  // equal ids: the same hour/day/week/month
  std::string label;
};

year_month_day civil_day(std::int64_t unix_time) {
  return year_month_day{floor<days>(sys_seconds{seconds{unix_time}})};
}

std::string day_label(const year_month_day& day) {
  return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(day.year()),
                     static_cast<unsigned>(day.month()), static_cast<unsigned>(day.day()));
}

Bucket hour_bucket(std::int64_t unix_time) {
  auto hour = floor<hours>(sys_seconds{seconds{unix_time}});
  auto day = floor<days>(hour);
  return {hour.time_since_epoch().count(),
          fmt::format("{} {:02}:00", day_label(year_month_day{day}), (hour - day).count())};
}

Bucket day_bucket(std::int64_t unix_time) {
  auto day = floor<days>(sys_seconds{seconds{unix_time}});
  return {day.time_since_epoch().count(), day_label(year_month_day{day})};
}

// ISO 8601: weeks start on Monday, and a week belongs to the year that holds its Thursday.
Bucket week_bucket(std::int64_t unix_time) {
  auto day = floor<days>(sys_seconds{seconds{unix_time}});
  auto weekday_number = static_cast<int>(weekday{day}.iso_encoding());  // Monday 1 .. Sunday 7
  sys_days thursday = day + days{4 - weekday_number};
  auto iso_year = year_month_day{thursday}.year();
  auto week = (thursday - sys_days{iso_year / January / 1}).count() / 7 + 1;
  return {static_cast<std::int64_t>(static_cast<int>(iso_year)) * 100 + week,
          fmt::format("{:04}-W{:02}", static_cast<int>(iso_year), week)};
}

Bucket month_bucket(std::int64_t unix_time) {
  auto day = civil_day(unix_time);
  auto year_number = static_cast<int>(day.year());
  auto month_number = static_cast<unsigned>(day.month());
  return {static_cast<std::int64_t>(year_number) * 12 + month_number - 1,
          fmt::format("{:04}-{:02}", year_number, month_number)};
}

struct CalendarRule {
  std::optional<std::int64_t> count;
  std::string_view name;
  Bucket (*bucket)(std::int64_t);
};

}  // namespace

std::string_view to_string(RetentionAction action) {
  switch (action) {
    case RetentionAction::keep:
      return "keep";
    case RetentionAction::remove:
      return "remove";
    case RetentionAction::not_a_backup:
      return "not a backup";
    case RetentionAction::future_dated:
      return "future-dated";
  }
  return "?";
}

bool RetentionPolicy::empty() const {
  return !keep_last && !keep_within && !keep_hourly && !keep_daily && !keep_weekly && !keep_monthly;
}

std::string RetentionPolicy::describe() const {
  std::vector<std::string> parts;
  auto add = [&](std::string_view name, const std::optional<std::int64_t>& count) {
    if (count)
      parts.push_back(fmt::format("{} {}", name, *count));
  };
  add("keep-last", keep_last);
  if (keep_within)
    parts.push_back("keep-within " + format_duration(*keep_within));
  add("keep-hourly", keep_hourly);
  add("keep-daily", keep_daily);
  add("keep-weekly", keep_weekly);
  add("keep-monthly", keep_monthly);
  if (parts.empty())
    return "no policy (keep everything)";
  return fmt::format("{}", fmt::join(parts, ", "));
}

std::vector<RetentionDecision> RetentionPolicy::select(std::span<const storage::ObjectInfo> objects,
                                                       system_clock::time_point now) const {
  const auto now_unix = duration_cast<seconds>(now.time_since_epoch()).count();
  std::vector<RetentionDecision> backups;
  std::vector<RetentionDecision> future;
  std::vector<RetentionDecision> others;
  for (const auto& object : objects) {
    RetentionDecision decision;
    decision.key = object.key;
    decision.size = object.size;
    decision.time = backup_time_from_key(object.key);
    if (!decision.time) {
      decision.action = RetentionAction::not_a_backup;
      others.push_back(std::move(decision));
      continue;
    }
    decision.age = seconds{now_unix - *decision.time};
    if (dated_in_future(*decision.time, now)) {
      decision.action = RetentionAction::future_dated;
      future.push_back(std::move(decision));
      continue;
    }
    decision.action = RetentionAction::remove;
    backups.push_back(std::move(decision));
  }
  auto sort_key = [](const RetentionDecision& decision) {
    return BackupSortKey{*decision.time, decision.key};
  };
  sort_newest_first(backups, sort_key);
  sort_newest_first(future, sort_key);
  std::sort(others.begin(), others.end(),
            [](const auto& a, const auto& b) { return a.key < b.key; });

  if (!backups.empty()) {
    CalendarRule rules[] = {{keep_hourly, "hourly", hour_bucket},
                            {keep_daily, "daily", day_bucket},
                            {keep_weekly, "weekly", week_bucket},
                            {keep_monthly, "monthly", month_bucket}};
    std::optional<std::int64_t> last_bucket[std::size(rules)];
    std::int64_t left[std::size(rules)];
    for (std::size_t r = 0; r < std::size(rules); ++r)
      left[r] = rules[r].count.value_or(0);

    for (std::size_t i = 0; i < backups.size(); ++i) {
      auto& decision = backups[i];
      const std::int64_t time = *decision.time;
      if (i == 0)
        decision.reasons.emplace_back("newest");
      if (empty())
        decision.reasons.emplace_back("no retention policy");
      if (keep_last && static_cast<std::int64_t>(i) < *keep_last)
        decision.reasons.push_back(fmt::format("last {}", *keep_last));
      if (keep_within && now_unix - time < keep_within->count())
        decision.reasons.push_back("within " + format_duration(*keep_within));
      // Newest first, so the first backup met in a bucket is that bucket's newest.
      for (std::size_t r = 0; r < std::size(rules); ++r) {
        if (left[r] <= 0)
          continue;
        auto bucket = rules[r].bucket(time);
        if (last_bucket[r] == bucket.id)
          continue;
        last_bucket[r] = bucket.id;
        --left[r];
        decision.reasons.push_back(fmt::format("{} {}", rules[r].name, bucket.label));
      }
      if (!decision.reasons.empty())
        decision.action = RetentionAction::keep;
    }
    assert(backups.front().action == RetentionAction::keep);
  }
  for (auto* group : {&future, &others}) {
    backups.insert(backups.end(), std::make_move_iterator(group->begin()),
                   std::make_move_iterator(group->end()));
  }
  return backups;
}

std::string ShrinkHold::describe() const {
  return fmt::format(
      "the newest backup {} holds {} {}, but {}, which the policy would remove, holds {}: the "
      "cluster may have been wiped or restored from the wrong backup, so no backup is removed. "
      "Check the cluster; if it is meant to hold less now, run `consul-snapshot prune "
      "--confirm-shrink` with the same retention options (or set "
      "CONSUL_SNAPSHOT_CONFIRM_SHRINK=true)",
      newest_key, newest_count, what, older_key, older_count);
}

std::optional<ShrinkHold> find_shrink(const EntryCounts& newest, const EntryCounts& older) {
  // Below before / kShrinkDivisor, rounded up so that no multiplication can overflow a count
  // read from an untrusted meta.json.
  auto sharply_fewer = [](std::uint64_t now_count, std::uint64_t before) {
    return now_count < before / kShrinkDivisor + (before % kShrinkDivisor == 0 ? 0 : 1) &&
           before - now_count >= kShrinkMinimumDrop;
  };
  // The sum of the "acl-*" counts, if any is recorded.
  auto acl_objects = [](const EntryCounts& counts) -> std::optional<std::uint64_t> {
    std::optional<std::uint64_t> total;
    for (auto it = counts.lower_bound("acl-"); it != counts.end() && it->first.starts_with("acl-");
         ++it) {
      auto sum = total.value_or(0);
      total = it->second > UINT64_MAX - sum ? UINT64_MAX : sum + it->second;  // no wrap-around
    }
    return total;
  };
  auto kv_newest = newest.find("kv");
  auto kv_older = older.find("kv");
  if (kv_newest != newest.end() && kv_older != older.end() &&
      sharply_fewer(kv_newest->second, kv_older->second)) {
    return ShrinkHold{"KV entries", "", kv_newest->second, "", kv_older->second};
  }
  auto acl_newest = acl_objects(newest);
  auto acl_older = acl_objects(older);
  if (acl_newest && acl_older && sharply_fewer(*acl_newest, *acl_older))
    return ShrinkHold{"ACL objects", "", *acl_newest, "", *acl_older};
  return std::nullopt;
}

std::function<std::optional<EntryCounts>(const std::string& key)> meta_counts_reader(
    storage::Backend& storage, EncryptionSettings encryption, std::filesystem::path tmp_dir) {
  encryption.allow_unencrypted = true;
  return [&storage, encryption = std::move(encryption),
          tmp_dir = std::move(tmp_dir)](const std::string& key) -> std::optional<EntryCounts> {
    auto read = [&]() -> Result<archive::Meta> {
      CSNAP_ASSIGN_OR_RETURN(auto source, storage.get(key));
      CSNAP_ASSIGN_OR_RETURN(auto plaintext, PlaintextSource::open(*source, encryption, tmp_dir));
      return archive::BackupReader::read_meta(*plaintext);
    };
    auto meta = read();
    if (!meta.ok()) {
      log::debug("Retention: the entry counts of {} are unknown: {}", key, meta.error().message());
      return std::nullopt;
    }
    if (meta->counts.empty())
      return std::nullopt;
    return std::move(meta->counts);
  };
}

namespace {

// The shrink guard over `decisions` (newest first): the newest backup against each backup the
// policy would remove, newest of those first; the first sharp shrink holds.
std::optional<ShrinkHold> check_shrink(const std::vector<RetentionDecision>& decisions,
                                       const PruneOptions& options) {
  auto counts_of = [&](const std::string& key) -> std::optional<EntryCounts> {
    if (auto known = options.known_counts.find(key); known != options.known_counts.end())
      return known->second;
    if (options.read_counts)
      return options.read_counts(key);
    return std::nullopt;
  };
  if (decisions.empty() || decisions.front().action != RetentionAction::keep)
    return std::nullopt;
  bool removes = std::any_of(decisions.begin(), decisions.end(), [](const auto& decision) {
    return decision.action == RetentionAction::remove;
  });
  if (!removes)
    return std::nullopt;
  const auto& newest_key = decisions.front().key;
  auto newest = counts_of(newest_key);
  if (!newest) {
    log::debug(
        "Retention: the entry counts of the newest backup {} are unknown, so a shrink "
        "cannot be detected",
        newest_key);
    return std::nullopt;
  }
  for (const auto& decision : decisions) {
    if (decision.action != RetentionAction::remove)
      continue;
    auto older = counts_of(decision.key);
    if (!older)
      continue;
    if (auto hold = find_shrink(*newest, *older)) {
      hold->newest_key = newest_key;
      hold->older_key = decision.key;
      return hold;
    }
  }
  return std::nullopt;
}

}  // namespace

Result<PruneReport> prune(storage::Backend& storage, std::string_view key_prefix,
                          const RetentionPolicy& policy, const PruneOptions& options) {
  if (policy.empty()) {
    return Error(ErrorKind::invalid_argument,
                 "no retention policy: set at least one of --keep-last, --keep-within, "
                 "--keep-hourly, --keep-daily, --keep-weekly, --keep-monthly");
  }
  PruneReport report;
  report.dry_run = options.dry_run;
  while (key_prefix.ends_with('/'))
    key_prefix.remove_suffix(1);
  report.prefix = key_prefix.empty() ? "" : std::string(key_prefix) + "/";
  auto objects = storage.list(report.prefix);
  if (!objects.ok()) {
    return std::move(objects).error().add_context(
        fmt::format("listing the backups under '{}' in {}", report.prefix, storage.describe()));
  }
  report.decisions = policy.select(*objects, options.now);
  for (auto& decision : report.decisions) {
    if (decision.action == RetentionAction::remove &&
        std::find(options.protect.begin(), options.protect.end(), decision.key) !=
            options.protect.end()) {
      decision.action = RetentionAction::keep;
      decision.reasons.emplace_back("protected");
    }
  }
  if (!options.confirm_shrink && (report.held = check_shrink(report.decisions, options))) {
    log::warn("Retention held: {}", report.held->describe());
    for (auto& decision : report.decisions) {
      if (decision.action == RetentionAction::remove) {
        decision.action = RetentionAction::keep;
        decision.reasons.emplace_back("held: the newest backup holds far fewer entries");
      }
    }
  }

  for (const auto& decision : report.decisions) {
    if (decision.action == RetentionAction::keep) {
      ++report.kept;
      report.bytes_kept += decision.size;
    } else if (decision.action == RetentionAction::not_a_backup) {
      ++report.not_backups;
    } else if (decision.action == RetentionAction::future_dated) {
      ++report.future_dated;
      log::warn(
          "Retention ignores {}: its name dates it {}s ahead of this machine's clock (more "
          "than {}s); a wrong clock or someone who can write to the storage put it there. "
          "It is neither counted nor removed; remove it by hand if it is not yours",
          decision.key, -decision.age.count(), kMaxFutureSkew.count());
    }
  }
  // Oldest first: an interrupted prune leaves the newer of the backups it meant to remove.
  for (auto it = report.decisions.rbegin(); it != report.decisions.rend(); ++it) {
    if (it->action != RetentionAction::remove)
      continue;
    if (options.dry_run) {
      ++report.removed;
      report.bytes_freed += it->size;
      continue;
    }
    if (auto status = storage.remove(it->key); !status.ok()) {
      log::warn("Could not remove old backup {}: {}", it->key, status.error().message());
      report.failures.emplace_back(it->key, status.error().message());
      continue;
    }
    log::info("Removed old backup {} (retention: {})", it->key, policy.describe());
    ++report.removed;
    report.bytes_freed += it->size;
  }
  return report;
}

}  // namespace csnap::ops
