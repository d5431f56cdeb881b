#pragma once
// Restore: verify the whole backup first (decompress, every member's size and SHA-256, every
// kv.json entry), read what the plan needs of the live cluster, compare (the plan), and only
// then, if the caller confirms, write what differs. Planning itself reads nothing of Consul: it
// takes the live side as a value, which unit tests build from data.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "archive/backup_reader.hpp"
#include "archive/meta.hpp"
#include "archive/raft_snapshot.hpp"
#include "consul/client.hpp"
#include "ops/acl_restore.hpp"
#include "ops/config_entries.hpp"
#include "ops/encryption.hpp"
#include "ops/kv_restore.hpp"
#include "ops/locate.hpp"
#include "ops/prepared_queries.hpp"

namespace csnap::ops {

struct RestoreOptions {
  std::filesystem::path tmp_dir = "/tmp";
  KvSelection kv;
  std::set<std::string> only;  // "kv", "acl", "query", "config"; empty = every kind
  EncryptionSettings encryption;
  // KV writes without check-and-set: overwrite keys changed after the plan (--force).
  bool force = false;
  // Called as KV entries are written: entries and value bytes so far.
  std::function<void(std::uint64_t, std::uint64_t)> progress;
  bool wants(std::string_view kind) const {
    return only.empty() || only.contains(std::string(kind));
  }
};

// Parses --only: a comma-separated list of kv, acl, query, config.
Result<std::set<std::string>> parse_only(std::string_view text);

// What a verified backup holds and what restoring it would change.
struct RestorePreview {
  std::string name;
  archive::Meta meta;
  archive::BackupFormat format = archive::BackupFormat::current;
  std::uint64_t kv_entries = 0;  // in the backup
  std::uint64_t kv_bytes = 0;
  std::string encryption;  // "" when the backup is not encrypted
  // raft.snap, verified (its SHA256SUMS, every record framed), when the backup holds one.
  std::optional<archive::RaftSnapshotSummary> raft;
  KvPlan kv;                     // against the live cluster
  std::vector<KindPlan> others;  // ACL kinds, prepared queries, config entries, when restored
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

// What of the live cluster a restore compares with: only what it restores, so that a restore
// needs no permission beyond that.
struct LiveScope {
  std::optional<std::string> kv_prefix;  // the KV under it, when KV is restored
  bool acl = false;      // the ACL objects, when ACLs are restored and the backup holds some
  bool queries = false;  // the prepared queries, likewise
  std::vector<std::string> config_kinds;  // the config entries of the kinds the backup holds

  // The scope of restoring `verified` with the options `requested`.
  static Result<LiveScope> of(const VerifiedBackup& verified, const RestoreOptions& requested);
};

// The live cluster as a restore compares the backup with it: read from Consul just before the
// plan (read_live_cluster), or built from data by a test. What is out of scope stays empty.
struct LiveCluster {
  LiveKv kv;                                                // the KV under the restored prefix
  LiveAcl acl;                                              // the ACL system
  nlohmann::json queries = nlohmann::json::array();         // the prepared queries
  nlohmann::json config_entries = nlohmann::json::array();  // of LiveScope::config_kinds
};

// Reads what `scope` names of the cluster behind `consul`.
Result<LiveCluster> read_live_cluster(consul::Client& consul, const LiveScope& scope,
                                      const std::filesystem::path& tmp_dir);

// A verified backup and its plan against the live cluster, ready to apply.
class PreparedRestore {
 public:
  // Reads and verifies `backup` completely, reads the live cluster (its LiveScope), then plans.
  // Nothing is written. `on_change` (optional) sees every planned KV change.
  static Result<PreparedRestore> prepare(
      consul::Client& consul, LocatedBackup& backup, const RestoreOptions& requested,
      const std::function<void(const KvChange&)>& on_change = {});

  // Compares `verified` with `live` (read for LiveScope::of the same backup and `requested`);
  // talks to nothing. An error is a restore refused before any write: ACL objects for a cluster
  // with ACLs disabled or with hidden token secrets.
  static Result<PreparedRestore> plan(VerifiedBackup verified, LiveCluster live,
                                      const RestoreOptions& requested,
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
  PreparedRestore(archive::BackupReader reader, LiveKv live_kv, RestoreOptions options)
      : reader_(std::move(reader)), live_kv_(std::move(live_kv)), options_(std::move(options)) {}

  archive::BackupReader reader_;
  LiveKv live_kv_;
  std::optional<AclRestorePlan> acl_;
  std::optional<QueryRestorePlan> queries_;
  std::optional<ConfigRestorePlan> config_;
  RestoreOptions options_;
  RestorePreview preview_;
};

}  // namespace csnap::ops
