#include "ops/restore.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "archive/kv_json.hpp"
#include "ops/raft_member.hpp"
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

constexpr std::string_view kPlanningAcl =
    "planning the ACL restore (restore without ACLs with --only kv,query,config)";
constexpr std::string_view kPlanningQueries = "planning the prepared-query restore";
constexpr std::string_view kPlanningConfig = "planning the config-entry restore";

// `requested` as it applies to a backup described by `meta`: a backup of one subtree restores
// (and with --mode replace, replaces) only that subtree, never the keys it never held.
RestoreOptions for_backup(RestoreOptions requested, const archive::Meta& meta) {
  if (requested.kv.prefix.empty())
    requested.kv.prefix = meta.kv_prefix;
  return requested;
}

}  // namespace

Result<std::set<std::string>> parse_only(std::string_view text) {
  std::set<std::string> kinds;
  while (!text.empty()) {
    auto comma = text.find(',');
    auto kind = text.substr(0, comma);
    if (kind != "kv" && kind != "acl" && kind != "query" && kind != "config") {
      return Error(ErrorKind::invalid_argument,
                   fmt::format("--only: unknown kind '{}' (use kv, acl, query, config)", kind));
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
  // Consul's own snapshot is verified too (its SHA256SUMS, every record framed), so that a backup
  // whose raft.snap was damaged is refused before any write, even by a logical restore.
  auto raft = verify_raft_member(*reader);
  if (!raft.ok())
    return std::move(raft.error().add_context(backup.name));
  preview.raft = std::move(raft).value();
  if (preview.raft) {
    log::info("Verified Consul's Raft snapshot in {} (index {}, {} records)", backup.name,
              preview.raft->meta.index, preview.raft->state.records);
  }
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

Result<LiveScope> LiveScope::of(const VerifiedBackup& verified, const RestoreOptions& requested) {
  const auto options = for_backup(requested, verified.preview.meta);
  LiveScope scope;
  if (options.wants("kv") && verified.reader.has_member(archive::kKvMember))
    scope.kv_prefix = options.kv.target_prefix();
  if (options.wants("acl")) {
    auto objects = count_backup_acl_objects(verified.reader);
    if (!objects.ok())
      return std::move(objects.error().add_context(kPlanningAcl));
    scope.acl = *objects > 0;
  }
  if (options.wants("query")) {
    auto holds = backup_holds_queries(verified.reader);
    if (!holds.ok())
      return std::move(holds.error().add_context(kPlanningQueries));
    scope.queries = *holds;
  }
  if (options.wants("config")) {
    auto kinds = backup_config_kinds(verified.reader);
    if (!kinds.ok())
      return std::move(kinds.error().add_context(kPlanningConfig));
    scope.config_kinds = std::move(kinds).value();
  }
  return scope;
}

Result<LiveCluster> read_live_cluster(consul::Client& consul, const LiveScope& scope,
                                      const std::filesystem::path& tmp_dir) {
  LiveCluster live;
  if (scope.kv_prefix) {
    CSNAP_ASSIGN_OR_RETURN(live.kv, LiveKv::read(consul, *scope.kv_prefix, tmp_dir));
  }
  if (scope.acl) {
    auto acl = read_live_acl(consul);
    if (!acl.ok())
      return std::move(acl.error().add_context(kPlanningAcl));
    live.acl = std::move(acl).value();
  }
  if (scope.queries) {
    auto queries = read_live_queries(consul);
    if (!queries.ok())
      return std::move(queries.error().add_context(kPlanningQueries));
    live.queries = std::move(queries).value();
  }
  if (!scope.config_kinds.empty()) {
    auto entries = read_live_config_entries(consul, scope.config_kinds);
    if (!entries.ok())
      return std::move(entries.error().add_context(kPlanningConfig));
    live.config_entries = std::move(entries).value();
  }
  return live;
}

Result<PreparedRestore> PreparedRestore::prepare(
    consul::Client& consul, LocatedBackup& backup, const RestoreOptions& requested,
    const std::function<void(const KvChange&)>& on_change) {
  CSNAP_ASSIGN_OR_RETURN(auto verified,
                         verify_backup(backup, requested.tmp_dir, requested.encryption));
  const auto& members = verified.preview.meta.members;
  const bool raft_only = verified.reader.has_member(archive::kRaftMember) &&
                         std::all_of(members.begin(), members.end(), [](const auto& member) {
                           return member.name == archive::kRaftMember;
                         });
  if (raft_only) {
    return Error(ErrorKind::invalid_argument,
                 fmt::format("{} holds only Consul's Raft snapshot (--mode raft), and restoring "
                             "one through the logical path is not built yet; it was verified. "
                             "To restore the whole cluster from it, extract raft.snap and run "
                             "`consul snapshot restore raft.snap` (docs/format.md)",
                             backup.name));
  }
  log::info("Extracted {} keys to restore", verified.preview.kv_entries);
  CSNAP_ASSIGN_OR_RETURN(auto scope, LiveScope::of(verified, requested));
  CSNAP_ASSIGN_OR_RETURN(auto live, read_live_cluster(consul, scope, requested.tmp_dir));
  return plan(std::move(verified), std::move(live), requested, on_change);
}

Result<PreparedRestore> PreparedRestore::plan(
    VerifiedBackup verified, LiveCluster live, const RestoreOptions& requested,
    const std::function<void(const KvChange&)>& on_change) {
  const auto options = for_backup(requested, verified.preview.meta);
  PreparedRestore prepared(std::move(verified.reader), std::move(live.kv), options);
  prepared.preview_ = std::move(verified.preview);
  // A backup without kv.json (`--only acl`, `--mode raft`) says nothing about the KV store: it
  // is left alone, never planned as if the backup held no keys (which --mode replace would turn
  // into deleting every key).
  if (options.wants("kv") && prepared.reader_.has_member(archive::kKvMember)) {
    CSNAP_ASSIGN_OR_RETURN(prepared.preview_.kv,
                           plan_kv(prepared.reader_, options.kv, prepared.live_kv_, on_change));
  }
  const auto& members = prepared.preview_.meta.members;
  auto has_acl_members = std::any_of(members.begin(), members.end(), [](const auto& member) {
    return member.name.starts_with("acl/");
  });
  if (options.wants("acl") && has_acl_members) {
    auto plan = plan_acl_restore(prepared.reader_, live.acl);
    if (!plan.ok())
      return std::move(plan.error().add_context(kPlanningAcl));
    for (const auto& kind : plan->kinds)
      prepared.preview_.others.push_back(kind);
    prepared.acl_ = std::move(plan).value();
  }
  if (options.wants("query") && prepared.reader_.has_member(archive::kPreparedQueriesMember)) {
    auto plan = plan_query_restore(prepared.reader_, live.queries);
    if (!plan.ok())
      return std::move(plan.error().add_context(kPlanningQueries));
    prepared.preview_.others.push_back(plan->summary);
    prepared.queries_ = std::move(plan).value();
  }
  if (options.wants("config") && prepared.reader_.has_member(kConfigEntriesMember)) {
    auto plan = plan_config_restore(prepared.reader_, live.config_entries);
    if (!plan.ok())
      return std::move(plan.error().add_context(kPlanningConfig));
    prepared.preview_.others.push_back(plan->summary);
    prepared.config_ = std::move(plan).value();
  }
  return prepared;
}

Result<RestoreReport> PreparedRestore::apply(consul::Client& consul) {
  RestoreReport report;
  if (options_.wants("kv") && !preview_.kv.empty()) {
    auto applied = apply_kv(consul, reader_, options_.kv, live_kv_,
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
  if (config_)
    report.others.push_back(apply_config_restore(consul, *config_, {.force = options_.force}));
  for (const auto& kind : report.others) {
    for (const auto& note : kind.notes)
      log::warn("{}: {}", kind.kind, note);
  }
  return report;
}

}  // namespace csnap::ops
