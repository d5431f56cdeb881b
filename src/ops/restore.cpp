#include "ops/restore.hpp"

#include <fmt/format.h>

#include "archive/backup_reader.hpp"
#include "archive/kv_json.hpp"
#include "consul/txn.hpp"
#include "util/log.hpp"

namespace csnap::ops {
namespace {

// Parses every kv.json entry once, so that a restore never starts on a backup that fails later.
Status verify_kv(const archive::BackupReader& reader, RestorePreview& preview) {
  if (!reader.has_member(archive::kKvMember))
    return {};
  CSNAP_ASSIGN_OR_RETURN(auto member, reader.open_member(archive::kKvMember));
  CSNAP_TRY_CONTEXT(archive::read_kv_json(member,
                                          [&](archive::KvRecord&& record) {
                                            ++preview.kv_entries;
                                            preview.kv_bytes += record.value.size();
                                            return Status{};
                                          }),
                    archive::kKvMember);
  auto counted = preview.meta.counts.find("kv");
  if (counted != preview.meta.counts.end() && counted->second != preview.kv_entries) {
    return Error(ErrorKind::corrupt,
                 fmt::format("{}: meta.json counts {} entries, the member holds {}",
                             archive::kKvMember, counted->second, preview.kv_entries));
  }
  return {};
}

}  // namespace

Result<RestoreReport> run_restore(consul::Client& consul, LocatedBackup& backup,
                                  const RestoreOptions& options) {
  RestoreReport report;
  report.preview.name = backup.name;
  log::info("Verifying backup {}", backup.name);
  auto reader = archive::BackupReader::open(*backup.source, options.tmp_dir);
  if (!reader.ok())
    return std::move(reader.error().add_context(backup.name));
  report.preview.meta = reader->meta();
  CSNAP_TRY_CONTEXT(verify_kv(*reader, report.preview), backup.name);
  log::info("Extracted {} keys to restore", report.preview.kv_entries);

  if (options.dry_run)
    return report;
  if (options.confirm) {
    CSNAP_ASSIGN_OR_RETURN(bool confirmed, options.confirm(report.preview));
    if (!confirmed)
      return report;
  }

  report.applied = true;
  if (!reader->has_member(archive::kKvMember))
    return report;
  consul::TxnBatcher batcher(consul.txn_transport());
  CSNAP_ASSIGN_OR_RETURN(auto member, reader->open_member(archive::kKvMember));
  CSNAP_TRY_CONTEXT(archive::read_kv_json(member,
                                          [&](archive::KvRecord&& record) {
                                            return batcher.add_set(std::move(record.key),
                                                                   std::move(record.value),
                                                                   record.flags);
                                          }),
                    "restoring the KV store");
  auto written = batcher.finish();
  if (!written.ok())
    return std::move(written.error().add_context("restoring the KV store"));
  report.kv_written = written->sets;
  report.transactions = written->transactions;
  report.plain_puts = written->plain_puts;
  log::debug("{} keys written in {} transactions and {} plain PUTs", report.kv_written,
             report.transactions, report.plain_puts);
  return report;
}

}  // namespace csnap::ops
