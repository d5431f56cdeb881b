// `latest` over a real local backup folder: future-dated names (a wrong clock, or planted by
// someone who can write to the storage) are ignored with a warning, and with a key configured
// unencrypted backups are skipped; the clock is injected.

#include "ops/locate.hpp"

#include <chrono>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "captured_log.hpp"
#include "ops/naming.hpp"
#include "storage/local.hpp"
#include "temp_dir.hpp"

namespace csnap::ops {
namespace {

using namespace std::chrono;
using test_common::CapturedLog;
using test_common::TempDir;

constexpr std::string_view kAgeHeader = "age-encryption.org/v1\n-> scrypt c2FsdA 14\n";

class LatestTest : public ::testing::Test {
 protected:
  // Writes a file named as a backup taken at `unix_time`, holding `bytes`; returns its key.
  std::string write(std::int64_t unix_time, std::string_view suffix, std::string_view bytes) {
    auto key = backup_key("backups", "host", unix_time, suffix);
    auto path = dir_.root() / key;
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << bytes;
    return key;
  }
  std::int64_t unix_now() const {
    return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
  }

  TempDir dir_{"csnap-locate-"};
  storage::LocalBackend backend_{dir_.root()};
};

// With the real clock, the default: a backup named for 2099 is not `latest`.
TEST_F(LatestTest, ABackupNamedForTheFarFutureIsNotLatest) {
  auto real = write(unix_now() - 3600, ".tar.zst", "plain");
  const std::int64_t year_2099 = 4070908800;  // 2099-01-01T00:00:00Z
  auto planted = write(year_2099, ".tar.zst", "planted");
  CapturedLog log(log::Level::warn);
  auto latest = latest_backup(backend_, "backups");
  ASSERT_TRUE(latest.ok()) << latest.error().message();
  EXPECT_EQ(latest->key, real);
  auto text = log.text();
  EXPECT_NE(text.find(planted), std::string::npos) << "the warning does not name the key: " << text;
  EXPECT_NE(text.find("2099-01-01T00:00:00Z"), std::string::npos) << text;
}

TEST_F(LatestTest, TheToleranceIsFiveMinutesOfTheInjectedClock) {
  const auto now = sys_days{year{2030} / 6 / 1} + hours{12};
  const auto now_unix = duration_cast<seconds>(now.time_since_epoch()).count();
  write(now_unix - 60, ".tar.zst", "a minute ago");
  auto at_limit = write(now_unix + kMaxFutureSkew.count(), ".tar.zst", "five minutes ahead");
  write(now_unix + kMaxFutureSkew.count() + 1, ".tar.zst", "just beyond");
  auto latest = latest_backup(backend_, "backups", {.now = now});
  ASSERT_TRUE(latest.ok()) << latest.error().message();
  EXPECT_EQ(latest->key, at_limit) << "a replica's clock a little ahead still counts";
}

TEST_F(LatestTest, OnlyFutureDatedBackupsIsNotFoundAndSaysWhy) {
  const auto now = sys_days{year{2030} / 6 / 1};
  write(4070908800, ".tar.zst", "planted");
  auto latest = latest_backup(backend_, "backups", {.now = now});
  ASSERT_FALSE(latest.ok());
  EXPECT_EQ(latest.error().kind(), ErrorKind::not_found);
  EXPECT_NE(latest.error().message().find("1 dated in the future"), std::string::npos)
      << latest.error().message();
}

TEST_F(LatestTest, WithAKeyConfiguredUnencryptedBackupsAreSkipped) {
  const auto now = sys_days{year{2030} / 6 / 1};
  const auto now_unix = duration_cast<seconds>(now.time_since_epoch()).count();
  auto encrypted = write(now_unix - 7200, ".tar.zst.age", kAgeHeader);
  auto plain = write(now_unix - 60, ".tar.zst", "\x28\xb5\x2f\xfd plain zstd");
  CapturedLog log(log::Level::warn);
  auto latest = latest_backup(backend_, "backups", {.now = now, .skip_unencrypted = true});
  ASSERT_TRUE(latest.ok()) << latest.error().message();
  EXPECT_EQ(latest->key, encrypted);
  auto text = log.text();
  EXPECT_NE(text.find(plain), std::string::npos) << text;
  EXPECT_NE(text.find("--allow-unencrypted"), std::string::npos) << text;

  // Without the key (or with --allow-unencrypted) the newest is the plain one.
  auto any = latest_backup(backend_, "backups", {.now = now});
  ASSERT_TRUE(any.ok()) << any.error().message();
  EXPECT_EQ(any->key, plain);
}

// The original tool's encryption (v0:) counts as encrypted.
TEST_F(LatestTest, TheOriginalToolsEncryptionCountsAsEncrypted) {
  const auto now = sys_days{year{2030} / 6 / 1};
  const auto now_unix = duration_cast<seconds>(now.time_since_epoch()).count();
  write(now_unix - 7200, ".tar.zst.age", kAgeHeader);
  auto original = write(now_unix - 60, ".tar.gz", "v0:" + std::string(60, '\x01'));
  auto latest = latest_backup(backend_, "backups", {.now = now, .skip_unencrypted = true});
  ASSERT_TRUE(latest.ok()) << latest.error().message();
  EXPECT_EQ(latest->key, original);
}

TEST_F(LatestTest, OnlyUnencryptedBackupsWithAKeyIsNotFound) {
  const auto now = sys_days{year{2030} / 6 / 1};
  const auto now_unix = duration_cast<seconds>(now.time_since_epoch()).count();
  write(now_unix - 60, ".tar.zst", "plain");
  auto latest = latest_backup(backend_, "backups", {.now = now, .skip_unencrypted = true});
  ASSERT_FALSE(latest.ok());
  EXPECT_EQ(latest.error().kind(), ErrorKind::not_found);
  EXPECT_NE(latest.error().message().find("1 unencrypted"), std::string::npos)
      << latest.error().message();
}

TEST_F(LatestTest, NeighboursOfABackupAreNotBackups) {
  auto real = write(unix_now() - 3600, ".tar.zst", "plain");
  // A checksum file beside a newer backup name: it is not a backup, so never `latest`.
  auto path =
      dir_.root() / (backup_key("backups", "host", unix_now() - 60, ".tar.zst") + ".sha256");
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path) << "0123 file\n";
  auto latest = latest_backup(backend_, "backups");
  ASSERT_TRUE(latest.ok()) << latest.error().message();
  EXPECT_EQ(latest->key, real);
}

TEST_F(LatestTest, AKeyGivenByNameIsOpenedWhateverItsDate) {
  auto planted = write(4070908800, ".tar.zst", "planted");
  auto located = locate_backup(backend_, "backups", planted);
  ASSERT_TRUE(located.ok()) << located.error().message();
  EXPECT_EQ(located->name, planted);
}

}  // namespace
}  // namespace csnap::ops
