#include "archive/backup_reader.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "archive/tar_io.hpp"
#include "codec/sha256.hpp"

namespace csnap::archive {

namespace {

constexpr std::uint64_t kMetaMaxSize = std::uint64_t{16} * 1024 * 1024;

Error corrupt(std::string message) {
  return Error(ErrorKind::corrupt, std::move(message));
}

// The error of a failed libarchive call: our source's error when it caused the failure.
Error tar_error(struct archive* handle, const detail::TarSourceContext& context,
                std::string_view what) {
  if (context.error)
    return Error(*context.error).add_context(what);
  const char* message = archive_error_string(handle);
  return corrupt(fmt::format("{}: tar: {}", what, message != nullptr ? message : "unknown error"));
}

Status check_regular_file(struct archive_entry* entry, std::string_view name) {
  if (archive_entry_filetype(entry) != AE_IFREG || archive_entry_hardlink(entry) != nullptr) {
    return corrupt(fmt::format("{}: not a regular file", name));
  }
  return {};
}

std::string short_hash(std::string_view hex) {
  return std::string(hex.substr(0, 12)) + "..";
}

}  // namespace

Result<BackupReader> BackupReader::open(ByteSource& source,
                                        const std::filesystem::path& spool_dir) {
  CSNAP_ASSIGN_OR_RETURN(codec::DecompressSource decompressed,
                         codec::DecompressSource::open(source));
  BackupReader reader;
  reader.compression_ = decompressed.compression();

  detail::TarSourceContext context;
  context.source = &decompressed;
  detail::ArchiveReadHandle handle(archive_read_new());
  if (!handle)
    return Error(ErrorKind::internal, "tar: out of memory");
  archive_read_support_format_tar(handle.get());
  if (archive_read_open(handle.get(), &context, nullptr, detail::tar_read_callback, nullptr) !=
      ARCHIVE_OK) {
    if (!context.error && context.total == 0)
      return corrupt("the backup is empty");
    return tar_error(
        handle.get(), context,
        context.error ? "backup damaged at its start" : "not a backup (no tar archive inside)");
  }

  auto next_header = [&](struct archive_entry*& entry, std::string_view after) -> Result<bool> {
    int code = archive_read_next_header(handle.get(), &entry);
    if (code == ARCHIVE_EOF)
      return false;
    if (code != ARCHIVE_OK && code != ARCHIVE_WARN) {
      return tar_error(handle.get(), context,
                       after.empty() ? std::string("reading the first tar header")
                                     : fmt::format("reading the tar header after {}", after));
    }
    return true;
  };
  auto entry_name = [](struct archive_entry* entry) -> Result<std::string> {
    const char* name = archive_entry_pathname(entry);
    if (name == nullptr)
      return corrupt("a tar entry has no readable name");
    return std::string(name);
  };
  // Copies the data of the current entry into `sink`, which it finishes.
  auto copy_entry = [&](std::string_view name, ByteSink& sink, std::uint64_t limit) -> Status {
    std::vector<std::byte> buffer(std::size_t{64} * 1024);
    std::uint64_t total = 0;
    while (true) {
      la_ssize_t count = archive_read_data(handle.get(), buffer.data(), buffer.size());
      if (count < 0) {
        return tar_error(handle.get(), context, fmt::format("backup damaged inside {}", name));
      }
      if (count == 0)
        break;
      total += static_cast<std::uint64_t>(count);
      if (total > limit) {
        return corrupt(fmt::format("{}: more data than the {} bytes expected", name, limit));
      }
      CSNAP_TRY(sink.write(std::span(buffer).first(static_cast<std::size_t>(count))));
    }
    return sink.finish();
  };

  // meta.json, first.
  struct archive_entry* entry = nullptr;
  CSNAP_ASSIGN_OR_RETURN(bool found, next_header(entry, ""));
  if (!found)
    return corrupt("the backup holds no members (not even meta.json)");
  CSNAP_ASSIGN_OR_RETURN(std::string first_name, entry_name(entry));
  if (first_name != kMetaMember) {
    return corrupt(fmt::format("meta.json is not the first member (the first is {})", first_name));
  }
  CSNAP_TRY(check_regular_file(entry, first_name));
  StringSink meta_text;
  CSNAP_TRY(copy_entry(kMetaMember, meta_text, kMetaMaxSize));
  CSNAP_ASSIGN_OR_RETURN(reader.meta_, meta_from_json(meta_text.text()));

  // Every other member, spooled and hashed.
  std::map<std::string, std::pair<std::uint64_t, std::string>, std::less<>> seen;
  std::string previous(kMetaMember);
  while (true) {
    CSNAP_ASSIGN_OR_RETURN(found, next_header(entry, previous));
    if (!found)
      break;
    CSNAP_ASSIGN_OR_RETURN(std::string name, entry_name(entry));
    if (name == kMetaMember)
      return corrupt("meta.json appears twice");
    CSNAP_TRY(check_regular_file(entry, name));
    const MemberInfo* listed = reader.meta_.find_member(name);
    if (listed == nullptr)
      return corrupt(fmt::format("{}: member not listed in meta.json", name));
    if (seen.contains(name))
      return corrupt(fmt::format("{}: member appears twice", name));

    std::string stem = "restore-" + name;
    std::replace(stem.begin(), stem.end(), '/', '_');
    CSNAP_ASSIGN_OR_RETURN(TempFile file, TempFile::create(spool_dir, stem));
    CSNAP_ASSIGN_OR_RETURN(FileSink file_sink, FileSink::create(file.path(), /*truncate=*/true));
    codec::HashingSink hashing(file_sink);
    // A member may be larger than meta says only by damage: stop copying soon after.
    CSNAP_TRY(copy_entry(name, hashing, listed->size));
    seen.emplace(name, std::pair(hashing.size(), hashing.sha256_hex()));
    reader.files_.emplace(name, std::move(file));
    previous = name;
  }

  // The stream must end cleanly: the decompressor checks its framing and checksums to the last
  // byte, and nothing but tar padding may follow the end of the archive, neither in what
  // libarchive was handed but did not consume nor in what it never asked for.
  auto consumed = static_cast<std::uint64_t>(archive_filter_bytes(handle.get(), 0));
  if (consumed < context.total) {
    std::uint64_t unconsumed = std::min<std::uint64_t>(context.total - consumed, context.last_size);
    auto tail = std::span(context.buffer).first(context.last_size).last(unconsumed);
    for (std::byte byte : tail) {
      if (byte != std::byte{0})
        return corrupt("data after the end of the tar archive");
    }
  }
  std::vector<std::byte> buffer(std::size_t{64} * 1024);
  while (true) {
    auto count = decompressed.read(buffer);
    if (!count)
      return std::move(count.error().add_context("after the end of the tar archive"));
    if (*count == 0)
      break;
    for (std::size_t i = 0; i < *count; ++i) {
      if (buffer[i] != std::byte{0})
        return corrupt("data after the end of the tar archive");
    }
  }

  for (const auto& member : reader.meta_.members) {
    auto it = seen.find(member.name);
    if (it == seen.end()) {
      return corrupt(
          fmt::format("{}: listed in meta.json but missing from the backup", member.name));
    }
    const auto& [size, sha256] = it->second;
    if (size != member.size) {
      return corrupt(fmt::format("{}: size mismatch (expected {} bytes, got {})", member.name,
                                 member.size, size));
    }
    if (sha256 != member.sha256) {
      return corrupt(fmt::format("{}: SHA-256 mismatch (expected {}, got {})", member.name,
                                 short_hash(member.sha256), short_hash(sha256)));
    }
  }
  return reader;
}

Result<FileSource> BackupReader::open_member(std::string_view name) const {
  auto it = files_.find(name);
  if (it == files_.end()) {
    return Error(ErrorKind::not_found, fmt::format("the backup has no member {}", name));
  }
  return FileSource::open(it->second.path());
}

}  // namespace csnap::archive
