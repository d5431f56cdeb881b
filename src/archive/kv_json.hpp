#pragma once
// kv.json: Consul KV entries in exactly the format of `consul kv export`, so that
// `consul kv import` accepts the member as it is. A JSON array of {"key", "flags", "value"}
// objects (value in standard base64), tab-indented, with Go's escaping of <, > and &.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "util/io.hpp"

namespace csnap::archive {

struct KvRecord {
  std::string key;    // valid UTF-8
  std::string value;  // any bytes
  std::uint64_t flags = 0;

  bool operator==(const KvRecord&) const = default;
};

// Streams entries to `out` as they are added; holds at most one buffer of output.
class KvJsonWriter {
 public:
  explicit KvJsonWriter(ByteSink& out) : out_(&out) {}

  // Appends one entry; fails with ErrorKind::invalid_argument when `key` is not valid UTF-8.
  Status add(std::string_view key, std::string_view value, std::uint64_t flags);
  // Writes the closing bracket and flushes; does not finish `out`.
  Status finish();
  std::uint64_t count() const { return count_; }

 private:
  Status flush();

  ByteSink* out_;
  std::string buffer_;
  std::uint64_t count_ = 0;
  bool finished_ = false;
};

// Parses kv.json from `source` one entry at a time, calling `on_record` for each; stops at the
// first error `on_record` returns and returns it. Malformed input is ErrorKind::corrupt, naming
// the entry index and, once known, its key.
Status read_kv_json(ByteSource& source, const std::function<Status(KvRecord&&)>& on_record);

// Reads `source`, member `name`, as one JSON document, checking its syntax, its UTF-8 and that it
// nests at most `max_depth` deep, keeping none of it; stops at the first bad byte with
// ErrorKind::corrupt ("kv.json: invalid JSON at byte N: ..."). Never recurses. Errors of
// `source` are returned as they are.
Status check_json(ByteSource& source, std::string_view name, int max_depth);

}  // namespace csnap::archive
