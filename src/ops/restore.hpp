#pragma once
// Restore: verify the whole backup first (decompress, every member's size and SHA-256, every
// kv.json entry), compare it with the live cluster (the plan), and only then, if the caller
// confirms, write what differs.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <set>
#include <string>

#include "archive/backup_reader.hpp"
#include "archive/meta.hpp"
#include "consul/client.hpp"
#include "ops/acl_restore.hpp"
#include "ops/encryption.hpp"
#include "ops/kv_restore.hpp"
#include "ops/locate.hpp"
#include "ops/prepared_queries.hpp"

namespace csnap::ops {

struct RestoreOptions {
  std::filesystem::path tmp_dir = "/tmp";
  KvSelection kv;
  std::set<std::string> only;  // "kv", "acl", "query"; empty = every kind
  EncryptionSettings encryption;
  // KV writes without check-and-set: overwrite keys changed after the plan (--force).
  bool force = false;
  // Called as KV entries are written: entries and value bytes so far.
  std::function<void(std::uint64_t, std::uint64_t)> progress;
  bool wants(std::string_view kind) const {
    return only.empty() || only.contains(std::string(kind));
  }
};

// Parses --only: a comma-separated list of kv, acl, query.
Result<std::set<std::string>> parse_only(std::string_view text);

// What a verified backup holds and what restoring it would change.
struct RestorePreview {
  std::string name;
  archive::Meta meta;
  archive::BackupFormat format = archive::BackupFormat::current;
  std::uint64_t kv_entries = 0;  // in the backup
  std::uint64_t kv_bytes = 0;
  std::string encryption;        // "" when the backup is not encrypted
  KvPlan kv;                     // against the live cluster
  std::vector<KindPlan> others;  // ACL kinds and prepared queries, when restored
  bool changes_nothing() const;
};

// What a restore did, per kind; anything in failed() makes the restore a failure.
struct RestoreReport {
  KvApplied kv;
  std::vector<KindPlan> others;  // what was done per ACL kind and for prepared queries
  // KV conflicts and failures, and the ACL objects and queries that Consul refused.
  std::uint64_t failed() const;
};

// A backup read and verified completely (every checksum, every kv.json entry), not yet compared
// with anything.
struct VerifiedBackup {
  archive::BackupReader reader;
  RestorePreview preview;  // without a plan
};
Result<VerifiedBackup> verify_backup(LocatedBackup& backup, const std::filesystem::path& tmp_dir,
                                     const EncryptionSettings& encryption);

// A verified backup and its plan against the live cluster, ready to apply.
class PreparedRestore {
 public:
  // Reads and verifies `backup` completely, then compares it with the live cluster. Nothing is
  // written. `on_change` (optional) sees every planned KV change.
  static Result<PreparedRestore> prepare(
      consul::Client& consul, LocatedBackup& backup, const RestoreOptions& options,
      const std::function<void(const KvChange&)>& on_change = {});

  const RestorePreview& preview() const { return preview_; }
  void set_progress(std::function<void(std::uint64_t, std::uint64_t)> progress) {
    options_.progress = std::move(progress);
  }
  // Writes the plan. Unchanged entries are not written; KV writes are checked against the
  // ModifyIndex the plan saw (unless `force`). Refused writes are counted in the report, not an
  // error; an error means a kind could not be restored at all.
  Result<RestoreReport> apply(consul::Client& consul);

 private:
  PreparedRestore(archive::BackupReader reader, LiveKv live, RestoreOptions options)
      : reader_(std::move(reader)), live_(std::move(live)), options_(std::move(options)) {}

  archive::BackupReader reader_;
  LiveKv live_;
  std::optional<AclRestorePlan> acl_;
  std::optional<QueryRestorePlan> queries_;
  RestoreOptions options_;
  RestorePreview preview_;
};

}  // namespace csnap::ops
