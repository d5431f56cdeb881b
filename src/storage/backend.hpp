#pragma once
// Where backups live. A backend only moves bytes: compression and encryption happen before a
// stream reaches it. Keys are '/'-separated, like object storage keys, on every backend.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "util/io.hpp"
#include "util/result.hpp"

namespace csnap::storage {

struct ObjectInfo {
  std::string key;
  std::uint64_t size = 0;
  std::int64_t modified_unix = 0;
};

// An object being written. Readers never see it until `finish` succeeds; destroying it
// unfinished discards everything written.
class Upload : public ByteSink {};

class Backend {
 public:
  virtual ~Backend() = default;
  // Where this backend points, safe to log (no credentials): "file:///var/backups".
  virtual std::string describe() const = 0;
  virtual Result<std::unique_ptr<Upload>> put(std::string_view key) = 0;
  virtual Result<std::unique_ptr<ByteSource>> get(std::string_view key) = 0;
  virtual Result<ObjectInfo> stat(std::string_view key) = 0;
  // Every object whose key starts with `prefix`, in key order.
  virtual Result<std::vector<ObjectInfo>> list(std::string_view prefix) = 0;
  virtual Status remove(std::string_view key) = 0;
};

// Accepts keys made of non-empty '/'-separated segments other than "." and "..", without NUL:
// such a key cannot leave the backend's root on any backend.
Status validate_key(std::string_view key);

}  // namespace csnap::storage
