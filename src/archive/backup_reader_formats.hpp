#pragma once
// Private to src/archive: one reader per backup format, which BackupReader::open dispatches to by
// content. Each reads the rest of the stream, spooling and checking every member as it streams
// (backup_reader.hpp), and verifies the whole before it returns.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>

#include "archive/backup_reader.hpp"
#include "archive/tar_stream.hpp"

namespace csnap::archive::detail {

// How big a meta.json (this format's or the original tool's) may be.
inline constexpr std::uint64_t kMetaMaxSize = std::uint64_t{16} * 1024 * 1024;

using MemberFiles = std::map<std::string, SpoolFile, std::less<>>;

// What a format reader found: the backup's description and its verified members, spooled.
struct SpooledBackup {
  BackupFormat format = BackupFormat::current;
  Meta meta;
  MemberFiles files;
};

// This tool's format, whose first entry `meta_entry` of `tar` is meta.json.
Result<SpooledBackup> read_current(TarStream& tar, struct archive_entry* meta_entry,
                                   const std::filesystem::path& spool_dir);

// The original tool's v0.2+ archive, whose first entry of `tar` is `first` named `first_name`
// (its one top folder, or a file in it).
Result<SpooledBackup> read_original_tar(TarStream& tar, struct archive_entry* first,
                                        std::string first_name,
                                        const std::filesystem::path& spool_dir);

// A KV JSON array in `content`: the original tool's v0.1, or `consul kv export`. It carries no
// checksums of its own: it is verified by being parsed.
Result<SpooledBackup> read_kv_json(ByteSource& content, const std::filesystem::path& spool_dir);

}  // namespace csnap::archive::detail
