#include "daemon/backup_catalog.hpp"

#include <nlohmann/json.hpp>

namespace csnap::daemon {

std::string render_backup_listing(const BackupListing& listing) {
  nlohmann::json backups = nlohmann::json::array();
  for (const StoredBackup& backup : listing.backups) {
    backups.push_back(
        {{"key", backup.key},
         {"size", backup.size_bytes},
         {"time", backup.time ? nlohmann::json(std::chrono::duration_cast<std::chrono::seconds>(
                                                   backup.time->time_since_epoch())
                                                   .count())
                              : nlohmann::json(nullptr)}});
  }
  nlohmann::json document = {{"storage", listing.storage}, {"backups", std::move(backups)}};
  return document.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

BackupCatalog::BackupCatalog(Lister list, Options options)
    : list_(std::move(list)), options_(std::move(options)) {}

Result<BackupListing> BackupCatalog::current() {
  {
    std::lock_guard lock(mutex_);
    if (cached_ && (listing_now_ || options_.now() - listed_at_ < options_.max_age))
      return *cached_;
  }
  return list_now(false);
}

void BackupCatalog::refresh() {
  (void)list_now(true);
}

Result<BackupListing> BackupCatalog::list_now(bool force) {
  std::lock_guard one_at_a_time(listing_);
  {
    std::lock_guard lock(mutex_);
    // Another caller listed while this one waited.
    if (!force && cached_ && options_.now() - listed_at_ < options_.max_age)
      return *cached_;
    listing_now_ = true;
  }
  Result<BackupListing> listed = list_();
  std::lock_guard lock(mutex_);
  cached_ = listed;
  listed_at_ = options_.now();
  listing_now_ = false;
  return listed;
}

}  // namespace csnap::daemon
