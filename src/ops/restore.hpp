#pragma once
// Restore: verify the whole backup first (decompress, every member's size and SHA-256, every
// kv.json entry), then, only if everything checks out and the caller confirms, write the
// entries back through /v1/txn.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include "archive/meta.hpp"
#include "consul/client.hpp"
#include "ops/locate.hpp"

namespace csnap::ops {

// What a verified backup holds, shown before anything is written.
struct RestorePreview {
  std::string name;
  archive::Meta meta;
  std::uint64_t kv_entries = 0;
  std::uint64_t kv_bytes = 0;
};

struct RestoreOptions {
  std::filesystem::path tmp_dir = "/tmp";
  bool dry_run = false;
  // Asked after verification, before the first write; false cancels. Not asked on a dry run.
  std::function<Result<bool>(const RestorePreview&)> confirm;
};

struct RestoreReport {
  RestorePreview preview;
  bool applied = false;  // false on a dry run or when the user said no
  std::uint64_t kv_written = 0;
  std::uint64_t transactions = 0;
  std::uint64_t plain_puts = 0;
};

Result<RestoreReport> run_restore(consul::Client& consul, LocatedBackup& backup,
                                  const RestoreOptions& options);

}  // namespace csnap::ops
