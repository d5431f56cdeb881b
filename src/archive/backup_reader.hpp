#pragma once
// Reads a backup (docs/format.md) and verifies all of it before anyone uses any of it: meta.json
// first, every listed member present once with its size and SHA-256, nothing unlisted, and a
// stream that ends cleanly. Members are spooled to temporary files meanwhile.

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "archive/meta.hpp"
#include "codec/compression.hpp"
#include "util/file.hpp"

namespace csnap::archive {

class BackupReader {
 public:
  // Reads all of `source` (compression detected by content), spooling members into 0600 files
  // in `spool_dir` that live as long as the reader. Damage is an ErrorKind::corrupt error.
  static Result<BackupReader> open(ByteSource& source, const std::filesystem::path& spool_dir);

  BackupReader(BackupReader&&) noexcept = default;
  BackupReader& operator=(BackupReader&&) noexcept = default;
  BackupReader(const BackupReader&) = delete;
  BackupReader& operator=(const BackupReader&) = delete;
  ~BackupReader() = default;

  const Meta& meta() const { return meta_; }
  codec::Compression compression() const { return compression_; }
  bool has_member(std::string_view name) const { return files_.contains(name); }
  // The verified bytes of member `name`; ErrorKind::not_found when the backup has none.
  Result<FileSource> open_member(std::string_view name) const;

 private:
  BackupReader() = default;

  Meta meta_;
  codec::Compression compression_ = codec::Compression::none;
  std::map<std::string, TempFile, std::less<>> files_;
};

}  // namespace csnap::archive
