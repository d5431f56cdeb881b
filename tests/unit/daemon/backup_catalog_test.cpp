// The cached listing behind GET / and GET /v1/backups: requests do not list the storage.

#include "daemon/backup_catalog.hpp"

#include <atomic>
#include <future>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace csnap::daemon {
namespace {

using namespace std::chrono_literals;

struct FakeTime {
  std::chrono::steady_clock::time_point now = std::chrono::steady_clock::time_point(1000h);
};

BackupListing listing_of(std::string key) {
  return BackupListing{
      .storage = "file:///backups",
      .backups = {
          {.key = std::move(key), .size_bytes = 42, .time = Clock::time_point(1'800'000'000s)}}};
}

TEST(BackupCatalog, RequestsUseTheCachedListingUntilARefreshOrItsMaximumAge) {
  FakeTime time;
  int listings = 0;
  BackupCatalog catalog(
      [&]() -> Result<BackupListing> {
        ++listings;
        return listing_of("backups/" + std::to_string(listings) + ".tar.zst");
      },
      {.max_age = 60s, .now = [&] { return time.now; }});

  for (int i = 0; i < 10; ++i) {
    auto current = catalog.current();
    ASSERT_TRUE(current.ok());
    EXPECT_EQ(current->backups.at(0).key, "backups/1.tar.zst");
  }
  EXPECT_EQ(listings, 1) << "ten requests listed the storage more than once";

  catalog.refresh();  // after a backup
  EXPECT_EQ(listings, 2);
  EXPECT_EQ(catalog.current()->backups.at(0).key, "backups/2.tar.zst");
  time.now += 59s;
  EXPECT_EQ(catalog.current()->backups.at(0).key, "backups/2.tar.zst");
  EXPECT_EQ(listings, 2);
  time.now += 1s;
  EXPECT_EQ(catalog.current()->backups.at(0).key, "backups/3.tar.zst");
  EXPECT_EQ(listings, 3);
}

TEST(BackupCatalog, AFailedListingIsKeptToo) {
  FakeTime time;
  int listings = 0;
  BackupCatalog catalog(
      [&]() -> Result<BackupListing> {
        ++listings;
        return Error(ErrorKind::transient, "listing backups/: 503 Slow Down");
      },
      {.max_age = 60s, .now = [&] { return time.now; }});
  for (int i = 0; i < 5; ++i) {
    auto current = catalog.current();
    ASSERT_FALSE(current.ok());
    EXPECT_EQ(current.error().message(), "listing backups/: 503 Slow Down");
  }
  EXPECT_EQ(listings, 1) << "a failing storage was asked on every request";
}

TEST(BackupCatalog, WhileOneListingRunsOthersGetThePreviousOne) {
  FakeTime time;
  std::atomic<int> listings = 0;
  std::promise<void> entered;
  std::promise<void> release;
  auto released = release.get_future().share();
  BackupCatalog catalog(
      [&]() -> Result<BackupListing> {
        int number = ++listings;
        if (number == 2) {
          entered.set_value();
          released.wait();
        }
        return listing_of("backups/" + std::to_string(number) + ".tar.zst");
      },
      {.max_age = 60s, .now = [&] { return time.now; }});
  ASSERT_TRUE(catalog.current().ok());
  std::thread refresher([&] { catalog.refresh(); });
  entered.get_future().wait();
  // The refresh is stuck in the storage: a request is answered from the cache at once.
  auto current = catalog.current();
  ASSERT_TRUE(current.ok());
  EXPECT_EQ(current->backups.at(0).key, "backups/1.tar.zst");
  release.set_value();
  refresher.join();
  EXPECT_EQ(catalog.current()->backups.at(0).key, "backups/2.tar.zst");
  EXPECT_EQ(listings, 2);
}

TEST(BackupCatalog, RendersTheListingAsJson) {
  BackupListing listing = listing_of("backups/a.tar.zst");
  listing.backups.push_back({.key = "backups/\xff.tar.zst", .size_bytes = 7, .time = {}});
  auto json = nlohmann::json::parse(render_backup_listing(listing));
  EXPECT_EQ(json["storage"], "file:///backups");
  ASSERT_EQ(json["backups"].size(), 2u);
  EXPECT_EQ(json["backups"][0]["key"], "backups/a.tar.zst");
  EXPECT_EQ(json["backups"][0]["size"], 42);
  EXPECT_EQ(json["backups"][0]["time"], 1'800'000'000);
  EXPECT_TRUE(json["backups"][1]["time"].is_null());
  EXPECT_EQ(json["backups"][1]["key"], "backups/\xef\xbf\xbd.tar.zst");
}

}  // namespace
}  // namespace csnap::daemon
