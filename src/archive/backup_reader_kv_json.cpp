// A bare KV JSON array: the original tool's v0.1 files and `consul kv export`.

#include "archive/backup_reader_formats.hpp"

namespace csnap::archive::detail {

Result<SpooledBackup> read_kv_json(ByteSource& content, const std::filesystem::path& spool_dir) {
  SpooledBackup backup;
  backup.format = BackupFormat::kv_json;
  backup.meta.format = "kv-json";
  backup.meta.format_version = 0;
  MemberData data(kKvMember, undeclared_limit(kKvMember),
                  [&content](std::span<std::byte> buffer) { return content.read(buffer); });
  CSNAP_ASSIGN_OR_RETURN(auto kv, spool(spool_dir, kKvMember, data));
  backup.meta.members.push_back({std::string(kKvMember), kv.size, kv.sha256});
  backup.files.emplace(kKvMember, std::move(kv.file));
  return backup;
}

}  // namespace csnap::archive::detail
