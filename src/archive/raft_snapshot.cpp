#include "archive/raft_snapshot.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <exception>
#include <utility>

#include <fmt/format.h>

#include "archive/tar_stream.hpp"
#include "codec/gzip.hpp"
#include "codec/sha256.hpp"
#include "util/json_parse.hpp"

namespace csnap::archive {

namespace {

using detail::corrupt;

// Consul's names (structs.requestTypeStrings), by type number.
constexpr std::array<std::string_view, 44> kTypeNames = {
    "Register",
    "Deregister",
    "KVS",
    "Session",
    "ACL",
    "Tombstone",
    "CoordinateBatchUpdate",
    "PreparedQuery",
    "Txn",
    "Autopilot",
    "Area",
    "ACLBootstrap",
    "Intention",
    "ConnectCA",
    "ConnectCAProviderState",
    "ConnectCAConfig",
    "Index",
    "ACLToken",
    "ACLTokenDelete",
    "ACLPolicy",
    "ACLPolicyDelete",
    "ConnectCALeaf",
    "ConfigEntry",
    "ACLRole",
    "ACLRoleDelete",
    "ACLBindingRule",
    "ACLBindingRuleDelete",
    "ACLAuthMethod",
    "ACLAuthMethodDelete",
    "ChunkingState",
    "FederationState",
    "SystemMetadata",
    "ServiceVirtualIP",
    "FreeVirtualIP",
    "KindServiceName",
    "Peering",
    "PeeringDelete",
    "PeeringTerminateByID",
    "PeeringTrustBundle",
    "PeeringTrustBundleDelete",
    "PeeringSecret",
    "RaftLogVerifierCheckpoint",
    "Resource",
    "UpdateManualVirtualIPRequestType",
};

constexpr std::size_t kInputBufferSize = std::size_t{64} * 1024;

// state.bin's bytes, read through a buffer.
class StateInput {
 public:
  explicit StateInput(ByteSource& source) : source_(&source), buffer_(kInputBufferSize) {}

  // The next byte, or nothing at the end of the stream.
  Result<std::optional<std::uint8_t>> next() {
    if (position_ == end_) {
      CSNAP_ASSIGN_OR_RETURN(bool more, fill());
      if (!more)
        return std::optional<std::uint8_t>();
    }
    ++offset_;
    return std::optional<std::uint8_t>(std::to_integer<std::uint8_t>(buffer_[position_++]));
  }

  // Passes the next `count` bytes, appending them to `copy` unless it is null; false when the
  // stream ends first.
  Result<bool> take(std::uint64_t count, std::string* copy) {
    while (count > 0) {
      if (position_ == end_) {
        CSNAP_ASSIGN_OR_RETURN(bool more, fill());
        if (!more)
          return false;
      }
      std::size_t step = static_cast<std::size_t>(std::min<std::uint64_t>(count, end_ - position_));
      if (copy != nullptr)
        copy->append(reinterpret_cast<const char*>(buffer_.data() + position_), step);
      position_ += step;
      offset_ += step;
      count -= step;
    }
    return true;
  }

  // Bytes passed so far.
  std::uint64_t offset() const { return offset_; }

 private:
  Result<bool> fill() {
    CSNAP_ASSIGN_OR_RETURN(std::size_t count, source_->read(buffer_));
    position_ = 0;
    end_ = count;
    return count > 0;
  }

  ByteSource* source_;
  std::vector<std::byte> buffer_;
  std::size_t position_ = 0;
  std::size_t end_ = 0;
  std::uint64_t offset_ = 0;
};

// The source's own errors (a damaged gzip or tar) pass unchanged; what the scanner finds wrong in
// the msgpack is a `ScanFailure::damage`.
struct ScanFailure {
  Error error;
  bool damage = false;
};

template <typename T>
using ScanResult = std::variant<T, ScanFailure>;

// Finds the extent of one msgpack value without building it: every header is checked against the
// limits as it is read, a container's element count only adds to a counter (its elements are
// read one by one, never allocated from the header), and nesting lives in a vector capped at
// `limits.max_depth`. msgpack-c's parser needs the whole value in memory and allocates a
// container's slots from its header; it only ever sees values this scanner passed.
class ValueScanner {
 public:
  ValueScanner(StateInput& input, const RaftLimits& limits) : input_(&input), limits_(&limits) {}

  // Scans one value, appending its bytes to `copy` unless null; returns its size in bytes.
  ScanResult<std::uint64_t> scan(std::string* copy) {
    copy_ = copy;
    start_ = input_->offset();
    values_ = 0;
    open_.clear();
    if (auto failure = item())
      return std::move(*failure);
    while (!open_.empty()) {
      if (open_.back() == 0) {
        open_.pop_back();
        continue;
      }
      --open_.back();
      if (auto failure = item())
        return std::move(*failure);
    }
    return input_->offset() - start_;
  }

 private:
  std::optional<ScanFailure> damage(std::string message) const {
    return ScanFailure{corrupt(fmt::format("byte {} of the value: {}", input_->offset() - start_,
                                           std::move(message))),
                       true};
  }

  std::optional<ScanFailure> truncated() const {
    return ScanFailure{corrupt("the value is cut short (its bytes end)"), true};
  }

  // Reads one byte into `out`.
  std::optional<ScanFailure> byte(std::uint8_t& out) {
    auto got = input_->next();
    if (!got)
      return ScanFailure{std::move(got).error(), false};
    if (!got->has_value())
      return truncated();
    out = **got;
    if (copy_ != nullptr)
      copy_->push_back(static_cast<char>(out));
    return std::nullopt;
  }

  // Reads a big-endian length of `width` bytes.
  std::optional<ScanFailure> length(int width, std::uint64_t& out) {
    out = 0;
    for (int i = 0; i < width; ++i) {
      std::uint8_t next = 0;
      if (auto failure = byte(next))
        return failure;
      out = (out << 8) | next;
    }
    return std::nullopt;
  }

  std::optional<ScanFailure> skip(std::uint64_t count) {
    std::uint64_t used = input_->offset() - start_;
    if (count > limits_->max_record_size || used + count > limits_->max_record_size) {
      return damage(fmt::format("{} more bytes would pass the {} bytes a record may hold", count,
                                limits_->max_record_size));
    }
    auto got = input_->take(count, copy_);
    if (!got)
      return ScanFailure{std::move(got).error(), false};
    if (!*got)
      return truncated();
    return std::nullopt;
  }

  std::optional<ScanFailure> container(std::string_view kind, std::uint64_t elements,
                                       std::uint64_t items) {
    if (open_.size() >= limits_->max_depth) {
      return damage(fmt::format("containers nested deeper than {} levels", limits_->max_depth));
    }
    if (items > limits_->max_record_values - std::min(values_, limits_->max_record_values)) {
      return damage(fmt::format("{} of {} entries: more than the {} values a record may hold", kind,
                                elements, limits_->max_record_values));
    }
    open_.push_back(items);
    return std::nullopt;
  }

  // One value's header and, for a string, binary or scalar, its payload.
  std::optional<ScanFailure> item() {
    if (++values_ > limits_->max_record_values) {
      return damage(
          fmt::format("more than the {} values a record may hold", limits_->max_record_values));
    }
    std::uint8_t head = 0;
    if (auto failure = byte(head))
      return failure;
    if (head <= 0x7f || head >= 0xe0 || head == 0xc0 || head == 0xc2 || head == 0xc3)
      return std::nullopt;  // fixint, nil, false, true
    if (head <= 0x8f)
      return container("a map", head & 0x0fU, std::uint64_t{head & 0x0fU} * 2);
    if (head <= 0x9f)
      return container("an array", head & 0x0fU, head & 0x0fU);
    if (head <= 0xbf)
      return skip(head & 0x1fU);  // fixstr
    std::uint64_t size = 0;
    switch (head) {
      case 0xc4:
      case 0xc5:
      case 0xc6:  // bin 8, 16, 32
      case 0xd9:
      case 0xda:
      case 0xdb: {  // str 8, 16, 32
        int width = head <= 0xc6 ? 1 << (head - 0xc4) : 1 << (head - 0xd9);
        if (auto failure = length(width, size))
          return failure;
        return skip(size);
      }
      case 0xc7:
      case 0xc8:
      case 0xc9:  // ext 8, 16, 32: the type byte follows the length
        if (auto failure = length(1 << (head - 0xc7), size))
          return failure;
        return skip(size + 1);
      case 0xca:
        return skip(4);  // float 32
      case 0xcb:
        return skip(8);  // float 64
      case 0xcc:
      case 0xcd:
      case 0xce:
      case 0xcf:
        return skip(std::uint64_t{1} << (head - 0xcc));  // uint 8..64
      case 0xd0:
      case 0xd1:
      case 0xd2:
      case 0xd3:
        return skip(std::uint64_t{1} << (head - 0xd0));  // int 8..64
      case 0xd4:
      case 0xd5:
      case 0xd6:
      case 0xd7:
      case 0xd8:
        return skip((std::uint64_t{1} << (head - 0xd4)) + 1);  // fixext 1..16 and its type
      case 0xdc:
      case 0xdd:  // array 16, 32
        if (auto failure = length(head == 0xdc ? 2 : 4, size))
          return failure;
        return container("an array", size, size);
      case 0xde:
      case 0xdf:  // map 16, 32
        if (auto failure = length(head == 0xde ? 2 : 4, size))
          return failure;
        return container("a map", size, size * 2);
      default:  // 0xc1
        return damage("byte 0xc1, which msgpack never uses");
    }
  }

  StateInput* input_;
  const RaftLimits* limits_;
  std::string* copy_ = nullptr;
  std::uint64_t start_ = 0;
  std::uint64_t values_ = 0;
  std::vector<std::uint64_t> open_;  // elements still to read in each open container
};

// Builds the msgpack::object of `bytes`, one whole value the scanner passed. With `borrow`,
// strings and binaries point into `bytes`, which must outlive the handle; else the handle owns
// copies.
Result<msgpack::object_handle> unpack_value(std::string_view bytes, const RaftLimits& limits,
                                            bool borrow = true) {
  auto cap = [](std::uint64_t value) {
    return static_cast<std::size_t>(std::min<std::uint64_t>(value, 0xffffffffU));
  };
  msgpack::unpack_limit limit(cap(limits.max_record_values), cap(limits.max_record_values),
                              cap(limits.max_record_size), cap(limits.max_record_size),
                              cap(limits.max_record_size), limits.max_depth);
  try {
    std::size_t offset = 0;
    msgpack::object_handle handle = msgpack::unpack(
        bytes.data(), bytes.size(), offset,
        [](msgpack::type::object_type, std::size_t, void* user_data) {
          return *static_cast<bool*>(user_data);
        },
        &borrow, limit);
    if (offset != bytes.size())
      return corrupt(fmt::format("msgpack: {} bytes after the value", bytes.size() - offset));
    return handle;
  } catch (const std::exception& failure) {
    return corrupt(fmt::format("msgpack: {}", failure.what()));
  }
}

std::string record_context(std::uint64_t number, std::uint8_t type, std::uint64_t offset) {
  return fmt::format("{}: record {} ({}) at byte {}", kRaftStateMember, number,
                     raft_type_name(type), offset);
}

Result<std::uint64_t> unsigned_field(const msgpack::object& map, std::string_view name,
                                     bool required) {
  const msgpack::object* field = raft_field(map, name);
  if (field == nullptr || field->type == msgpack::type::NIL) {
    if (required)
      return corrupt(fmt::format("no {}", name));
    return std::uint64_t{0};
  }
  if (field->type != msgpack::type::POSITIVE_INTEGER)
    return corrupt(fmt::format("{} is not an unsigned integer", name));
  return field->via.u64;
}

// A string or bytes field. Consul's msgpack (go-msgpack, the old "raw" spec) writes Go strings
// and []byte alike as str, whatever bytes they hold; bin is taken too. nil is empty.
Result<std::string> bytes_field(const msgpack::object& map, std::string_view name, bool required) {
  const msgpack::object* field = raft_field(map, name);
  if (field == nullptr || field->type == msgpack::type::NIL) {
    if (required)
      return corrupt(fmt::format("no {}", name));
    return std::string();
  }
  if (field->type == msgpack::type::STR)
    return std::string(field->via.str.ptr, field->via.str.size);
  if (field->type == msgpack::type::BIN)
    return std::string(field->via.bin.ptr, field->via.bin.size);
  return corrupt(fmt::format("{} is not a string", name));
}

Result<std::uint64_t> json_unsigned(const nlohmann::json& meta, const char* name) {
  auto field = meta.find(name);
  if (field == meta.end())
    return corrupt(fmt::format("{}: no {}", kRaftMetaMember, name));
  if (!field->is_number_unsigned() &&
      !(field->is_number_integer() && field->get<std::int64_t>() >= 0))
    return corrupt(fmt::format("{}: {} is not a non-negative integer", kRaftMetaMember, name));
  return field->get<std::uint64_t>();
}

// SHA256SUMS: "<64 hex digits>  <name>" lines (Go's "%x  %s\n"), listing exactly meta.json and
// state.bin, each once, in any order (Consul writes them in map order).
Result<std::array<std::string, 2>> parse_sums(std::string_view text) {
  std::array<std::string, 2> sums;  // meta.json, state.bin
  if (text.empty())
    return corrupt(fmt::format("{}: empty", kRaftSumsMember));
  if (!text.ends_with('\n'))
    return corrupt(fmt::format("{}: does not end with a newline", kRaftSumsMember));
  std::size_t line_number = 0;
  while (!text.empty()) {
    ++line_number;
    std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end + 1);
    if (line.size() < 67 || line.substr(64, 2) != "  " ||
        !codec::is_sha256_hex(line.substr(0, 64))) {
      return corrupt(fmt::format("{}: line {} is not \"<SHA-256 in hex>  <file>\"", kRaftSumsMember,
                                 line_number));
    }
    std::string_view name = line.substr(66);
    std::size_t slot = 0;
    if (name == kRaftMetaMember) {
      slot = 0;
    } else if (name == kRaftStateMember) {
      slot = 1;
    } else {
      return corrupt(fmt::format("{}: line {} lists a file the snapshot does not hold",
                                 kRaftSumsMember, line_number));
    }
    if (!sums.at(slot).empty())
      return corrupt(fmt::format("{}: {} is listed twice", kRaftSumsMember, name));
    sums.at(slot) = std::string(line.substr(0, 64));
  }
  for (std::size_t slot = 0; slot < sums.size(); ++slot) {
    if (sums.at(slot).empty()) {
      return corrupt(fmt::format("{}: does not list {}", kRaftSumsMember,
                                 slot == 0 ? kRaftMetaMember : kRaftStateMember));
    }
  }
  return sums;
}

Status check_sum(std::string_view member, const std::string& actual, const std::string& listed) {
  if (actual == listed)
    return {};
  return corrupt(fmt::format("{}: SHA-256 mismatch: the member's is {}, {} lists {}", member,
                             actual, kRaftSumsMember, listed));
}

}  // namespace

std::string raft_type_name(std::uint8_t type) {
  if (type < kTypeNames.size())
    return std::string(kTypeNames.at(type));
  return fmt::format("Unknown {}", type);
}

bool is_restorable_raft_type(std::uint8_t type) {
  switch (static_cast<RaftRecordType>(type)) {
    case RaftRecordType::kv:
    case RaftRecordType::prepared_query:
    case RaftRecordType::acl_token:
    case RaftRecordType::acl_policy:
    case RaftRecordType::config_entry:
    case RaftRecordType::acl_role:
    case RaftRecordType::acl_binding_rule:
    case RaftRecordType::acl_auth_method:
      return true;
    default:
      return false;
  }
}

const msgpack::object* raft_field(const msgpack::object& map, std::string_view name) {
  if (map.type != msgpack::type::MAP)
    return nullptr;
  for (std::uint32_t i = 0; i < map.via.map.size; ++i) {
    const msgpack::object_kv& entry = map.via.map.ptr[i];
    if (entry.key.type == msgpack::type::STR &&
        std::string_view(entry.key.via.str.ptr, entry.key.via.str.size) == name) {
      return &entry.val;
    }
  }
  return nullptr;
}

Result<RaftKvEntry> decode_raft_kv_entry(const msgpack::object& value) {
  if (value.type != msgpack::type::MAP)
    return corrupt("a KV entry that is not a map");
  RaftKvEntry entry;
  CSNAP_ASSIGN_OR_RETURN(entry.key, bytes_field(value, "Key", true));
  CSNAP_ASSIGN_OR_RETURN(entry.flags, unsigned_field(value, "Flags", false));
  CSNAP_ASSIGN_OR_RETURN(entry.value, bytes_field(value, "Value", false));
  CSNAP_ASSIGN_OR_RETURN(entry.session, bytes_field(value, "Session", false));
  CSNAP_ASSIGN_OR_RETURN(entry.lock_index, unsigned_field(value, "LockIndex", false));
  CSNAP_ASSIGN_OR_RETURN(entry.create_index, unsigned_field(value, "CreateIndex", false));
  CSNAP_ASSIGN_OR_RETURN(entry.modify_index, unsigned_field(value, "ModifyIndex", false));
  return entry;
}

Result<RaftConfigEntry> decode_raft_config_entry(const msgpack::object& value,
                                                 const RaftLimits& limits) {
  if (value.type != msgpack::type::STR && value.type != msgpack::type::BIN)
    return corrupt("a config entry request that is not a string of msgpack");
  std::string_view bytes = value.type == msgpack::type::STR
                               ? std::string_view(value.via.str.ptr, value.via.str.size)
                               : std::string_view(value.via.bin.ptr, value.via.bin.size);
  MemorySource source(bytes);
  StateInput input(source);
  ValueScanner scanner(input, limits);
  std::string kind_bytes;
  std::string request_bytes;
  for (std::string* copy : {&kind_bytes, &request_bytes}) {
    auto scanned = scanner.scan(copy);
    if (auto* failure = std::get_if<ScanFailure>(&scanned))
      return std::move(failure->error.add_context("a config entry request"));
  }
  if (input.offset() != bytes.size())
    return corrupt("a config entry request: bytes after its two values");
  CSNAP_ASSIGN_OR_RETURN(auto kind, unpack_value(kind_bytes, limits));
  if (kind->type != msgpack::type::STR)
    return corrupt("a config entry request whose kind is not a string");
  RaftConfigEntry entry;
  entry.kind.assign(kind->via.str.ptr, kind->via.str.size);
  CSNAP_ASSIGN_OR_RETURN(entry.request, unpack_value(request_bytes, limits, false));
  entry.entry = raft_field(entry.request.get(), "Entry");
  if (entry.entry == nullptr || entry.entry->type != msgpack::type::MAP)
    return corrupt("a config entry request without an Entry map");
  return entry;
}

Result<RaftStateSummary> read_raft_state(ByteSource& state, const RaftReadOptions& options) {
  StateInput input(state);
  ValueScanner scanner(input, options.limits);
  RaftStateSummary summary;
  std::string bytes;

  // The header: Consul's SnapshotHeader, a map holding LastIndex.
  {
    auto scanned = scanner.scan(&bytes);
    if (auto* failure = std::get_if<ScanFailure>(&scanned)) {
      if (failure->damage)
        failure->error.add_context(fmt::format("{}: the header", kRaftStateMember));
      return std::move(failure->error);
    }
    auto header = unpack_value(bytes, options.limits);
    if (!header)
      return std::move(header.error().add_context(fmt::format("{}: the header", kRaftStateMember)));
    auto last_index = unsigned_field(header->get(), "LastIndex", true);
    if (!last_index) {
      return corrupt(fmt::format("{}: the header is not Consul's snapshot header: {}",
                                 kRaftStateMember, last_index.error().message()));
    }
    summary.last_index = *last_index;
  }

  std::array<RaftTypeStats, 256> stats{};
  while (true) {
    std::uint64_t offset = input.offset();
    CSNAP_ASSIGN_OR_RETURN(std::optional<std::uint8_t> type, input.next());
    if (!type)
      break;
    RaftRecord record;
    record.number = ++summary.records;
    record.type = *type;
    bool decode = options.decode && options.decode(record.type);
    bytes.clear();
    auto scanned = scanner.scan(decode ? &bytes : nullptr);
    if (auto* failure = std::get_if<ScanFailure>(&scanned)) {
      if (failure->damage)
        failure->error.add_context(record_context(record.number, record.type, offset));
      return std::move(failure->error);
    }
    record.size = std::get<std::uint64_t>(scanned);
    std::optional<msgpack::object_handle> handle;
    if (decode) {
      auto unpacked = unpack_value(bytes, options.limits);
      if (!unpacked) {
        return std::move(
            unpacked.error().add_context(record_context(record.number, record.type, offset)));
      }
      handle.emplace(std::move(unpacked).value());
      record.value = &handle->get();
    }
    RaftTypeStats& entry = stats.at(record.type);
    ++entry.count;
    entry.bytes += 1 + record.size;
    if (record.type == static_cast<std::uint8_t>(RaftRecordType::kv))
      ++summary.kv_keys;
    if (options.on_record) {
      CSNAP_TRY_CONTEXT(options.on_record(record),
                        record_context(record.number, record.type, offset));
    }
  }
  summary.size = input.offset();
  for (std::size_t type = 0; type < stats.size(); ++type) {
    if (stats.at(type).count == 0)
      continue;
    RaftTypeStats entry = stats.at(type);
    entry.type = static_cast<std::uint8_t>(type);
    entry.name = raft_type_name(entry.type);
    summary.types.push_back(std::move(entry));
  }
  return summary;
}

Result<RaftSnapshotMeta> parse_raft_meta(std::string_view text) {
  CSNAP_ASSIGN_OR_RETURN(nlohmann::json json, parse_json_document(text, kRaftMetaMember));
  if (!json.is_object())
    return corrupt(fmt::format("{}: not a JSON object", kRaftMetaMember));
  RaftSnapshotMeta meta;
  CSNAP_ASSIGN_OR_RETURN(std::uint64_t version, json_unsigned(json, "Version"));
  if (version > 1000)
    return corrupt(
        fmt::format("{}: Version {} is not a Raft snapshot version", kRaftMetaMember, version));
  meta.version = static_cast<int>(version);
  auto id = json.find("ID");
  if (id == json.end() || !id->is_string())
    return corrupt(fmt::format("{}: no ID string", kRaftMetaMember));
  meta.id = id->get<std::string>();
  CSNAP_ASSIGN_OR_RETURN(meta.index, json_unsigned(json, "Index"));
  CSNAP_ASSIGN_OR_RETURN(meta.term, json_unsigned(json, "Term"));
  CSNAP_ASSIGN_OR_RETURN(meta.size, json_unsigned(json, "Size"));
  if (json.contains("ConfigurationIndex")) {
    CSNAP_ASSIGN_OR_RETURN(meta.configuration_index, json_unsigned(json, "ConfigurationIndex"));
  }
  return meta;
}

Result<RaftSnapshotSummary> read_raft_snapshot(ByteSource& source, const RaftReadOptions& options) {
  PeekSource peek(source);
  CSNAP_ASSIGN_OR_RETURN(auto magic, peek.peek(2));
  if (magic.size() < 2 || magic[0] != std::byte{0x1f} || magic[1] != std::byte{0x8b})
    return corrupt("not a Consul snapshot: it does not start with a gzip header");
  codec::GzipDecompressSource gzip(peek);
  detail::TarStream tar(gzip);
  CSNAP_TRY_CONTEXT(tar.open(), "Consul snapshot");

  RaftSnapshotSummary summary;
  // Consul writes meta.json, state.bin and SHA256SUMS, in that order (snapshot/archive.go).
  constexpr std::array<std::string_view, 3> kOrder = {kRaftMetaMember, kRaftStateMember,
                                                      kRaftSumsMember};
  std::string sums_text;
  std::string previous;
  for (std::string_view expected : kOrder) {
    CSNAP_ASSIGN_OR_RETURN(struct archive_entry * entry, tar.next(previous));
    if (entry == nullptr) {
      return corrupt(fmt::format("Consul snapshot: no {} (the archive ends{})", expected,
                                 previous.empty() ? "" : " after " + previous));
    }
    CSNAP_ASSIGN_OR_RETURN(std::string name, detail::TarStream::name(entry));
    if (name != expected) {
      bool known = std::find(kOrder.begin(), kOrder.end(), name) != kOrder.end();
      return corrupt(fmt::format(
          "Consul snapshot: {} where {} should be ({})", name, expected,
          known ? "a member twice or out of order: Consul writes meta.json, state.bin, SHA256SUMS"
                : "a member a Consul snapshot does not hold"));
    }
    CSNAP_TRY(detail::check_regular_file(entry, name));
    if (name == kRaftMetaMember) {
      CSNAP_ASSIGN_OR_RETURN(std::string text, tar.read_small(entry, name, kRaftMetaMaxSize));
      summary.meta_sha256 = codec::Sha256::hex_of(text);
      CSNAP_ASSIGN_OR_RETURN(summary.meta, parse_raft_meta(text));
    } else if (name == kRaftStateMember) {
      std::uint64_t declared = summary.meta.size;
      if (archive_entry_size_is_set(entry) != 0 &&
          static_cast<std::uint64_t>(archive_entry_size(entry)) != declared) {
        return corrupt(fmt::format("{}: its tar header says {} bytes, {} says {}", name,
                                   archive_entry_size(entry), kRaftMetaMember, declared));
      }
      CSNAP_ASSIGN_OR_RETURN(
          auto data,
          tar.data(entry, name,
                   {declared, fmt::format("the {} bytes {} declares", declared, kRaftMetaMember)}));
      codec::HashingSource hashing(data);
      CSNAP_ASSIGN_OR_RETURN(summary.state, read_raft_state(hashing, options));
      if (!hashing.at_end())
        return Error(ErrorKind::internal, "state.bin: not read to its end");
      if (hashing.size() != declared) {
        return corrupt(fmt::format("{}: {} bytes, {} says {}", name, hashing.size(),
                                   kRaftMetaMember, declared));
      }
      summary.state_sha256 = hashing.sha256_hex();
    } else {
      CSNAP_ASSIGN_OR_RETURN(sums_text, tar.read_small(entry, name, kRaftSumsMaxSize));
    }
    previous = std::move(name);
  }
  CSNAP_ASSIGN_OR_RETURN(struct archive_entry * extra, tar.next(previous));
  if (extra != nullptr) {
    auto name = detail::TarStream::name(extra);
    return corrupt(fmt::format("Consul snapshot: an extra member {} after {}",
                               name ? *name : std::string("(unnamed)"), kRaftSumsMember));
  }
  CSNAP_TRY_CONTEXT(tar.expect_clean_end(), "Consul snapshot");

  CSNAP_ASSIGN_OR_RETURN(auto sums, parse_sums(sums_text));
  CSNAP_TRY(check_sum(kRaftMetaMember, summary.meta_sha256, sums[0]));
  CSNAP_TRY(check_sum(kRaftStateMember, summary.state_sha256, sums[1]));
  return summary;
}

}  // namespace csnap::archive
