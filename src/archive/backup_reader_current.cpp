// This tool's format (docs/format.md): meta.json first, then the members it lists.

#include "archive/backup_reader_formats.hpp"
#include "archive/member_check.hpp"

namespace csnap::archive::detail {

Result<SpooledBackup> read_current(TarStream& tar, struct archive_entry* meta_entry,
                                   const std::filesystem::path& spool_dir) {
  SpooledBackup backup;
  backup.format = BackupFormat::current;
  CSNAP_TRY(check_regular_file(meta_entry, kMetaMember));
  CSNAP_ASSIGN_OR_RETURN(auto meta_text, tar.read_small(meta_entry, kMetaMember, kMetaMaxSize));
  CSNAP_ASSIGN_OR_RETURN(backup.meta, meta_from_json(meta_text));
  CSNAP_ASSIGN_OR_RETURN(MemberCheck check, MemberCheck::start(backup.meta));

  std::string previous(kMetaMember);
  while (true) {
    CSNAP_ASSIGN_OR_RETURN(struct archive_entry * entry, tar.next(previous));
    if (entry == nullptr)
      break;
    CSNAP_ASSIGN_OR_RETURN(std::string name, TarStream::name(entry));
    if (name == kMetaMember)
      return corrupt("meta.json appears twice");
    CSNAP_TRY(check_regular_file(entry, name));
    CSNAP_ASSIGN_OR_RETURN(SizeLimit limit, check.admit(name));
    CSNAP_ASSIGN_OR_RETURN(auto data, tar.data(entry, name, std::move(limit)));
    CSNAP_ASSIGN_OR_RETURN(auto spooled, spool(spool_dir, name, data));
    check.record(name, spooled.size, std::move(spooled.sha256));
    backup.files.emplace(name, std::move(spooled.file));
    previous = std::move(name);
  }
  CSNAP_TRY(tar.expect_clean_end());
  CSNAP_TRY(check.finish());
  return backup;
}

}  // namespace csnap::archive::detail
