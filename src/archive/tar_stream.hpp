#pragma once
// Private to src/archive: one pass over a backup's tar stream with libarchive, for the readers.

#include <cstdint>
#include <string>
#include <string_view>

#include "archive/member_spool.hpp"
#include "archive/tar_io.hpp"

namespace csnap::archive::detail {

// A sparse member reads as zeros for its holes: a few bytes of header could stand for terabytes.
// So member `name` (of `entry`) must be a plain regular file.
Status check_regular_file(struct archive_entry* entry, std::string_view name);

// One pass over a tar stream with libarchive.
class TarStream {
 public:
  explicit TarStream(ByteSource& source);
  TarStream(const TarStream&) = delete;
  TarStream& operator=(const TarStream&) = delete;

  Status open();

  // The next entry, or nullptr at the end of the archive; `after` names the entry before.
  Result<struct archive_entry*> next(std::string_view after);

  static Result<std::string> name(struct archive_entry* entry);

  // The data of the current entry, whose tar header must not claim more than `limit`; more than
  // `limit` is damage, found as it streams.
  Result<MemberData> data(struct archive_entry* entry, std::string_view name, SizeLimit limit);

  // Reads the current entry, a small one, into memory.
  Result<std::string> read_small(struct archive_entry* entry, std::string_view name,
                                 std::uint64_t limit);

  // The stream must end cleanly: the decompressor checks its framing and checksums to the last
  // byte, and nothing but tar padding may follow the end of the archive, neither in what
  // libarchive was handed but did not consume nor in what it never asked for.
  Status expect_clean_end();

 private:
  // The error of a failed libarchive call: our source's error when it caused the failure.
  Error error(std::string_view what) const;

  ArchiveReadHandle handle_;
  TarSourceContext context_;
};

}  // namespace csnap::archive::detail
