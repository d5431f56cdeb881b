#pragma once
// Private to src/archive: the verification of a current-format backup's members against its
// meta.json, one member at a time as the reader meets them and once at the end of the stream.
// It decides from what the reader tells it, and reads nothing itself.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "archive/member_spool.hpp"
#include "archive/meta.hpp"

namespace csnap::archive::detail {

class MemberCheck {
 public:
  // Checks `meta`'s declared sizes: a JSON member other than kv.json may not declare more than
  // kJsonMemberMaxSize, so that it is refused before any of it is spooled.
  static Result<MemberCheck> start(const Meta& meta);

  // Before member `name`'s bytes are read: it must be listed in meta.json and not met before.
  // Returns the size it may not exceed while it is spooled, the one meta.json declares.
  Result<SizeLimit> admit(std::string_view name) const;

  // After member `name` (admitted) was spooled: the `size` and `sha256` it had.
  void record(std::string_view name, std::uint64_t size, std::string sha256);

  // At the end of the stream: every member meta.json lists was met, with its declared size and
  // SHA-256.
  Status finish() const;

 private:
  struct Seen {
    std::uint64_t size = 0;
    std::string sha256;
  };

  explicit MemberCheck(Meta meta) : meta_(std::move(meta)) {}

  Meta meta_;
  std::map<std::string, Seen, std::less<>> seen_;
};

}  // namespace csnap::archive::detail
