#pragma once
// Reads a backup (docs/format.md) and verifies all of it before anyone uses any of it: meta.json
// first, every listed member present once with its size and SHA-256, nothing unlisted, and a
// stream that ends cleanly. Members are spooled to temporary files meanwhile.
//
// The original Go tool's backups are read too, detected by content: its v0.2+ archives (a tar of
// one folder with consul.kv.<ts>.json, consul.pq.<ts>.json, consul.acl.<ts>.json and a meta.json
// of SHA-256s), its v0.1 files and `consul kv export` files (a KV JSON array). They are presented
// with the members of the current format: kv.json, prepared-queries.json (and legacy-acl.json).

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "archive/meta.hpp"
#include "codec/compression.hpp"
#include "util/file.hpp"

namespace csnap::archive {

enum class BackupFormat {
  current,       // this tool's format (meta.json first)
  original_tar,  // the original tool's v0.2+ archive
  kv_json,       // a KV JSON array: the original's v0.1, or `consul kv export`
};
std::string_view to_string(BackupFormat format);

// The member that holds the original tool's pre-1.4 ACL tokens, which no Consul since 1.11 accepts.
inline constexpr std::string_view kLegacyAclMember = "legacy-acl.json";

// What reading a backup may cost (docs/format.md, "Limits"). Every member is checked while it is
// spooled, never after: against the size meta.json declares; a `.json` member as JSON (at most
// kMaxJsonDepth deep), so that anything else fails at its first bad byte.
// A `.json` member other than kv.json is read into memory: at most this many bytes.
inline constexpr std::uint64_t kJsonMemberMaxSize = std::uint64_t{64} * 1024 * 1024;
// The KV member of formats that declare no sizes (the original tool's, KV JSON files).
inline constexpr std::uint64_t kUndeclaredKvMaxSize = std::uint64_t{1} * 1024 * 1024 * 1024;

class BackupReader {
 public:
  // Reads all of `source` (compression detected by content), spooling members into unnamed
  // files in `spool_dir` (SpoolFile) that live as long as the reader. Damage is an
  // ErrorKind::corrupt error.
  static Result<BackupReader> open(ByteSource& source, const std::filesystem::path& spool_dir);

  // Reads no further than the backup's description: meta.json for this format (nothing is
  // verified), a Meta naming the format for older ones. For listings.
  static Result<Meta> read_meta(ByteSource& source);

  BackupReader(BackupReader&&) noexcept = default;
  BackupReader& operator=(BackupReader&&) noexcept = default;
  BackupReader(const BackupReader&) = delete;
  BackupReader& operator=(const BackupReader&) = delete;
  ~BackupReader() = default;

  const Meta& meta() const { return meta_; }
  codec::Compression compression() const { return compression_; }
  BackupFormat format() const { return format_; }
  bool has_member(std::string_view name) const { return files_.contains(name); }
  // The verified bytes of member `name`; ErrorKind::not_found when the backup has none.
  Result<FileSource> open_member(std::string_view name) const;

 private:
  BackupReader() = default;

  Meta meta_;
  codec::Compression compression_ = codec::Compression::none;
  BackupFormat format_ = BackupFormat::current;
  std::map<std::string, SpoolFile, std::less<>> files_;
};

}  // namespace csnap::archive
