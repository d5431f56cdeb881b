// The dispatch: decompress, tell the format by content, and hand the stream to that format's
// reader (backup_reader_formats.hpp), which spools, checks and verifies every member.

#include "archive/backup_reader.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "archive/backup_reader_formats.hpp"

namespace csnap::archive {

namespace {

using detail::corrupt;
using detail::SpooledBackup;
using detail::TarStream;

bool looks_like_tar(std::span<const std::byte> head) {
  if (head.size() < 512)
    return false;
  static constexpr std::string_view magic = "ustar";
  return std::equal(magic.begin(), magic.end(), head.begin() + 257,
                    [](char c, std::byte b) { return static_cast<std::byte>(c) == b; });
}

bool looks_like_json_array(std::span<const std::byte> head) {
  for (std::byte byte : head) {
    auto c = static_cast<char>(byte);
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
      continue;
    return c == '[';
  }
  return false;
}

// The first entry of a tar, and its name.
struct FirstEntry {
  struct archive_entry* entry = nullptr;
  std::string name;
};

// Opens `tar` and reads its first entry; a tar without one is the error `when_empty`.
Result<FirstEntry> open_first_entry(TarStream& tar, std::string_view when_empty) {
  CSNAP_TRY(tar.open());
  CSNAP_ASSIGN_OR_RETURN(struct archive_entry * entry, tar.next(""));
  if (entry == nullptr)
    return corrupt(std::string(when_empty));
  CSNAP_ASSIGN_OR_RETURN(std::string name, TarStream::name(entry));
  return FirstEntry{entry, std::move(name)};
}

// A tar backup of either format in `content`, told apart by its first entry: meta.json for this
// tool's, a folder (or a file in one) for the original tool's.
Result<SpooledBackup> read_tar(ByteSource& content, const std::filesystem::path& spool_dir) {
  TarStream tar(content);
  CSNAP_ASSIGN_OR_RETURN(auto first,
                         open_first_entry(tar, "the backup holds no members (not even meta.json)"));
  if (first.name == kMetaMember)
    return detail::read_current(tar, first.entry, spool_dir);
  if (archive_entry_filetype(first.entry) == AE_IFDIR || first.name.find('/') != std::string::npos)
    return detail::read_original_tar(tar, first.entry, std::move(first.name), spool_dir);
  return corrupt(fmt::format("meta.json is not the first member (the first is {})", first.name));
}

// The backup in `content`, whose first bytes are `head`, read by the reader of its format.
Result<SpooledBackup> read_by_format(ByteSource& content, std::span<const std::byte> head,
                                     const std::filesystem::path& spool_dir) {
  if (looks_like_json_array(head))
    return detail::read_kv_json(content, spool_dir);
  if (looks_like_tar(head))
    return read_tar(content, spool_dir);
  return corrupt(
      "not a backup: neither a tar archive (this tool's or the original's) nor a KV JSON array");
}

}  // namespace

std::string_view to_string(BackupFormat format) {
  switch (format) {
    case BackupFormat::current:
      return "consul-snapshot";
    case BackupFormat::original_tar:
      return "original consul-snapshot archive (v0.2+)";
    case BackupFormat::kv_json:
      return "KV JSON (original v0.1, or consul kv export)";
  }
  return "unknown";
}

Result<BackupReader> BackupReader::open(ByteSource& source,
                                        const std::filesystem::path& spool_dir) {
  CSNAP_ASSIGN_OR_RETURN(codec::DecompressSource decompressed,
                         codec::DecompressSource::open(source));
  PeekSource content(decompressed);
  auto head = content.peek(512);
  if (!head.ok())
    return std::move(head.error().add_context("backup damaged at its start"));
  if (head->empty())
    return corrupt("the backup is empty");
  CSNAP_ASSIGN_OR_RETURN(SpooledBackup backup, read_by_format(content, *head, spool_dir));

  BackupReader reader;
  reader.compression_ = decompressed.compression();
  reader.format_ = backup.format;
  reader.meta_ = std::move(backup.meta);
  reader.files_ = std::move(backup.files);
  return reader;
}

Result<Meta> BackupReader::read_meta(ByteSource& source) {
  CSNAP_ASSIGN_OR_RETURN(codec::DecompressSource decompressed,
                         codec::DecompressSource::open(source));
  PeekSource content(decompressed);
  CSNAP_ASSIGN_OR_RETURN(auto head, content.peek(512));
  Meta meta;
  meta.format_version = 0;
  if (looks_like_json_array(head)) {
    meta.format = std::string(to_string(BackupFormat::kv_json));
    return meta;
  }
  if (!looks_like_tar(head))
    return corrupt("not a backup");
  TarStream tar(content);
  CSNAP_ASSIGN_OR_RETURN(auto first, open_first_entry(tar, "the backup holds no members"));
  if (first.name != kMetaMember) {
    meta.format = std::string(to_string(BackupFormat::original_tar));
    return meta;
  }
  CSNAP_ASSIGN_OR_RETURN(auto text, tar.read_small(first.entry, kMetaMember, detail::kMetaMaxSize));
  return meta_from_json(text);
}

Result<FileSource> BackupReader::open_member(std::string_view name) const {
  auto it = files_.find(name);
  if (it == files_.end()) {
    return Error(ErrorKind::not_found, fmt::format("the backup has no member {}", name));
  }
  return it->second.read();
}

}  // namespace csnap::archive
