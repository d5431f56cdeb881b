#pragma once
// Private to src/archive: libarchive handles with RAII and callbacks over our byte streams.

#include <memory>
#include <optional>
#include <vector>

#include <archive.h>
#include <archive_entry.h>

#include "util/io.hpp"

namespace csnap::archive::detail {

struct ArchiveReadDeleter {
  void operator()(struct archive* handle) const { archive_read_free(handle); }
};
struct ArchiveWriteDeleter {
  void operator()(struct archive* handle) const { archive_write_free(handle); }
};
struct ArchiveEntryDeleter {
  void operator()(struct archive_entry* entry) const { archive_entry_free(entry); }
};
using ArchiveReadHandle = std::unique_ptr<struct archive, ArchiveReadDeleter>;
using ArchiveWriteHandle = std::unique_ptr<struct archive, ArchiveWriteDeleter>;
using ArchiveEntryHandle = std::unique_ptr<struct archive_entry, ArchiveEntryDeleter>;

// What libarchive's write callback writes to; the first sink error is kept.
struct TarSinkContext {
  ByteSink* sink = nullptr;
  std::optional<Error> error;
};

// What libarchive's read callback reads from; the first source error is kept.
struct TarSourceContext {
  ByteSource* source = nullptr;
  std::vector<std::byte> buffer = std::vector<std::byte>(std::size_t{64} * 1024);
  std::uint64_t total = 0;
  std::size_t last_size = 0;  // how much of `buffer` the last callback handed out
  std::optional<Error> error;
};

inline la_ssize_t tar_write_callback(struct archive* handle, void* client, const void* data,
                                     size_t size) {
  auto* context = static_cast<TarSinkContext*>(client);
  auto status = context->sink->write(std::span(static_cast<const std::byte*>(data), size));
  if (!status) {
    context->error = std::move(status).error();
    archive_set_error(handle, EIO, "%s", context->error->message().c_str());
    return -1;
  }
  return static_cast<la_ssize_t>(size);
}

inline la_ssize_t tar_read_callback(struct archive* handle, void* client, const void** data) {
  auto* context = static_cast<TarSourceContext*>(client);
  auto count = context->source->read(context->buffer);
  if (!count) {
    context->error = std::move(count).error();
    archive_set_error(handle, EIO, "%s", context->error->message().c_str());
    return -1;
  }
  *data = context->buffer.data();
  context->total += *count;
  context->last_size = *count;
  return static_cast<la_ssize_t>(*count);
}

}  // namespace csnap::archive::detail
