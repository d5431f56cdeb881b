#pragma once
// Private to src/archive: how the backup reader copies a member into a spool file, checking it as
// it streams (backup_reader.hpp, "What reading a backup may cost").

#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "util/file.hpp"
#include "util/io.hpp"
#include "util/result.hpp"

namespace csnap::archive::detail {

// Damage found in a backup: an ErrorKind::corrupt error saying `message`.
Error corrupt(std::string message);

// How big member `name` may be, and what is said when it is bigger.
struct SizeLimit {
  std::uint64_t bytes = 0;
  std::string what;  // "the 1234 bytes meta.json declares"
};

// The limit for a member whose size nothing declares: kv.json, or another JSON member.
SizeLimit undeclared_limit(std::string_view member);

// Members that must be JSON: checked as such while they are spooled.
bool is_json_member(std::string_view member);

// The first 12 hex digits of a SHA-256, for error messages.
std::string short_hash(std::string_view hex);

// Member `name`'s bytes from `read_more`, failing once more than `limit` has come through.
class MemberData final : public ByteSource {
 public:
  using ReadMore = std::function<Result<std::size_t>(std::span<std::byte>)>;
  MemberData(std::string_view name, SizeLimit limit, ReadMore read_more)
      : name_(name), limit_(std::move(limit)), read_more_(std::move(read_more)) {}
  Result<std::size_t> read(std::span<std::byte> buffer) override;

 private:
  std::string name_;
  SizeLimit limit_;
  ReadMore read_more_;
  std::uint64_t total_ = 0;
};

// A member's bytes in an unnamed temporary file, with their size and SHA-256.
struct Spooled {
  SpoolFile file;
  std::uint64_t size = 0;
  std::string sha256;
};

// Copies member `name` from `data` into a new spool file in `spool_dir`. A `.json` member is
// parsed on the way (check_json), so that what is not JSON stops the copy at its first bad byte.
Result<Spooled> spool(const std::filesystem::path& spool_dir, std::string_view name,
                      ByteSource& data);

}  // namespace csnap::archive::detail
