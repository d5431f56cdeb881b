#pragma once
// KV entries as Consul returns them, and the streaming parser of a KV listing
// (`GET /v1/kv/<prefix>?recurse`): memory does not grow with the number of entries.

#include <cstdint>
#include <functional>
#include <string>

#include "util/io.hpp"
#include "util/result.hpp"

namespace csnap::consul {

struct KvEntry {
  std::string key{};
  std::string value{};  // decoded bytes; empty for Consul's "Value": null
  std::uint64_t flags = 0;
  std::uint64_t create_index = 0;
  std::uint64_t modify_index = 0;
  std::uint64_t lock_index = 0;
  std::string session{};

  friend bool operator==(const KvEntry&, const KvEntry&) = default;
};

// Parses a JSON array of KV entries from `source` and hands each to `on_entry` in order; stops at
// the first error `on_entry` returns. Bad JSON or base64 is a `corrupt` error. Returns the count.
Result<std::uint64_t> parse_kv_entries(ByteSource& source,
                                       const std::function<Status(KvEntry&&)>& on_entry);

}  // namespace csnap::consul
