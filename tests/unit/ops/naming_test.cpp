// Which keys are backups: the whole file name must follow the layout, so that neighbours such as
// checksum files are never taken for backups (by `latest`, `list` or retention).

#include "ops/naming.hpp"

#include <chrono>

#include <gtest/gtest.h>

namespace csnap::ops {
namespace {

using namespace std::chrono;

TEST(BackupTimeFromKey, TheSuffixesBackupsAreWrittenWith) {
  const std::pair<std::string_view, std::int64_t> backups[] = {
      {"backups/2016/7/8/host.consul.snapshot.1468004512.tar.gz", 1468004512},
      {"backups/2026/11/27/h.consul.snapshot.1795000000.tar.zst", 1795000000},
      {"backups/2026/11/27/h.consul.snapshot.1795000000.tar.zst.age", 1795000000},
      {"backups/2026/11/27/h.consul.snapshot.1795000000.tar.gz.age", 1795000000},
      {"backups/2026/11/27/h.consul.snapshot.1795000000.tar", 1795000000},
      {"backups/2016/7/8/consul.backup.1468004512.gz", 1468004512},  // the original's v0.1
      {"h.consul.snapshot.7.tar.zst", 7},                            // no folders
  };
  for (const auto& [key, time] : backups)
    EXPECT_EQ(backup_time_from_key(key), time) << key;
}

TEST(BackupTimeFromKey, NamesThatMerelyContainThePatternAreNotBackups) {
  const std::string_view others[] = {
      "backups/2026/11/27/h.consul.snapshot.1795000000.tar.zst.sha256",
      "backups/2026/11/27/h.consul.snapshot.1795000000.tar.zst.age.sig",
      "backups/2026/11/27/h.consul.snapshot.1795000000.tar.zst.tmp",
      "backups/2026/11/27/h.consul.snapshot.1795000000.json",
      "backups/2026/11/27/h.consul.snapshot.1795000000",
      "backups/2026/11/27/h.consul.snapshot..tar.zst",
      "backups/2026/11/27/h.consul.snapshot.-5.tar.zst",
      "backups/2026/11/27/h.consul.snapshot.soon.tar.zst",
      "backups/2026/11/27/h.consul.snapshot.99999999999999999999999.tar.zst",  // out of range
      "backups/h.consul.snapshot.1795000000.tar.zst/README",
      "backups/README.txt",
  };
  for (auto key : others)
    EXPECT_FALSE(backup_time_from_key(key).has_value()) << key;
}

TEST(DatedInFuture, MoreThanTheToleranceAheadOfNow) {
  const auto now = sys_days{year{2030} / 1 / 1};
  const auto now_unix = duration_cast<seconds>(now.time_since_epoch()).count();
  EXPECT_FALSE(dated_in_future(now_unix - 86400, now));
  EXPECT_FALSE(dated_in_future(now_unix, now));
  EXPECT_FALSE(dated_in_future(now_unix + kMaxFutureSkew.count(), now));
  EXPECT_TRUE(dated_in_future(now_unix + kMaxFutureSkew.count() + 1, now));
  EXPECT_TRUE(dated_in_future(INT64_MAX, now));
}

TEST(NewestFirst, LaterTimeFirstThenGreaterKey) {
  EXPECT_TRUE(newer_first({200, "a"}, {100, "z"}));
  EXPECT_FALSE(newer_first({100, "z"}, {200, "a"}));
  // The same second: the greater key first, whatever the hosts are called.
  EXPECT_TRUE(newer_first({100, "b/h2.consul.snapshot.100.tar.zst"},
                          {100, "b/h1.consul.snapshot.100.tar.zst"}));
  EXPECT_FALSE(newer_first({100, "b/h1.consul.snapshot.100.tar.zst"},
                           {100, "b/h2.consul.snapshot.100.tar.zst"}));
  EXPECT_FALSE(newer_first({100, "same"}, {100, "same"}));  // a strict order
}

TEST(NewestFirst, SortsTheSameFromAnyListingOrder) {
  struct Listed {
    std::string key;
    std::int64_t time;
  };
  std::vector<Listed> listed = {
      {"x/a.1", 1}, {"x/b.3", 3}, {"x/a.3", 3}, {"x/c.2", 2}, {"x/c.3", 3}};
  std::vector<std::string> expected = {"x/c.3", "x/b.3", "x/a.3", "x/c.2", "x/a.1"};
  std::sort(listed.begin(), listed.end(),
            [](const Listed& a, const Listed& b) { return a.key < b.key; });
  do {
    auto sorted = listed;
    sort_newest_first(sorted, [](const Listed& b) { return BackupSortKey{b.time, b.key}; });
    std::vector<std::string> keys;
    keys.reserve(sorted.size());
    for (const auto& backup : sorted)
      keys.push_back(backup.key);
    ASSERT_EQ(keys, expected);
  } while (std::next_permutation(listed.begin(), listed.end(),
                                 [](const Listed& a, const Listed& b) { return a.key < b.key; }));
}

}  // namespace
}  // namespace csnap::ops
