#include "ops/restore.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "archive/kv_json.hpp"
#include "util/log.hpp"
#include "util/text.hpp"

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

bool RestorePreview::changes_nothing() const {
  if (!kv.empty())
    return false;
  return std::all_of(others.begin(), others.end(),
                     [](const KindPlan& plan) { return plan.create + plan.update == 0; });
}

std::uint64_t RestoreReport::failed() const {
  std::uint64_t total = kv.failures();
  for (const auto& plan : others)
    total += plan.failed;
  return total;
}

Result<VerifiedBackup> verify_backup(LocatedBackup& backup, const std::filesystem::path& tmp_dir,
                                     const EncryptionSettings& encryption) {
  log::info("Verifying backup {}", backup.name);
  auto plaintext = PlaintextSource::open(*backup.source, encryption, tmp_dir);
  if (!plaintext.ok())
    return std::move(plaintext.error().add_context(backup.name));
  auto reader = archive::BackupReader::open(**plaintext, tmp_dir);
  if (!reader.ok())
    return std::move(reader.error().add_context(backup.name));
  RestorePreview preview;
  preview.name = backup.name;
  preview.meta = reader->meta();
  preview.format = reader->format();
  preview.encryption = (*plaintext)->encryption();
  CSNAP_TRY_CONTEXT(verify_kv(*reader, preview), backup.name);
  if (reader->has_member(archive::kLegacyAclMember)) {
    CSNAP_ASSIGN_OR_RETURN(auto member, reader->open_member(archive::kLegacyAclMember));
    CSNAP_ASSIGN_OR_RETURN(auto text, read_all(member));
    auto content = trim(text);
    if (content != "null" && content != "[]") {
      log::warn(
          "{} holds ACL tokens of Consul's legacy ACL system, which no Consul since 1.11 "
          "accepts; they are not restored",
          backup.name);
    }
  }
  return VerifiedBackup{std::move(reader).value(), std::move(preview)};
}

Result<PreparedRestore> PreparedRestore::prepare(
    consul::Client& consul, LocatedBackup& backup, const RestoreOptions& requested,
    const std::function<void(const KvChange&)>& on_change) {
  CSNAP_ASSIGN_OR_RETURN(auto verified,
                         verify_backup(backup, requested.tmp_dir, requested.encryption));
  log::info("Extracted {} keys to restore", verified.preview.kv_entries);
  // A backup of one subtree restores (and with --mode replace, replaces) only that subtree,
  // never the keys it never held.
  RestoreOptions options = requested;
  if (options.kv.prefix.empty())
    options.kv.prefix = verified.preview.meta.kv_prefix;
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
  const auto& members = prepared.preview_.meta.members;
  auto has_acl_members = std::any_of(members.begin(), members.end(), [](const auto& member) {
    return member.name.starts_with("acl/");
  });
  if (options.wants("acl") && has_acl_members) {
    auto plan = plan_acl_restore(consul, prepared.reader_);
    if (!plan.ok()) {
      return std::move(plan.error().add_context(
          "planning the ACL restore (restore without ACLs with --only kv,query)"));
    }
    for (const auto& kind : plan->kinds)
      prepared.preview_.others.push_back(kind);
    prepared.acl_ = std::move(plan).value();
  }
  if (options.wants("query") && prepared.reader_.has_member(archive::kPreparedQueriesMember)) {
    auto plan = plan_query_restore(consul, prepared.reader_);
    if (!plan.ok())
      return std::move(plan.error().add_context("planning the prepared-query restore"));
    prepared.preview_.others.push_back(plan->summary);
    prepared.queries_ = std::move(plan).value();
  }
  return prepared;
}

Result<RestoreReport> PreparedRestore::apply(consul::Client& consul) {
  RestoreReport report;
  if (options_.wants("kv") && !preview_.kv.empty()) {
    auto applied = apply_kv(consul, reader_, options_.kv, live_,
                            {.force = options_.force, .progress = options_.progress});
    if (!applied.ok()) {
      return std::move(applied.error().add_context(
          "restoring the KV store (keys written before this stay written; run the same restore "
          "again to finish it)"));
    }
    report.kv = std::move(applied).value();
    log::debug("KV: {} written, {} deleted, in {} transactions and {} plain PUTs",
               report.kv.written, report.kv.deleted, report.kv.transactions, report.kv.plain_puts);
  } else if (options_.wants("kv")) {
    report.kv.unchanged = preview_.kv.unchanged;
    for (const auto& note : preview_.kv.skipped)
      report.kv.skipped.push_back(note);
  }
  if (acl_) {
    auto applied = apply_acl_restore(consul, *acl_);
    if (!applied.ok())
      return std::move(applied.error().add_context("restoring the ACL system"));
    for (auto& kind : *applied)
      report.others.push_back(std::move(kind));
  }
  if (queries_) {
    auto applied = apply_query_restore(consul, *queries_);
    if (!applied.ok())
      return std::move(applied.error().add_context("restoring prepared queries"));
    report.others.push_back(std::move(applied).value());
  }
  for (const auto& kind : report.others) {
    for (const auto& note : kind.notes)
      log::warn("{}: {}", kind.kind, note);
  }
  return report;
}

}  // namespace csnap::ops
