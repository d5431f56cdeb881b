#pragma once
// The key layout shared by every storage backend, the original tool's:
// `<prefix>/<YYYY>/<M>/<D>/<host>.consul.snapshot.<unix>.tar.zst` (UTC date, no zero padding).

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace csnap::ops {

// How far ahead of this machine's clock a backup's key time may be and still count. Replicas'
// clocks drift by seconds, not minutes; a key dated further ahead comes from a clock that is
// badly wrong, or from someone who can write to the storage and wants `latest` to pick it or
// retention to count from it. `latest` and retention ignore such backups, with a warning.
inline constexpr std::chrono::seconds kMaxFutureSkew{5 * 60};

std::string backup_key(std::string_view prefix, std::string_view host, std::int64_t unix_time,
                       std::string_view suffix);

// The Unix time in a backup key's file name, if the whole name follows the layout:
// `<host>.consul.snapshot.<unix>` (or the original v0.1's `consul.backup.<unix>`) followed by
// exactly one of the suffixes backups are written with (`.tar.zst`, `.tar.gz`, `.tar`, `.gz`,
// each optionally `.age`). A neighbour such as `....tar.zst.sha256` is not a backup.
std::optional<std::int64_t> backup_time_from_key(std::string_view key);

// Where a backup stands in the order backups are listed in: the time in its key, and the key.
struct BackupSortKey {
  std::int64_t time;
  std::string_view key;
};

// The one order of backups wherever they are listed (`list`, `latest`, retention, the daemon's
// page): newest first by the time in the key; for the same second, the greater key first, so
// that the order is total and never depends on the order the storage listed them in.
bool newer_first(const BackupSortKey& a, const BackupSortKey& b);

// Sorts `backups` in that order; `sort_key(backup)` gives a backup's BackupSortKey.
template <typename Backup, typename SortKeyOf>
void sort_newest_first(std::vector<Backup>& backups, SortKeyOf sort_key) {
  std::sort(backups.begin(), backups.end(), [&](const Backup& a, const Backup& b) {
    return newer_first(sort_key(a), sort_key(b));
  });
}

// True when `unix_time` is more than kMaxFutureSkew after `now`.
bool dated_in_future(std::int64_t unix_time, std::chrono::system_clock::time_point now);

// This machine's host name, for keys: characters other than [A-Za-z0-9._-] become '-'.
std::string local_hostname();

}  // namespace csnap::ops
