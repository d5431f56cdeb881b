#pragma once
// The backups in the storage as the daemon's pages show them (GET / and GET /v1/backups), kept in
// memory so that a request never lists the storage: a page that lists on every request lets any
// client that can reach the port make the daemon hammer its bucket, and waits on it.

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "daemon/state.hpp"
#include "util/result.hpp"

namespace csnap::daemon {

// A backup in the storage, as GET /v1/backups lists it.
struct StoredBackup {
  std::string key{};
  std::uint64_t size_bytes = 0;
  std::optional<Clock::time_point> time{};  // from the key; absent when the key has none
};

struct BackupListing {
  std::string storage{};                // where, e.g. "s3://bucket/prefix"
  std::vector<StoredBackup> backups{};  // newest first
};

// The JSON of GET /v1/backups: {"storage": "...", "backups": [{"key", "size", "time"}...]},
// "time" in Unix seconds (null when unknown). Invalid UTF-8 in keys becomes U+FFFD.
std::string render_backup_listing(const BackupListing& listing);

// How long a listing serves requests before the next request lists the storage again (a backup
// refreshes it at once).
inline constexpr std::chrono::seconds kDefaultListingMaxAge{60};

// The last listing of the storage (or the error listing it): listed on first use, again on
// refresh() (after each backup), and by a request only once it is older than `max_age`. While one
// listing runs, other requests get the previous one. Thread-safe.
class BackupCatalog {
 public:
  using Lister = std::function<Result<BackupListing>()>;
  struct Options {
    std::chrono::seconds max_age = kDefaultListingMaxAge;
    std::function<std::chrono::steady_clock::time_point()> now = [] {
      return std::chrono::steady_clock::now();
    };
  };

  // `list` lists the storage; it is called by one thread at a time.
  explicit BackupCatalog(Lister list, Options options);
  explicit BackupCatalog(Lister list) : BackupCatalog(std::move(list), Options{}) {}

  // The cached listing, listed first when there is none yet or it is older than `max_age`.
  Result<BackupListing> current();
  // Lists the storage now and keeps the answer (the daemon calls it after each backup).
  void refresh();

 private:
  Result<BackupListing> list_now(bool force);

  Lister list_;
  Options options_;
  std::mutex listing_;  // held while list_ runs: one listing at a time
  std::mutex mutex_;    // guards what follows
  std::optional<Result<BackupListing>> cached_;
  std::chrono::steady_clock::time_point listed_at_{};
  bool listing_now_ = false;
};

}  // namespace csnap::daemon
