// The retention policy, table by table: which backups each rule keeps across hour, day, ISO week
// and month boundaries, and why; and `prune` applying it to a backend.

#include "ops/retention.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <iomanip>
#include <map>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include "captured_log.hpp"
#include "ops/naming.hpp"
#include "util/duration.hpp"

namespace csnap::ops {
namespace {

using namespace std::chrono;

// "2026-12-31 23:59:59" (UTC) as Unix time.
std::int64_t unix_at(const std::string& text) {
  std::tm parts{};
  std::istringstream in(text);
  in >> std::get_time(&parts, "%Y-%m-%d %H:%M:%S");
  if (in.fail()) {
    ADD_FAILURE() << "bad time in test: " << text;
    return 0;
  }
  sys_seconds time =
      sys_days{year{parts.tm_year + 1900} / month{static_cast<unsigned>(parts.tm_mon + 1)} /
               day{static_cast<unsigned>(parts.tm_mday)}} +
      hours{parts.tm_hour} + minutes{parts.tm_min} + seconds{parts.tm_sec};
  return time.time_since_epoch().count();
}

std::string text_at(std::int64_t unix_time) {
  sys_seconds time{seconds{unix_time}};
  auto day = floor<days>(time);
  year_month_day ymd{day};
  hh_mm_ss clock{time - day};
  char out[32];
  std::snprintf(out, sizeof out, "%04d-%02u-%02u %02d:%02d:%02d", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(clock.hours().count()), static_cast<int>(clock.minutes().count()),
                static_cast<int>(clock.seconds().count()));
  return out;
}

std::vector<storage::ObjectInfo> backups_at(const std::vector<std::string>& times) {
  std::vector<storage::ObjectInfo> objects;
  objects.reserve(times.size());
  for (const auto& time : times)
    objects.push_back({backup_key("backups", "host", unix_at(time), ".tar.zst"), 100, 0});
  return objects;
}

// The times of the kept backups, newest first.
std::vector<std::string> kept(const std::vector<RetentionDecision>& decisions) {
  std::vector<std::string> out;
  for (const auto& decision : decisions) {
    if (decision.action == RetentionAction::keep)
      out.push_back(text_at(*decision.time));
  }
  return out;
}

std::map<std::string, std::vector<std::string>> reasons_by_time(
    const std::vector<RetentionDecision>& decisions) {
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& decision : decisions) {
    if (decision.time)
      out[text_at(*decision.time)] = decision.reasons;
  }
  return out;
}

const auto kNow = sys_days{year{2030} / 1 / 1};

struct Case {
  std::string name;
  RetentionPolicy policy;
  std::vector<std::string> backups;  // any order
  std::vector<std::string> kept;     // newest first
  std::string now{};                 // empty: kNow
};

void PrintTo(const Case& c, std::ostream* out) {
  *out << c.name;
}

class CalendarRules : public ::testing::TestWithParam<Case> {};

TEST_P(CalendarRules, KeepExactlyTheExpectedBackups) {
  const Case& c = GetParam();
  auto objects = backups_at(c.backups);
  auto now = c.now.empty() ? sys_seconds{kNow} : sys_seconds{seconds{unix_at(c.now)}};
  auto decisions = c.policy.select(objects, now);
  ASSERT_EQ(decisions.size(), c.backups.size());
  EXPECT_EQ(kept(decisions), c.kept) << c.policy.describe();
  // Every decision is newest first; every backup is either kept with a reason or removed with
  // none; the newest is always kept.
  for (std::size_t i = 1; i < decisions.size(); ++i)
    EXPECT_GE(*decisions[i - 1].time, *decisions[i].time);
  for (const auto& decision : decisions) {
    EXPECT_EQ(decision.action == RetentionAction::keep, !decision.reasons.empty()) << decision.key;
    EXPECT_NE(decision.action, RetentionAction::not_a_backup) << decision.key;
  }
  EXPECT_EQ(decisions.front().action, RetentionAction::keep);
  EXPECT_EQ(decisions.front().reasons.front(), "newest");
}

// A function, not a constant: a namespace-scope table of strings could throw before main.
std::vector<Case> calendar_cases() {
  // clang-format off
  return {
    {"HourlyBoundaries", {.keep_hourly = 2},
     {"2026-11-27 10:00:00", "2026-11-27 10:59:59", "2026-11-27 11:00:00", "2026-11-27 11:30:00",
      "2026-11-27 12:00:01"},
     {"2026-11-27 12:00:01", "2026-11-27 11:30:00"}},
    {"HourlyThreeReachesTheEarlierHour", {.keep_hourly = 3},
     {"2026-11-27 10:00:00", "2026-11-27 10:59:59", "2026-11-27 11:00:00", "2026-11-27 11:30:00",
      "2026-11-27 12:00:01"},
     {"2026-11-27 12:00:01", "2026-11-27 11:30:00", "2026-11-27 10:59:59"}},
    {"HourlyCountsHoursWithABackupNotClockHours", {.keep_hourly = 2},
     {"2026-11-27 01:10:00", "2026-11-25 07:00:00", "2026-11-25 07:20:00", "2026-11-20 23:00:00"},
     {"2026-11-27 01:10:00", "2026-11-25 07:20:00"}},
    {"DailyMidnight", {.keep_daily = 2},
     {"2026-11-26 23:59:59", "2026-11-27 00:00:00", "2026-11-27 12:00:00", "2026-11-28 00:00:01"},
     {"2026-11-28 00:00:01", "2026-11-27 12:00:00"}},
    {"DailyThree", {.keep_daily = 3},
     {"2026-11-26 23:59:59", "2026-11-27 00:00:00", "2026-11-27 12:00:00", "2026-11-28 00:00:01"},
     {"2026-11-28 00:00:01", "2026-11-27 12:00:00", "2026-11-26 23:59:59"}},
    {"DailyAcrossAGapOfDays", {.keep_daily = 2},
     {"2026-10-01 08:00:00", "2026-11-15 09:00:00", "2026-11-15 10:00:00"},
     {"2026-11-15 10:00:00", "2026-10-01 08:00:00"}},
    // 2026-12-28 (Mon) to 2027-01-03 (Sun) is ISO week 2026-W53; 2027-01-04 (Mon) starts 2027-W01.
    {"WeeklyAcrossTheYearBoundary", {.keep_weekly = 3},
     {"2026-12-27 12:00:00", "2026-12-28 00:00:00", "2026-12-31 12:00:00", "2027-01-01 12:00:00",
      "2027-01-03 23:59:59", "2027-01-04 00:00:00"},
     {"2027-01-04 00:00:00", "2027-01-03 23:59:59", "2026-12-27 12:00:00"}},
    {"WeeklyNewYearIsNotANewWeek", {.keep_weekly = 2},
     {"2026-12-31 12:00:00", "2027-01-01 12:00:00", "2026-12-20 12:00:00"},
     {"2027-01-01 12:00:00", "2026-12-20 12:00:00"}},
    {"WeeklyMondayStartsAWeek", {.keep_weekly = 2},
     {"2026-11-22 23:59:59", "2026-11-23 00:00:00", "2026-11-16 00:00:00"},
     {"2026-11-23 00:00:00", "2026-11-22 23:59:59"}},
    {"MonthlyMonthsOfDifferentLength", {.keep_monthly = 2},
     {"2027-01-31 23:59:59", "2027-02-01 00:00:00", "2027-02-28 23:59:59", "2027-03-01 00:00:00"},
     {"2027-03-01 00:00:00", "2027-02-28 23:59:59"}},
    {"MonthlyThree", {.keep_monthly = 3},
     {"2027-01-31 23:59:59", "2027-02-01 00:00:00", "2027-02-28 23:59:59", "2027-03-01 00:00:00"},
     {"2027-03-01 00:00:00", "2027-02-28 23:59:59", "2027-01-31 23:59:59"}},
    {"MonthlyLeapDay", {.keep_monthly = 2},
     {"2028-02-28 12:00:00", "2028-02-29 23:59:59", "2028-03-01 00:00:00", "2028-03-31 00:00:00"},
     {"2028-03-31 00:00:00", "2028-02-29 23:59:59"}},
    {"MonthlyAcrossTheYear", {.keep_monthly = 2},
     {"2026-12-31 23:59:59", "2027-01-01 00:00:00", "2026-12-01 00:00:00"},
     {"2027-01-01 00:00:00", "2026-12-31 23:59:59"}},
    {"SeveralInOneBucketKeepTheNewest", {.keep_daily = 1},
     {"2026-11-27 00:00:00", "2026-11-27 06:00:00", "2026-11-27 23:59:59", "2026-11-27 12:00:00"},
     {"2026-11-27 23:59:59"}},
    {"MoreBucketsThanBackups", {.keep_daily = 30},
     {"2026-11-25 01:00:00", "2026-11-25 02:00:00", "2026-11-26 01:00:00", "2026-11-26 02:00:00",
      "2026-11-27 01:00:00", "2026-11-27 02:00:00"},
     {"2026-11-27 02:00:00", "2026-11-26 02:00:00", "2026-11-25 02:00:00"}},
    {"KeepLast", {.keep_last = 3},
     {"2026-11-27 01:00:00", "2026-11-27 02:00:00", "2026-11-27 03:00:00", "2026-11-27 04:00:00",
      "2026-11-27 05:00:00"},
     {"2026-11-27 05:00:00", "2026-11-27 04:00:00", "2026-11-27 03:00:00"}},
    {"KeepLastMoreThanThereAre", {.keep_last = 10},
     {"2026-11-27 01:00:00", "2026-11-27 02:00:00"},
     {"2026-11-27 02:00:00", "2026-11-27 01:00:00"}},
    // Younger than 1 day, counted from now: exactly one day older is not kept.
    {"KeepWithin", {.keep_within = hours{24}},
     {"2026-11-26 11:59:59", "2026-11-26 12:00:00", "2026-11-26 12:00:01", "2026-11-27 12:00:00"},
     {"2026-11-27 12:00:00", "2026-11-26 12:00:01"}, "2026-11-27 12:00:00"},
    // Counted from the newest backup, 00:00 would be kept (30 minutes older than it); from now it
    // is 70 minutes old. Only the newest stays, as always.
    {"KeepWithinCountsFromNowNotFromTheNewest", {.keep_within = hours{1}},
     {"2020-01-01 00:00:00", "2020-01-01 00:30:00", "2019-12-31 22:59:59"},
     {"2020-01-01 00:30:00"}, "2020-01-01 01:10:00"},
    {"KeepWithinLongAfterTheLastBackupKeepsTheNewest", {.keep_within = days{7}},
     {"2026-11-27 12:00:00", "2026-11-26 12:00:00"},
     {"2026-11-27 12:00:00"}},
    {"Combined", {.keep_last = 2, .keep_daily = 3, .keep_monthly = 2},
     {"2026-10-15 12:00:00", "2026-10-31 23:00:00", "2026-11-01 01:00:00", "2026-11-25 12:00:00",
      "2026-11-26 08:00:00", "2026-11-26 20:00:00", "2026-11-27 06:00:00", "2026-11-27 07:00:00"},
     {"2026-11-27 07:00:00", "2026-11-27 06:00:00", "2026-11-26 20:00:00", "2026-11-25 12:00:00",
      "2026-10-31 23:00:00"}},
    {"CombinedWithinAndWeekly", {.keep_within = hours{2}, .keep_weekly = 2},
     {"2026-11-27 10:00:00", "2026-11-27 09:00:00", "2026-11-27 08:00:00", "2026-11-23 08:00:00",
      "2026-11-22 08:00:00", "2026-11-15 08:00:00"},
     {"2026-11-27 10:00:00", "2026-11-27 09:00:00", "2026-11-22 08:00:00"}, "2026-11-27 10:00:00"},
    // Whatever the policy, the newest stays: here it is also the only one in its bucket.
    {"NewestAlwaysKept", {.keep_weekly = 1},
     {"2026-11-27 10:00:00", "2026-11-27 09:00:00"},
     {"2026-11-27 10:00:00"}},
    {"OneBackup", {.keep_last = 1}, {"2026-11-27 10:00:00"}, {"2026-11-27 10:00:00"}},
  };
  // clang-format on
}

INSTANTIATE_TEST_SUITE_P(Retention, CalendarRules, ::testing::ValuesIn(calendar_cases()),
                         [](const auto& test_case) { return test_case.param.name; });

TEST(RetentionPolicy, ReasonsNameTheRuleAndTheBucket) {
  RetentionPolicy policy{.keep_last = 1,
                         .keep_within = hours{36},
                         .keep_hourly = 1,
                         .keep_daily = 2,
                         .keep_weekly = 3,
                         .keep_monthly = 2};
  auto objects = backups_at({"2027-01-04 09:15:00", "2027-01-03 22:00:00", "2026-12-30 10:00:00"});
  auto reasons =
      reasons_by_time(policy.select(objects, sys_seconds{seconds{unix_at("2027-01-04 09:15:00")}}));
  EXPECT_EQ(reasons["2027-01-04 09:15:00"],
            (std::vector<std::string>{"newest", "last 1", "within 1d12h", "hourly 2027-01-04 09:00",
                                      "daily 2027-01-04", "weekly 2027-W01", "monthly 2027-01"}));
  EXPECT_EQ(reasons["2027-01-03 22:00:00"],
            (std::vector<std::string>{"within 1d12h", "daily 2027-01-03", "weekly 2026-W53"}));
  // Its week is taken by the newer backup above; its month is not.
  EXPECT_EQ(reasons["2026-12-30 10:00:00"], (std::vector<std::string>{"monthly 2026-12"}));
}

TEST(RetentionPolicy, IsoWeekLabels) {
  const std::pair<std::string, std::string> cases[] = {
      {"2024-12-30 00:00:00", "weekly 2025-W01"},  // a Monday in December, week 1 of 2025
      {"2021-01-03 23:59:59", "weekly 2020-W53"},  // a Sunday in January, last week of 2020
      {"2026-01-01 00:00:00", "weekly 2026-W01"},  // a Thursday
      {"2027-01-01 00:00:00", "weekly 2026-W53"},  // a Friday
      {"2027-01-04 00:00:00", "weekly 2027-W01"},
  };
  for (const auto& [time, label] : cases) {
    RetentionPolicy policy{.keep_weekly = 1};
    auto decisions = policy.select(backups_at({time}), kNow);
    ASSERT_EQ(decisions.size(), 1u);
    EXPECT_EQ(decisions[0].reasons, (std::vector<std::string>{"newest", label})) << time;
  }
}

TEST(RetentionPolicy, KeysThatAreNotBackupsAreLeftAloneAndListedLast) {
  RetentionPolicy policy{.keep_last = 1};
  auto objects = backups_at({"2026-11-27 10:00:00", "2026-11-27 09:00:00"});
  objects.push_back({"backups/README.txt", 5, 0});
  objects.push_back({"backups/2026/11/27/host.consul.snapshot.soon.tar.zst", 7, 0});
  objects.push_back({"backups/2026/11/27/.partial", 9, 0});
  auto decisions = policy.select(objects, kNow);
  ASSERT_EQ(decisions.size(), 5u);
  EXPECT_EQ(decisions[0].action, RetentionAction::keep);
  EXPECT_EQ(decisions[1].action, RetentionAction::remove);
  std::vector<std::string> left_alone;
  for (std::size_t i = 2; i < decisions.size(); ++i) {
    EXPECT_EQ(decisions[i].action, RetentionAction::not_a_backup);
    EXPECT_FALSE(decisions[i].time.has_value());
    EXPECT_TRUE(decisions[i].reasons.empty());
    left_alone.push_back(decisions[i].key);
  }
  EXPECT_EQ(left_alone,
            (std::vector<std::string>{"backups/2026/11/27/.partial",
                                      "backups/2026/11/27/host.consul.snapshot.soon.tar.zst",
                                      "backups/README.txt"}));
}

// Someone who can write to the bucket uploads a backup named for 2099. Counted from it, every
// real backup would be outside --keep-within and would go, and it would be "the newest" kept.
TEST(RetentionPolicy, AFutureDatedBackupIsNeitherCountedNorRemoved) {
  const auto now = sys_seconds{seconds{unix_at("2026-11-27 12:30:00")}};
  auto objects = backups_at(
      {"2026-11-27 12:00:00", "2026-11-27 11:00:00", "2026-11-20 11:00:00", "2099-01-01 00:00:00"});
  auto planted = objects.back().key;
  RetentionPolicy within{.keep_within = days{7}};
  auto decisions = within.select(objects, now);
  EXPECT_EQ(kept(decisions),
            (std::vector<std::string>{"2026-11-27 12:00:00", "2026-11-27 11:00:00"}));
  for (const auto& decision : decisions) {
    if (decision.key == planted) {
      EXPECT_NE(decision.action, RetentionAction::keep) << "the planted backup counts";
      EXPECT_NE(decision.action, RetentionAction::remove);
    }
  }
  ASSERT_EQ(decisions.size(), 4u);
  EXPECT_EQ(decisions.front().reasons.front(), "newest");
  EXPECT_EQ(decisions[3].key, planted);
  EXPECT_EQ(decisions[3].action, RetentionAction::future_dated);

  // keep-last counts real backups only.
  RetentionPolicy last{.keep_last = 1};
  EXPECT_EQ(kept(last.select(objects, now)), (std::vector<std::string>{"2026-11-27 12:00:00"}));
}

TEST(RetentionPolicy, AClockALittleAheadStillCounts) {
  const auto now = sys_seconds{seconds{unix_at("2026-11-27 12:00:00")}};
  auto objects = backups_at({"2026-11-27 12:05:00", "2026-11-27 12:05:01", "2026-11-27 11:00:00"});
  auto decisions = RetentionPolicy{.keep_last = 5}.select(objects, now);
  EXPECT_EQ(kept(decisions),
            (std::vector<std::string>{"2026-11-27 12:05:00", "2026-11-27 11:00:00"}));
  EXPECT_EQ(decisions.back().action, RetentionAction::future_dated);
  EXPECT_EQ(text_at(*decisions.back().time), "2026-11-27 12:05:01");
}

// A checksum file beside each backup: never a backup, so never counted or removed.
TEST(RetentionPolicy, NeighboursOfBackupsAreNotBackups) {
  auto objects = backups_at({"2026-11-27 12:00:00", "2026-11-27 11:00:00", "2026-11-27 10:00:00"});
  auto count = objects.size();
  for (std::size_t i = 0; i < count; ++i)
    objects.push_back({objects[i].key + ".sha256", 64, 0});
  auto decisions = RetentionPolicy{.keep_last = 2}.select(objects, kNow);
  ASSERT_EQ(decisions.size(), 6u);
  std::size_t removed = 0;
  for (const auto& decision : decisions) {
    EXPECT_EQ(decision.key.ends_with(".sha256"), decision.action == RetentionAction::not_a_backup)
        << decision.key;
    removed += decision.action == RetentionAction::remove ? 1 : 0;
  }
  EXPECT_EQ(removed, 1u);
  EXPECT_EQ(kept(decisions),
            (std::vector<std::string>{"2026-11-27 12:00:00", "2026-11-27 11:00:00"}));
}

TEST(RetentionPolicy, OrderIsNewestFirstWithTiesByKey) {
  RetentionPolicy policy{.keep_last = 2};
  auto time = unix_at("2026-11-27 10:00:00");
  std::vector<storage::ObjectInfo> objects = {
      {backup_key("backups", "a-host", time, ".tar.zst"), 1, 0},
      {backup_key("backups", "c-host", time, ".tar.zst"), 1, 0},
      {backup_key("backups", "b-host", time, ".tar.zst"), 1, 0},
      {backup_key("backups", "z-host", time - 60, ".tar.zst.age"), 1, 0},
      {"backups/consul.backup.1468004512.gz", 1, 0},  // the original tool's v0.1 name
  };
  auto decisions = policy.select(objects, kNow);
  std::vector<std::string> order;
  order.reserve(decisions.size());
  for (const auto& decision : decisions)
    order.push_back(decision.key + " " + std::string(to_string(decision.action)));
  EXPECT_EQ(order, (std::vector<std::string>{objects[1].key + " keep", objects[2].key + " keep",
                                             objects[0].key + " remove", objects[3].key + " remove",
                                             "backups/consul.backup.1468004512.gz remove"}));
}

TEST(RetentionPolicy, EmptyPolicyKeepsEverything) {
  RetentionPolicy policy;
  EXPECT_TRUE(policy.empty());
  auto decisions = policy.select(backups_at({"2026-11-27 10:00:00", "2020-01-01 00:00:00"}), kNow);
  EXPECT_EQ(kept(decisions).size(), 2u);
}

TEST(RetentionPolicy, AgeIsRelativeToNow) {
  RetentionPolicy policy{.keep_last = 1};
  auto decisions = policy.select(backups_at({"2026-11-27 10:00:00"}),
                                 sys_days{year{2026} / 11 / 28} + hours{12});
  ASSERT_EQ(decisions.size(), 1u);
  EXPECT_EQ(decisions[0].age, hours{26});
}

TEST(RetentionPolicy, Describe) {
  EXPECT_EQ(
      (RetentionPolicy{.keep_last = 3, .keep_within = hours{24 * 7}, .keep_monthly = 6}).describe(),
      "keep-last 3, keep-within 7d, keep-monthly 6");
  EXPECT_EQ(format_duration(seconds{5400}), "1h30m");
  EXPECT_EQ(format_duration(seconds{90061}), "1d1h1m1s");
  EXPECT_EQ(format_duration(seconds{0}), "0s");
}

// An in-memory backend whose removals of chosen keys fail.
class MemoryBackend final : public storage::Backend {
 public:
  std::map<std::string, std::uint64_t> objects;
  std::set<std::string> failing;
  std::vector<std::string> listed_prefixes;

  std::string describe() const override { return "memory://test"; }
  Result<std::unique_ptr<storage::Upload>> put(std::string_view) override {
    return Error(ErrorKind::internal, "not used");
  }
  Result<std::unique_ptr<ByteSource>> get(std::string_view) override {
    return Error(ErrorKind::internal, "not used");
  }
  Result<storage::ObjectInfo> stat(std::string_view) override {
    return Error(ErrorKind::internal, "not used");
  }
  Result<std::vector<storage::ObjectInfo>> list(std::string_view prefix) override {
    listed_prefixes.emplace_back(prefix);
    std::vector<storage::ObjectInfo> out;
    for (const auto& [key, size] : objects) {
      if (key.starts_with(prefix))
        out.push_back({key, size, 0});
    }
    return out;
  }
  Status remove(std::string_view key) override {
    if (failing.contains(std::string(key)))
      return Error(ErrorKind::permission_denied, "403 AccessDenied");
    if (objects.erase(std::string(key)) == 0)
      return Error(ErrorKind::not_found, "no such key");
    return {};
  }
};

MemoryBackend five_backups() {
  MemoryBackend backend;
  for (int hour = 1; hour <= 5; ++hour) {
    auto time = unix_at("2026-11-27 0" + std::to_string(hour) + ":00:00");
    backend.objects[backup_key("backups", "host", time, ".tar.zst")] =
        static_cast<std::uint64_t>(hour) * 1000;
  }
  backend.objects["backups/notes.txt"] = 3;
  backend.objects["other/2026/11/27/host.consul.snapshot.1.tar.zst"] = 4;  // another prefix
  return backend;
}

TEST(Prune, RemovesWhatThePolicyDoesNotKeep) {
  auto backend = five_backups();
  auto report = prune(backend, "backups", {.keep_last = 2}, {.now = kNow});
  ASSERT_TRUE(report.ok()) << report.error().message();
  EXPECT_EQ(backend.listed_prefixes, (std::vector<std::string>{"backups/"}));
  EXPECT_EQ(report->prefix, "backups/");
  EXPECT_EQ(report->kept, 2u);
  EXPECT_EQ(report->removed, 3u);
  EXPECT_EQ(report->not_backups, 1u);
  EXPECT_EQ(report->bytes_freed, 1000u + 2000u + 3000u);
  EXPECT_EQ(report->bytes_kept, 4000u + 5000u);
  EXPECT_TRUE(report->ok());
  std::vector<std::string> left;
  for (const auto& [key, size] : backend.objects)
    left.push_back(key);
  EXPECT_EQ(left, (std::vector<std::string>{
                      backup_key("backups", "host", unix_at("2026-11-27 04:00:00"), ".tar.zst"),
                      backup_key("backups", "host", unix_at("2026-11-27 05:00:00"), ".tar.zst"),
                      "backups/notes.txt", "other/2026/11/27/host.consul.snapshot.1.tar.zst"}));
}

TEST(Prune, DryRunRemovesNothing) {
  auto backend = five_backups();
  auto before = backend.objects;
  auto report = prune(backend, "backups/", {.keep_last = 2}, {.dry_run = true, .now = kNow});
  ASSERT_TRUE(report.ok()) << report.error().message();
  EXPECT_TRUE(report->dry_run);
  EXPECT_EQ(report->removed, 3u);
  EXPECT_EQ(report->bytes_freed, 6000u);
  EXPECT_EQ(backend.objects, before);
}

TEST(Prune, AFailedRemovalIsReportedAndTheOthersGoOn) {
  auto backend = five_backups();
  auto failing = backup_key("backups", "host", unix_at("2026-11-27 02:00:00"), ".tar.zst");
  backend.failing.insert(failing);
  auto report = prune(backend, "backups", {.keep_last = 2}, {.now = kNow});
  ASSERT_TRUE(report.ok()) << report.error().message();
  EXPECT_FALSE(report->ok());
  ASSERT_EQ(report->failures.size(), 1u);
  EXPECT_EQ(report->failures[0].first, failing);
  EXPECT_NE(report->failures[0].second.find("403 AccessDenied"), std::string::npos);
  EXPECT_EQ(report->removed, 2u);
  EXPECT_EQ(report->bytes_freed, 1000u + 3000u);
  EXPECT_EQ(backend.objects.size(), 2u + 1u + 2u);  // kept, failed, notes.txt, other/
  EXPECT_TRUE(backend.objects.contains(failing));
}

TEST(Prune, ProtectedKeysStayWhateverThePolicy) {
  auto backend = five_backups();
  auto oldest = backup_key("backups", "host", unix_at("2026-11-27 01:00:00"), ".tar.zst");
  auto report = prune(backend, "backups", {.keep_last = 1}, {.now = kNow, .protect = {oldest}});
  ASSERT_TRUE(report.ok()) << report.error().message();
  EXPECT_EQ(report->kept, 2u);
  EXPECT_EQ(report->removed, 3u);
  EXPECT_TRUE(backend.objects.contains(oldest));
  EXPECT_EQ(report->decisions[4].key, oldest);
  EXPECT_EQ(report->decisions[4].reasons, (std::vector<std::string>{"protected"}));
}

TEST(ShrinkGuard, SharplyMeansBelowHalfAndAtLeastTheMinimumFewer) {
  struct Row {
    std::uint64_t older;
    std::uint64_t newest;
    bool holds;
  };
  const Row rows[] = {
      {1000, 0, true},   {1000, 499, true},     {1000, 500, false}, {1000, 900, false},
      {21, 10, true},    {21, 11, false},       {20, 9, true},      {20, 10, false},
      {19, 9, true},     {18, 8, true},         {17, 8, false},  // 9 fewer: below the minimum
      {5, 0, false},     {9, 0, false},         {10, 0, true},      {0, 0, false},
      {100, 200, false}, {UINT64_MAX, 0, true},
  };
  for (const auto& row : rows) {
    auto hold = find_shrink({{"kv", row.newest}}, {{"kv", row.older}});
    EXPECT_EQ(hold.has_value(), row.holds) << row.older << " -> " << row.newest;
    if (hold) {
      EXPECT_EQ(hold->what, "KV entries");
      EXPECT_EQ(hold->newest_count, row.newest);
      EXPECT_EQ(hold->older_count, row.older);
    }
  }
}

TEST(ShrinkGuard, AclObjectsAreSummedAndKindsNotRecordedAreNotCompared) {
  EntryCounts older{{"kv", 50}, {"acl-policies", 8}, {"acl-tokens", 30}, {"acl-roles", 2}};
  EntryCounts wiped{{"kv", 50}, {"acl-policies", 1}, {"acl-tokens", 2}};
  auto hold = find_shrink(wiped, older);
  ASSERT_TRUE(hold.has_value());
  EXPECT_EQ(hold->what, "ACL objects");
  EXPECT_EQ(hold->older_count, 40u);
  EXPECT_EQ(hold->newest_count, 3u);
  // Without ACLs in the newest (ACLs disabled, --only kv), or a format without counts: no
  // comparison.
  EXPECT_FALSE(find_shrink({{"kv", 50}}, older).has_value());
  EXPECT_FALSE(find_shrink({}, older).has_value());
  EXPECT_FALSE(find_shrink(older, {}).has_value());
  // Untrusted counts that would overflow a sum saturate instead.
  EXPECT_FALSE(find_shrink({{"acl-a", UINT64_MAX}, {"acl-b", UINT64_MAX}},
                           {{"acl-a", UINT64_MAX}, {"acl-b", 5}})
                   .has_value());
}

// Five good backups of 500 keys, then the cluster is wiped and backed up: keep-last 2 would remove
// three of the good ones. Held, nothing goes, and the report says why.
MemoryBackend wiped_after_five(std::map<std::string, EntryCounts>& counts) {
  auto backend = five_backups();
  for (const auto& [key, size] : backend.objects) {
    if (backup_time_from_key(key))
      counts[key] = {{"kv", 500}, {"acl-tokens", 3}};
  }
  auto wiped = backup_key("backups", "host", unix_at("2026-11-27 06:00:00"), ".tar.zst");
  backend.objects[wiped] = 10;
  counts[wiped] = {{"kv", 0}, {"acl-tokens", 3}};
  return backend;
}

TEST(ShrinkGuard, AWipedClusterHoldsRetention) {
  std::map<std::string, EntryCounts> counts;
  auto backend = wiped_after_five(counts);
  auto before = backend.objects;
  std::vector<std::string> read;
  PruneOptions options{.now = kNow};
  options.read_counts = [&](const std::string& key) -> std::optional<EntryCounts> {
    read.push_back(key);
    return counts.at(key);
  };
  test_common::CapturedLog log(log::Level::warn);
  auto report = prune(backend, "backups", {.keep_last = 2}, options);
  ASSERT_TRUE(report.ok()) << report.error().message();
  EXPECT_EQ(backend.objects, before) << "retention removed backups after a wipe";
  ASSERT_TRUE(report->held.has_value());
  EXPECT_EQ(report->removed, 0u);
  EXPECT_EQ(report->kept, 6u);
  EXPECT_EQ(report->held->what, "KV entries");
  EXPECT_EQ(report->held->newest_count, 0u);
  EXPECT_EQ(report->held->older_count, 500u);
  EXPECT_EQ(report->held->newest_key,
            backup_key("backups", "host", unix_at("2026-11-27 06:00:00"), ".tar.zst"));
  // The first backup the policy would remove, newest of those first, decides; nothing more read.
  EXPECT_EQ(report->held->older_key,
            backup_key("backups", "host", unix_at("2026-11-27 04:00:00"), ".tar.zst"));
  EXPECT_EQ(read.size(), 2u);
  auto text = log.text();
  EXPECT_NE(text.find("Retention held"), std::string::npos) << text;
  EXPECT_NE(text.find("--confirm-shrink"), std::string::npos) << text;
  for (const auto& decision : report->decisions) {
    if (decision.time) {
      EXPECT_EQ(decision.action, RetentionAction::keep) << decision.key;
    }
  }

  // A second empty backup: the newest is still far below what would go, so still held.
  auto again = backup_key("backups", "host", unix_at("2026-11-27 07:00:00"), ".tar.zst");
  backend.objects[again] = 10;
  counts[again] = {{"kv", 0}};
  auto second = prune(backend, "backups", {.keep_last = 2}, options);
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(second->held.has_value());
  EXPECT_EQ(backend.objects.size(), before.size() + 1);

  // Confirmed: the policy applies.
  options.confirm_shrink = true;
  auto confirmed = prune(backend, "backups", {.keep_last = 2}, options);
  ASSERT_TRUE(confirmed.ok());
  EXPECT_FALSE(confirmed->held.has_value());
  EXPECT_EQ(confirmed->removed, 5u);
}

TEST(ShrinkGuard, KnownCountsComeFirstAndUnknownCountsHoldNothing) {
  std::map<std::string, EntryCounts> counts;
  auto backend = wiped_after_five(counts);
  // Only the daemon's memory, no reader: the guard still sees the wipe.
  auto held = prune(backend, "backups", {.keep_last = 2},
                    {.dry_run = true, .now = kNow, .known_counts = counts});
  ASSERT_TRUE(held.ok());
  EXPECT_TRUE(held->held.has_value());
  // Nothing known (no key to read encrypted backups, old formats): the policy applies.
  auto unknown = prune(backend, "backups", {.keep_last = 2},
                       {.dry_run = true,
                        .now = kNow,
                        .read_counts = [](const std::string&) -> std::optional<EntryCounts> {
                          return std::nullopt;
                        }});
  ASSERT_TRUE(unknown.ok());
  EXPECT_FALSE(unknown->held.has_value());
  EXPECT_EQ(unknown->removed, 4u);
}

TEST(ShrinkGuard, AGrowingOrSteadyClusterIsNotHeld) {
  auto backend = five_backups();
  std::map<std::string, EntryCounts> counts;
  std::uint64_t kv = 100;
  for (const auto& [key, size] : backend.objects)
    counts[key] = {{"kv", kv += 7}};
  auto report = prune(backend, "backups", {.keep_last = 2}, {.now = kNow, .known_counts = counts});
  ASSERT_TRUE(report.ok());
  EXPECT_FALSE(report->held.has_value());
  EXPECT_EQ(report->removed, 3u);
}

TEST(Prune, FutureDatedBackupsAreLeftAloneWithAWarning) {
  auto backend = five_backups();
  auto planted = backup_key("backups", "x", unix_at("2099-01-01 00:00:00"), ".tar.zst");
  backend.objects[planted] = 1;
  test_common::CapturedLog log(log::Level::warn);
  auto report = prune(backend, "backups", {.keep_within = days{7}},
                      {.now = sys_seconds{seconds{unix_at("2026-11-27 06:00:00")}}});
  ASSERT_TRUE(report.ok()) << report.error().message();
  EXPECT_EQ(report->removed, 0u) << "real backups were removed because of a 2099 one";
  EXPECT_EQ(report->future_dated, 1u);
  EXPECT_TRUE(backend.objects.contains(planted));
  EXPECT_NE(log.text().find(planted), std::string::npos) << log.text();
}

TEST(Prune, RefusesAnEmptyPolicy) {
  auto backend = five_backups();
  auto before = backend.objects;
  auto report = prune(backend, "backups", {}, {.now = kNow});
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.error().kind(), ErrorKind::invalid_argument);
  EXPECT_NE(report.error().message().find("--keep-last"), std::string::npos);
  EXPECT_EQ(backend.objects, before);
}

TEST(Prune, ListingErrorsNameTheStorage) {
  class Broken final : public storage::Backend {
   public:
    std::string describe() const override { return "s3://bucket/"; }
    Result<std::unique_ptr<storage::Upload>> put(std::string_view) override {
      return Error(ErrorKind::internal, "not used");
    }
    Result<std::unique_ptr<ByteSource>> get(std::string_view) override {
      return Error(ErrorKind::internal, "not used");
    }
    Result<storage::ObjectInfo> stat(std::string_view) override {
      return Error(ErrorKind::internal, "not used");
    }
    Result<std::vector<storage::ObjectInfo>> list(std::string_view) override {
      return Error(ErrorKind::permission_denied, "403 AccessDenied");
    }
    Status remove(std::string_view) override { return Error(ErrorKind::internal, "not used"); }
  } broken;
  auto report = prune(broken, "backups", {.keep_last = 1}, {.now = kNow});
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.error().kind(), ErrorKind::permission_denied);
  EXPECT_EQ(report.error().message(),
            "listing the backups under 'backups/' in s3://bucket/: 403 AccessDenied");
}

}  // namespace
}  // namespace csnap::ops
