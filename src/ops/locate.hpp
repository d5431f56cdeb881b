#pragma once
// Resolves the `<backup>` argument the same way for every command: "latest", a key in the
// configured storage (as the original tool accepted), or a path to a local file.

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "storage/backend.hpp"
#include "util/io.hpp"

namespace csnap::ops {

struct LocatedBackup {
  std::string name;  // what to call it in logs: the key or the file path
  // The backend `source` reads from, when the caller hands over its ownership; declared before
  // `source` so that `source` is destroyed first.
  std::unique_ptr<storage::Backend> storage;
  std::unique_ptr<ByteSource> source;
};

// What `latest` may pick. A backup is untrusted input: someone who can write to the storage but
// holds no key can plant one with a name of their choosing.
struct LatestOptions {
  // Backups dated more than kMaxFutureSkew after `now` are ignored, with a warning naming each.
  std::chrono::system_clock::time_point now = std::chrono::system_clock::now();
  // Skip, with a warning naming each, backups whose first bytes show no encryption (set while a
  // key is configured and --allow-unencrypted is not): `latest` is then the newest encrypted one.
  bool skip_unencrypted = false;
};

// The newest backup under `prefix` by the time in its key, within `options`; not_found when there
// is none (the message counts what was ignored).
Result<storage::ObjectInfo> latest_backup(storage::Backend& backend, std::string_view prefix,
                                          const LatestOptions& options = {});

// Opens `spec`: "latest" (newest under `prefix`, within `latest`), an existing local file, or a
// key in `backend`. A file or key is opened as named, whatever its date or encryption.
Result<LocatedBackup> locate_backup(storage::Backend& backend, std::string_view prefix,
                                    std::string_view spec, const LatestOptions& latest = {});

}  // namespace csnap::ops
