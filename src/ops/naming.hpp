#pragma once
// The key layout shared by every storage backend, the original tool's:
// `<prefix>/<YYYY>/<M>/<D>/<host>.consul.snapshot.<unix>.tar.zst` (UTC date, no zero padding).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace csnap::ops {

std::string backup_key(std::string_view prefix, std::string_view host, std::int64_t unix_time,
                       std::string_view suffix);

// The Unix time in a backup key's file name ("...consul.snapshot.1468004512.tar.zst"), if the
// key follows the layout (also the original's "consul.backup.<unix>.gz").
std::optional<std::int64_t> backup_time_from_key(std::string_view key);

// This machine's host name, for keys: characters other than [A-Za-z0-9._-] become '-'.
std::string local_hostname();

}  // namespace csnap::ops
