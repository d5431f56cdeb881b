#include "ops/retention.hpp"

#include <algorithm>
#include <cassert>
#include <functional>

#include <fmt/format.h>

#include "ops/naming.hpp"
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
  }
  return "?";
}

std::string format_duration(std::chrono::seconds duration) {
  if (duration.count() == 0)
    return "0s";
  std::string out = duration.count() < 0 ? "-" : "";
  auto left = duration.count() < 0 ? -duration.count() : duration.count();
  for (auto [unit, suffix] :
       {std::pair<std::int64_t, char>{86400, 'd'}, {3600, 'h'}, {60, 'm'}, {1, 's'}}) {
    if (left >= unit) {
      out += fmt::format("{}{}", left / unit, suffix);
      left %= unit;
    }
  }
  return out;
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
    decision.action = RetentionAction::remove;
    backups.push_back(std::move(decision));
  }
  std::sort(backups.begin(), backups.end(), [](const auto& a, const auto& b) {
    return *a.time != *b.time ? *a.time > *b.time : a.key > b.key;
  });
  std::sort(others.begin(), others.end(),
            [](const auto& a, const auto& b) { return a.key < b.key; });

  if (!backups.empty()) {
    const std::int64_t newest = *backups.front().time;
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
        decision.reasons.push_back("newest");
      if (empty())
        decision.reasons.push_back("no retention policy");
      if (keep_last && static_cast<std::int64_t>(i) < *keep_last)
        decision.reasons.push_back(fmt::format("last {}", *keep_last));
      if (keep_within && newest - time < keep_within->count())
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
  backups.insert(backups.end(), std::make_move_iterator(others.begin()),
                 std::make_move_iterator(others.end()));
  return backups;
}

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
      decision.reasons.push_back("protected");
    }
  }

  for (const auto& decision : report.decisions) {
    if (decision.action == RetentionAction::keep) {
      ++report.kept;
      report.bytes_kept += decision.size;
    } else if (decision.action == RetentionAction::not_a_backup) {
      ++report.not_backups;
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
