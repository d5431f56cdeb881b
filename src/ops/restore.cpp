#include "ops/restore.hpp"

#include <fmt/format.h>

#include "archive/kv_json.hpp"
#include "util/log.hpp"

namespace csnap::ops {
namespace {

// Parses every selected kv.json entry once, so that a restore never starts on a backup that
// fails later, and counts what the backup holds.
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

Result<std::set<std::string>> parse_only(std::string_view text) {
  std::set<std::string> kinds;
  while (!text.empty()) {
    auto comma = text.find(',');
    auto kind = text.substr(0, comma);
    if (kind != "kv" && kind != "acl" && kind != "query") {
      return Error(ErrorKind::invalid_argument,
                   fmt::format("--only: unknown kind '{}' (use kv, acl, query)", kind));
    }
    kinds.emplace(kind);
    if (comma == std::string_view::npos)
      break;
    text.remove_prefix(comma + 1);
  }
  return kinds;
}

Result<VerifiedBackup> verify_backup(LocatedBackup& backup, const std::filesystem::path& tmp_dir) {
  log::info("Verifying backup {}", backup.name);
  auto reader = archive::BackupReader::open(*backup.source, tmp_dir);
  if (!reader.ok())
    return std::move(reader.error().add_context(backup.name));
  RestorePreview preview;
  preview.name = backup.name;
  preview.meta = reader->meta();
  preview.format = reader->format();
  CSNAP_TRY_CONTEXT(verify_kv(*reader, preview), backup.name);
  if (reader->has_member(archive::kLegacyAclMember)) {
    log::warn(
        "{} holds ACL tokens of Consul's legacy ACL system, which no Consul since 1.11 "
        "accepts; they are not restored",
        backup.name);
  }
  return VerifiedBackup{std::move(reader).value(), std::move(preview)};
}

Result<PreparedRestore> PreparedRestore::prepare(
    consul::Client& consul, LocatedBackup& backup, const RestoreOptions& options,
    const std::function<void(const KvChange&)>& on_change) {
  CSNAP_ASSIGN_OR_RETURN(auto verified, verify_backup(backup, options.tmp_dir));
  log::info("Extracted {} keys to restore", verified.preview.kv_entries);
  LiveKv live;
  if (options.wants("kv")) {
    CSNAP_ASSIGN_OR_RETURN(live, LiveKv::read(consul, options.kv.target_prefix(), options.tmp_dir));
  }
  PreparedRestore prepared(std::move(verified.reader), std::move(live), options);
  prepared.preview_ = std::move(verified.preview);
  if (options.wants("kv")) {
    CSNAP_ASSIGN_OR_RETURN(prepared.preview_.kv,
                           plan_kv(prepared.reader_, options.kv, prepared.live_, on_change));
  }
  return prepared;
}

Result<RestoreReport> PreparedRestore::apply(consul::Client& consul) {
  RestoreReport report;
  if (options_.wants("kv") && !preview_.kv.empty()) {
    auto applied = apply_kv(consul, reader_, options_.kv, live_);
    if (!applied.ok())
      return std::move(applied.error().add_context("restoring the KV store"));
    report.kv = *applied;
    log::debug("KV: {} written, {} deleted, in {} transactions and {} plain PUTs",
               report.kv.written, report.kv.deleted, report.kv.transactions, report.kv.plain_puts);
  }
  return report;
}

}  // namespace csnap::ops
