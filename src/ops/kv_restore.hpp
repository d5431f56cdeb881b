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

namespace csnap::ops {

// Which backup keys a restore touches, and under which names.
struct KvSelection {
  std::string prefix;          // only backup keys that start with this ("" = all)
  std::string transform_from;  // rewrite this key prefix...
  std::string transform_to;    // ...to this one ("" and "" = no rewrite)
  bool replace = false;        // also delete live keys under target_prefix() the backup lacks

  // The key `key` is restored to, or nothing when the selection leaves it out.
  std::optional<std::string> target(std::string_view key) const;
  // The live prefix a restore writes to (and, with `replace`, makes equal to the backup).
  std::string target_prefix() const;
};

// Parses "OLD=NEW" for --transform.
Result<std::pair<std::string, std::string>> parse_transform(std::string_view text);

enum class KvChangeKind { create, update, remove };
std::string_view to_string(KvChangeKind kind);

struct KvChange {
  KvChangeKind kind;
  std::string key;
};

struct KvPlan {
  std::uint64_t create = 0;
  std::uint64_t update = 0;
  std::uint64_t remove = 0;
  std::uint64_t unchanged = 0;
  std::uint64_t bytes = 0;  // value bytes to write
  bool empty() const { return create + update + remove == 0; }
};

// The live KV under a prefix, as key, flags, size and SHA-256 of the value: enough to tell
// whether a backup entry differs without keeping values in memory.
class LiveKv {
 public:
  static Result<LiveKv> read(consul::Client& consul, std::string_view prefix,
                             const std::filesystem::path& tmp_dir);

  // Whether `key` is missing, different or the same; remembers that `key` was looked at.
  enum class Comparison { missing, different, same };
  Comparison compare(std::string_view key, std::string_view value, std::uint64_t flags);
  // Calls `on_key` for each live key that `compare` never looked at, in key order.
  void for_each_unseen(const std::function<void(const std::string&)>& on_key) const;
  void forget_seen();
  std::size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::string key;
    std::uint64_t flags = 0;
    std::uint64_t size = 0;
    std::array<unsigned char, 32> sha256{};
    bool seen = false;
  };
  std::vector<Entry> entries_;  // sorted by key
};

// Classifies every selected entry of the backup's kv.json against `live`; `on_change`, when set,
// sees each change (creates and updates in backup order, then removals in key order).
Result<KvPlan> plan_kv(const archive::BackupReader& backup, const KvSelection& selection,
                       LiveKv& live, const std::function<void(const KvChange&)>& on_change = {});

struct KvApplied {
  std::uint64_t written = 0;
  std::uint64_t deleted = 0;
  std::uint64_t transactions = 0;
  std::uint64_t plain_puts = 0;
};

// Writes what plan_kv found: sets for creates and updates, deletes for removals (replace mode),
// through /v1/txn within Consul's limits. Unchanged entries are not written.
Result<KvApplied> apply_kv(consul::Client& consul, const archive::BackupReader& backup,
                           const KvSelection& selection, LiveKv& live,
                           const std::function<void(std::uint64_t, std::uint64_t)>& progress = {});

}  // namespace csnap::ops
