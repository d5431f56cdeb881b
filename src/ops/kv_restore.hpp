#pragma once
// The KV part of a restore: which backup entries go where (--prefix, --transform), how they
// compare with the live cluster (create, update, unchanged; with --mode replace also the live
// keys to delete), and the writes that make the live KV match.

#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "archive/backup_reader.hpp"
#include "consul/client.hpp"
#include "consul/txn.hpp"

namespace csnap::ops {

// A key of this tool's own that a restore never writes or deletes, and why ("the daemon's
// leader lock (--lock-key)").
struct ProtectedKey {
  std::string key;
  std::string why;
};

// Which backup keys a restore touches, and under which names.
struct KvSelection {
  std::string prefix;          // only backup keys that start with this ("" = all)
  std::string transform_from;  // rewrite this key prefix...
  std::string transform_to;    // ...to this one ("" and "" = no rewrite)
  bool replace = false;        // also delete live keys under target_prefix() the backup lacks
  // Live keys never written or deleted, whatever the backup holds (--lock-key, --lastbackup-key).
  std::vector<ProtectedKey> protected_keys{};

  // The key `key` is restored to, or nothing when the selection leaves it out.
  std::optional<std::string> target(std::string_view key) const;
  // The live prefix a restore writes to (and, with `replace`, makes equal to the backup).
  std::string target_prefix() const;
  // The protected key named `key` (a live name), or null.
  const ProtectedKey* protection(std::string_view key) const;
};

// Parses "OLD=NEW" for --transform.
Result<std::pair<std::string, std::string>> parse_transform(std::string_view text);

// skip: a key the restore would change but leaves alone (held by a session, or our own).
enum class KvChangeKind { create, update, remove, skip };
std::string_view to_string(KvChangeKind kind);

struct KvChange {
  KvChangeKind kind;
  std::string key;
  std::string reason{};  // skip: why
  // update and remove: the ModifyIndex the plan saw, which the write is checked against (0 for a
  // create: the key must still be missing).
  std::uint64_t modify_index = 0;
};

// A key and what happened to it, or why not: a skip, a conflict, a failure.
struct KvNote {
  std::string key;
  std::string reason;
};

struct KvPlan {
  std::uint64_t create = 0;
  std::uint64_t update = 0;
  std::uint64_t remove = 0;
  std::uint64_t unchanged = 0;
  std::uint64_t skip = 0;
  std::uint64_t bytes = 0;        // value bytes to write
  std::vector<KvNote> skipped{};  // every key counted in `skip`, with its reason
  bool empty() const { return create + update + remove == 0; }
};

// The live KV under a prefix, as key, flags, size and SHA-256 of the value, ModifyIndex and
// Session: enough to tell whether a backup entry differs, and to write with check-and-set, without
// keeping values in memory.
class LiveKv {
 public:
  struct Entry {
    std::string key;
    std::uint64_t flags = 0;
    std::uint64_t size = 0;
    std::array<unsigned char, 32> sha256{};
    std::uint64_t modify_index = 0;
    std::string session{};  // the session that holds the key as a lock; "" when none
    bool seen = false;
  };

  static Result<LiveKv> read(consul::Client& consul, std::string_view prefix,
                             const std::filesystem::path& tmp_dir);
  // The live side built from entries as Consul lists them (for tests, and by `read`).
  static LiveKv from_entries(std::vector<consul::KvEntry> entries);

  // Whether `key` is missing, different or the same; remembers that `key` was looked at.
  enum class Comparison { missing, different, same };
  struct Match {
    Comparison comparison = Comparison::missing;
    const Entry* entry = nullptr;  // the live entry, unless missing
  };
  Match compare(std::string_view key, std::string_view value, std::uint64_t flags);
  // Calls `on_entry` for each live entry that `compare` never looked at, in key order.
  void for_each_unseen(const std::function<void(const Entry&)>& on_entry) const;
  void forget_seen();
  std::size_t size() const { return entries_.size(); }

 private:
  void add(consul::KvEntry&& entry);
  void sort();

  std::vector<Entry> entries_;  // sorted by key
};

// Classifies every selected entry of the backup's kv.json against `live`; `on_change`, when set,
// sees each change (creates, updates and skips in backup order, then removals and skips of live
// keys in key order). Keys held by a session and protected keys are skipped, never changed.
Result<KvPlan> plan_kv(const archive::BackupReader& backup, const KvSelection& selection,
                       LiveKv& live, const std::function<void(const KvChange&)>& on_change = {});

struct KvApplyOptions {
  // Write unconditionally (plain set and delete) instead of check-and-set against the plan.
  bool force = false;
  // Called as KV entries are queued for writing: entries and value bytes so far.
  std::function<void(std::uint64_t, std::uint64_t)> progress{};
};

struct KvApplied {
  std::uint64_t written = 0;
  std::uint64_t deleted = 0;
  std::uint64_t unchanged = 0;
  std::uint64_t transactions = 0;
  std::uint64_t plain_puts = 0;
  std::vector<KvNote> skipped{};    // held by a session, or protected: not written
  std::vector<KvNote> conflicts{};  // changed after the plan: not written (re-run, or --force)
  std::vector<KvNote> failed{};     // refused by Consul for another reason
  std::uint64_t failures() const { return conflicts.size() + failed.size(); }
};

// Writes what plan_kv found: creates, updates and (replace mode) deletions, through /v1/txn
// within Consul's limits, each checked against the ModifyIndex in `live` (the plan's view) unless
// `options.force`. A key changed since is a conflict and the other writes go on; an error means
// Consul could not be asked (what was written before it stays written).
Result<KvApplied> apply_kv(consul::Client& consul, const archive::BackupReader& backup,
                           const KvSelection& selection, LiveKv& live,
                           const KvApplyOptions& options = {});

// Why Consul refused `op` (`why`, Consul's words), judged from a fresh read of its key (`now`):
// done (the key already is as `op` would make it), a conflict (it changed after the plan), or a
// failure.
struct RefusalVerdict {
  enum class Kind { done, conflict, failed };
  Kind kind = Kind::failed;
  std::string reason{};
};
RefusalVerdict judge_refusal(const consul::TxnOp& op, std::string_view why,
                             const std::optional<consul::KvEntry>& now);

}  // namespace csnap::ops
