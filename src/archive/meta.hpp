#pragma once
// meta.json: the first member of a backup. It says what wrote the backup, when, from which
// cluster, and lists the size and SHA-256 of every other member (docs/format.md).

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace csnap::archive {

inline constexpr std::string_view kFormatName = "consul-snapshot";
inline constexpr int kFormatVersion = 1;
inline constexpr std::string_view kMetaMember = "meta.json";
inline constexpr std::string_view kKvMember = "kv.json";
inline constexpr std::string_view kPreparedQueriesMember = "prepared-queries.json";
inline constexpr std::string_view kRaftMember = "raft.snap";

struct MemberInfo {
  std::string name;  // a relative path inside the tar: "kv.json", "acl/policies.json"
  std::uint64_t size = 0;
  std::string sha256;  // 64 lowercase hex digits

  bool operator==(const MemberInfo&) const = default;
};

// What meta.json says of the raft.snap member (Consul's own snapshot), read from it when the
// backup was taken. Its records are Consul's, counted by Consul's type names; they are not
// entries of the logical kinds of `Meta::counts`.
struct RaftMeta {
  std::uint64_t index = 0;     // the Raft index of the snapshot (Consul's meta.json)
  std::uint64_t term = 0;      // its Raft term
  std::string consul_version;  // of the agent that served it
  std::uint64_t kv_keys = 0;   // KVS records
  std::map<std::string, std::uint64_t> records;  // Consul's type name ("KVS") -> records

  bool operator==(const RaftMeta&) const = default;
};

struct Meta {
  std::string format = std::string(kFormatName);
  int format_version = kFormatVersion;
  std::string tool_version;
  std::chrono::sys_seconds started_at{};
  std::chrono::sys_seconds finished_at{};
  std::string hostname;
  std::string node;
  std::string datacenter;
  std::string consul_version;
  std::uint64_t consul_index = 0;
  std::string leader;
  std::string kv_prefix;  // the backup holds only keys under this prefix ("" = the whole KV)
  bool partial = false;
  std::map<std::string, std::uint64_t> counts;  // kind ("kv", "acl-policies"...) -> entries
  std::optional<RaftMeta> raft;                 // set when the backup holds raft.snap
  std::vector<MemberInfo> members;              // every member but meta.json, in tar order

  bool operator==(const Meta&) const = default;
  // The entry for `name`, or nullptr.
  const MemberInfo* find_member(std::string_view name) const;
};

// meta.json text: a JSON object with 2-space indentation and a final newline.
std::string meta_to_json(const Meta& meta);
// Parses and validates meta.json; unknown fields are ignored (later minor additions). Errors are
// ErrorKind::corrupt and start with "meta.json: ".
Result<Meta> meta_from_json(std::string_view text);

// Checks the rules every member name follows: relative, '/'-separated, no empty, "." or ".."
// component, not meta.json.
Status validate_member_name(std::string_view name);

}  // namespace csnap::archive
