#pragma once
// One backup: Consul's KV store -> kv.json (spooled, hashed), the ACL objects, prepared queries,
// and/or Consul's own Raft snapshot -> raft.snap -> tar with meta.json first -> compression -> one
// object in storage, visible only once complete.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "archive/meta.hpp"
#include "codec/compression.hpp"
#include "consul/client.hpp"
#include "ops/encryption.hpp"
#include "storage/backend.hpp"

namespace csnap::ops {

// The original tool's key: the Unix time of the last successful backup.
inline constexpr std::string_view kLastBackupKey = "service/consul-snapshot/lastbackup";

// What a backup holds (--mode): the logical members (kv.json, acl/*.json,
// prepared-queries.json), Consul's own snapshot (raft.snap), or both.
enum class BackupMode { logical, raft, both };

// "logical", "raft" or "both"; anything else is ErrorKind::invalid_argument.
Result<BackupMode> parse_backup_mode(std::string_view text);
std::string_view to_string(BackupMode mode);

struct BackupOptions {
  BackupMode mode = BackupMode::logical;
  std::string key_prefix = "backups";  // CONSUL_SNAPSHOT_UPLOAD_PREFIX
  std::string hostname;                // in the key; "" = this machine's
  std::filesystem::path tmp_dir = "/tmp";
  codec::Compression compression = codec::Compression::zstd;
  std::string tool_version;
  bool record_last_backup = true;  // write `last_backup_key` after success
  std::string last_backup_key{kLastBackupKey};
  EncryptionSettings encryption;
  bool allow_partial = false;  // write a backup marked partial instead of failing on hidden data
  bool include_kv = true;
  std::string kv_prefix;  // back up only the keys under this prefix ("" = all)
  bool include_acl = true;
  bool include_queries = true;  // include_*: the logical members, unless `mode` is raft
  bool include_config = true;   // config entries (and so intentions)
  bool raft_stale = false;      // GET /v1/snapshot?stale: any server may serve the snapshot
  // Called as KV entries are read: entries and value bytes so far.
  std::function<void(std::uint64_t, std::uint64_t)> progress;
  // Asked while reading and writing, and last just before the backup is committed to the
  // storage: a reason to stop ("shutting down", "lost the leader lock") abandons the backup, so
  // that no object is left behind. "" = go on.
  std::function<std::string()> stop_reason;
  // Called once, after the last byte is written and `stop_reason` has no reason, right before
  // the backup is committed to the storage (e.g. a fresh read showing that this daemon still
  // holds the leader lock). An error abandons the backup, so that no object is left behind; it
  // must fail closed (an error when it cannot tell). Unset: nothing to confirm.
  std::function<Status()> confirm_commit;
};

struct BackupReport {
  std::string key;
  std::string location;  // the storage, for logs
  std::uint64_t bytes = 0;
  std::uint64_t kv_entries = 0;
  std::map<std::string, std::uint64_t> counts;  // entries per kind
  std::optional<archive::RaftMeta> raft;        // set when the backup holds raft.snap
  bool partial = false;
  bool encrypted = false;
  std::uint64_t consul_index = 0;
  std::int64_t started_unix = 0;
  double seconds = 0;
};

// Takes one backup. Fails, and leaves no object behind, if any entry cannot be read completely
// (including entries hidden by ACLs).
Result<BackupReport> run_backup(consul::Client& consul, storage::Backend& storage,
                                const BackupOptions& options);

}  // namespace csnap::ops
