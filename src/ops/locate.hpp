#pragma once
// Resolves the `<backup>` argument the same way for every command: "latest", a key in the
// configured storage (as the original tool accepted), or a path to a local file.

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

// The newest backup under `prefix` by the time in its key; not_found when there is none.
Result<storage::ObjectInfo> latest_backup(storage::Backend& backend, std::string_view prefix);

// Opens `spec`: "latest" (newest under `prefix`), an existing local file, or a key in `backend`.
Result<LocatedBackup> locate_backup(storage::Backend& backend, std::string_view prefix,
                                    std::string_view spec);

}  // namespace csnap::ops
