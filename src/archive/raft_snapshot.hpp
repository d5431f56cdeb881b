#pragma once
// Consul's own snapshot (`GET /v1/snapshot`, `consul snapshot save`), read offline and as hostile
// input: a gzip of a tar holding meta.json, state.bin and SHA256SUMS (docs/format.md, "Consul's
// Raft snapshot"). state.bin is a msgpack header, then records: one type byte (Consul's
// structs.MessageType), then one msgpack value. Nothing here holds state.bin whole: it streams,
// and only one record at a time is ever in memory.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <msgpack.hpp>

#include "util/io.hpp"
#include "util/result.hpp"

namespace csnap::archive {

inline constexpr std::string_view kRaftMetaMember = "meta.json";
inline constexpr std::string_view kRaftStateMember = "state.bin";
inline constexpr std::string_view kRaftSumsMember = "SHA256SUMS";
// Consul's meta.json is a few hundred bytes (a few KiB with many servers); SHA256SUMS two lines.
inline constexpr std::uint64_t kRaftMetaMaxSize = std::uint64_t{1} << 20;
inline constexpr std::uint64_t kRaftSumsMaxSize = 4096;

// The record types (Consul's agent/structs MessageType) that this tool decodes or names. Consul
// only ever adds types, so a reader meets numbers it does not know: they are counted and skipped.
enum class RaftRecordType : std::uint8_t {
  registration = 0,
  kv = 2,
  session = 3,
  tombstone = 5,
  coordinate_batch_update = 6,
  prepared_query = 7,
  autopilot = 9,
  intention = 12,
  connect_ca = 13,
  connect_ca_provider_state = 14,
  connect_ca_config = 15,
  index = 16,
  acl_token = 17,
  acl_policy = 19,
  config_entry = 22,
  acl_role = 23,
  acl_binding_rule = 25,
  acl_auth_method = 27,
  chunking_state = 29,
  federation_state = 30,
  system_metadata = 31,
  service_virtual_ip = 32,
  free_virtual_ip = 33,
  peering = 35,
  peering_trust_bundle = 38,
  peering_secrets = 40,
  resource = 42,
};

// Consul's name of record type `type` ("KVS", "ACLToken", as `consul snapshot inspect` prints
// them), or "Unknown N".
std::string raft_type_name(std::uint8_t type);

// The types a logical restore uses (KV, prepared queries, the ACL objects, config entries): the
// ones `RaftReadOptions::decode` asks for unless told otherwise.
bool is_restorable_raft_type(std::uint8_t type);

// meta.json: Raft's SnapshotMeta.
struct RaftSnapshotMeta {
  int version = 0;  // Raft's snapshot format version (1)
  std::string id;   // "2-11-1602262512378": term, index, milliseconds
  std::uint64_t index = 0;
  std::uint64_t term = 0;
  std::uint64_t size = 0;  // of state.bin
  std::uint64_t configuration_index = 0;
};

// What reading a record may cost. A record is one object of Consul's (a KV entry, a token); the
// caps are far above what Consul writes and bound memory to a small multiple of `max_record_size`.
struct RaftLimits {
  std::uint64_t max_record_size = std::uint64_t{64} << 20;   // bytes of one msgpack value
  std::uint64_t max_record_values = std::uint64_t{1} << 20;  // msgpack values inside one record
  std::size_t max_depth = 32;  // containers nested in one value (Consul's nest < 10)
};

// One record of state.bin, as handed to `RaftReadOptions::on_record`.
struct RaftRecord {
  std::uint64_t number = 0;  // 1 for the first record after the header
  std::uint8_t type = 0;
  std::uint64_t size = 0;  // bytes of the msgpack value (the type byte not included)
  // The value, valid during the call; null for a type `decode` did not ask for.
  const msgpack::object* value = nullptr;
};

struct RaftReadOptions {
  // Which record types to decode into a msgpack::object; the others are only framed and counted.
  std::function<bool(std::uint8_t type)> decode = is_restorable_raft_type;
  // Called for every record, in order; an error stops the read and is returned with context.
  std::function<Status(const RaftRecord&)> on_record;
  RaftLimits limits;
};

// Records and bytes per type.
struct RaftTypeStats {
  std::uint8_t type = 0;
  std::string name;  // raft_type_name(type)
  std::uint64_t count = 0;
  std::uint64_t bytes = 0;  // type bytes and values
};

// What a read of state.bin found.
struct RaftStateSummary {
  std::uint64_t last_index = 0;  // the header's LastIndex
  std::uint64_t records = 0;
  std::uint64_t kv_keys = 0;         // KVS records (tombstones are not keys)
  std::uint64_t size = 0;            // bytes of state.bin
  std::vector<RaftTypeStats> types;  // by type number, only types present
};

struct RaftSnapshotSummary {
  RaftSnapshotMeta meta;
  RaftStateSummary state;
  std::string meta_sha256;  // both verified against SHA256SUMS
  std::string state_sha256;
};

// Reads a Consul snapshot archive (gzip, tar) from `source`, to its end: exactly the members
// meta.json, state.bin and SHA256SUMS, each once, regular files, meta.json and SHA256SUMS within
// their caps and state.bin of the size meta.json says; SHA256SUMS must list exactly those two with
// their SHA-256s, as `consul snapshot inspect` checks; the gzip and tar end cleanly. Every record
// of state.bin goes to `options.on_record` as it streams past, BEFORE SHA256SUMS (the last member)
// is checked: a caller that acts on records must hold them until this returned success. Damage is
// ErrorKind::corrupt, naming the member and the problem.
Result<RaftSnapshotSummary> read_raft_snapshot(ByteSource& source,
                                               const RaftReadOptions& options = {});

// Reads state.bin alone from `state` (no checksums): the header, then every record to the end.
Result<RaftStateSummary> read_raft_state(ByteSource& state, const RaftReadOptions& options = {});

// meta.json's text parsed; Version, ID, Index, Term and Size are required.
Result<RaftSnapshotMeta> parse_raft_meta(std::string_view text);

// A KV entry (Consul's DirEntry) of a KVS record.
struct RaftKvEntry {
  std::string key;
  std::uint64_t flags = 0;
  std::string value;    // exact bytes; empty for none
  std::string session;  // the session holding its lock, or empty
  std::uint64_t lock_index = 0;
  std::uint64_t create_index = 0;
  std::uint64_t modify_index = 0;
};

// The KV entry in `value` (a KVS record's); a missing Key or a field of the wrong type is
// ErrorKind::corrupt. Fields it does not know (Namespace, Partition) are ignored.
Result<RaftKvEntry> decode_raft_kv_entry(const msgpack::object& value);

// A config entry of a ConfigEntry record. Consul writes its ConfigEntryRequest in the request's
// own binary form: a msgpack string whose bytes are two msgpack values, the entry's kind and the
// request (a map whose "Entry" is the config entry).
struct RaftConfigEntry {
  std::string kind;                // "service-defaults"
  msgpack::object_handle request;  // owns its bytes
  // The entry itself: the request's "Entry" map, inside `request`; never null once decoded.
  const msgpack::object* entry = nullptr;
};

// The config entry of `value` (a ConfigEntry record's), its inner values read within `limits`
// like any record; anything else is ErrorKind::corrupt.
Result<RaftConfigEntry> decode_raft_config_entry(const msgpack::object& value,
                                                 const RaftLimits& limits = {});

// The value of field `name` in msgpack map `map` (keys are strings), or null when `map` is not a
// map or has no such field.
const msgpack::object* raft_field(const msgpack::object& map, std::string_view name);

}  // namespace csnap::archive
