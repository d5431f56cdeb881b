#include "archive/tar_stream.hpp"

#include <algorithm>
#include <vector>

#include <fmt/format.h>

namespace csnap::archive::detail {

Status check_regular_file(struct archive_entry* entry, std::string_view name) {
  if (archive_entry_filetype(entry) != AE_IFREG || archive_entry_hardlink(entry) != nullptr) {
    return corrupt(fmt::format("{}: not a regular file", name));
  }
  if (archive_entry_sparse_count(entry) > 0)
    return corrupt(fmt::format("{}: a sparse tar member (no backup has one)", name));
  return {};
}

TarStream::TarStream(ByteSource& source) : handle_(archive_read_new()) {
  context_.source = &source;
}

Status TarStream::open() {
  if (!handle_)
    return Error(ErrorKind::internal, "tar: out of memory");
  archive_read_support_format_tar(handle_.get());
  if (archive_read_open(handle_.get(), &context_, nullptr, tar_read_callback, nullptr) !=
      ARCHIVE_OK) {
    return error(context_.error ? "backup damaged at its start"
                                : "not a backup (no tar archive inside)");
  }
  return {};
}

Result<struct archive_entry*> TarStream::next(std::string_view after) {
  struct archive_entry* entry = nullptr;
  int code = archive_read_next_header(handle_.get(), &entry);
  if (code == ARCHIVE_EOF)
    return static_cast<struct archive_entry*>(nullptr);
  if (code != ARCHIVE_OK && code != ARCHIVE_WARN) {
    return error(after.empty() ? std::string("reading the first tar header")
                               : fmt::format("reading the tar header after {}", after));
  }
  return entry;
}

Result<std::string> TarStream::name(struct archive_entry* entry) {
  const char* name = archive_entry_pathname(entry);
  if (name == nullptr)
    return corrupt("a tar entry has no readable name");
  return std::string(name);
}

Result<MemberData> TarStream::data(struct archive_entry* entry, std::string_view name,
                                   SizeLimit limit) {
  if (archive_entry_size_is_set(entry) != 0 &&
      static_cast<std::uint64_t>(archive_entry_size(entry)) > limit.bytes) {
    return corrupt(fmt::format("{}: its tar header says {} bytes, more than {}", name,
                               archive_entry_size(entry), limit.what));
  }
  return MemberData(
      name, std::move(limit),
      [this, name = std::string(name)](std::span<std::byte> buffer) -> Result<std::size_t> {
        la_ssize_t count = archive_read_data(handle_.get(), buffer.data(), buffer.size());
        if (count < 0)
          return error(fmt::format("backup damaged inside {}", name));
        return static_cast<std::size_t>(count);
      });
}

Result<std::string> TarStream::read_small(struct archive_entry* entry, std::string_view name,
                                          std::uint64_t limit) {
  CSNAP_ASSIGN_OR_RETURN(auto source,
                         data(entry, name, {limit, fmt::format("the {} bytes allowed", limit)}));
  return read_all(source);
}

Status TarStream::expect_clean_end() {
  auto consumed = static_cast<std::uint64_t>(archive_filter_bytes(handle_.get(), 0));
  if (consumed < context_.total) {
    std::uint64_t unconsumed =
        std::min<std::uint64_t>(context_.total - consumed, context_.last_size);
    auto tail = std::span(context_.buffer).first(context_.last_size).last(unconsumed);
    for (std::byte byte : tail) {
      if (byte != std::byte{0})
        return corrupt("data after the end of the tar archive");
    }
  }
  std::vector<std::byte> buffer(std::size_t{64} * 1024);
  while (true) {
    auto count = context_.source->read(buffer);
    if (!count)
      return std::move(count.error().add_context("after the end of the tar archive"));
    if (*count == 0)
      return {};
    for (std::size_t i = 0; i < *count; ++i) {
      if (buffer[i] != std::byte{0})
        return corrupt("data after the end of the tar archive");
    }
  }
}

Error TarStream::error(std::string_view what) const {
  if (context_.error)
    return Error(*context_.error).add_context(what);
  const char* message = archive_error_string(handle_.get());
  return corrupt(fmt::format("{}: tar: {}", what, message != nullptr ? message : "unknown error"));
}

}  // namespace csnap::archive::detail
