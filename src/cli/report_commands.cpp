// diff, inspect and list: the commands that report on backups without changing anything.

#include <algorithm>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "archive/backup_reader.hpp"
#include "cli/command_set.hpp"
#include "cli/commands.hpp"
#include "cli/setup.hpp"
#include "cli/table.hpp"
#include "cli/time_text.hpp"
#include "ops/encryption.hpp"
#include "ops/naming.hpp"
#include "ops/raft_member.hpp"
#include "util/json_string.hpp"
#include "util/log.hpp"

namespace csnap::cli {
namespace {

// diff, inspect and list: the backup they name (as for restore) and how they print.
struct ReportCommand {
  std::string backup;
  bool json = false;
  bool exit_code = false;  // diff: exit 1 when there are differences
};

constexpr std::string_view kDiffExamples = R"(
Examples:
  # what restoring the newest backup would change, key by key
  consul-snapshot diff latest

  # only under app/, as JSON; exit 1 when anything differs (for scripts and monitoring)
  consul-snapshot diff latest --prefix app/ --json --exit-code)";

constexpr std::string_view kInspectExamples = R"(
Examples:
  # metadata, counts and a full integrity check (decompress, every checksum, every entry)
  consul-snapshot inspect latest
  consul-snapshot inspect ./host.consul.snapshot.1795786800.tar.zst --json)";

constexpr std::string_view kListExamples = R"(
Examples:
  consul-snapshot list
  LOCAL_DIR=/var/backups consul-snapshot list --json)";

using Json = nlohmann::json;

Json meta_json(const archive::Meta& meta) {
  return Json::parse(archive::meta_to_json(meta));
}

// The Raft snapshot of a backup as inspect reports it: Consul's meta and records per type, as
// `consul snapshot inspect` shows them.
Json raft_json(const archive::RaftSnapshotSummary& raft, const archive::Meta& meta) {
  Json types = Json::array();
  for (const auto& type : raft.state.types) {
    types.push_back(
        {{"type", type.type}, {"name", type.name}, {"count", type.count}, {"bytes", type.bytes}});
  }
  return {{"verified", true},
          {"id", raft.meta.id},
          {"index", raft.meta.index},
          {"term", raft.meta.term},
          {"version", raft.meta.version},
          {"consul_version", meta.raft ? meta.raft->consul_version : meta.consul_version},
          {"state_bytes", raft.state.size},
          {"records", raft.state.records},
          {"kv_keys", raft.state.kv_keys},
          {"types", std::move(types)}};
}

void add_raft_rows(Table& table, const archive::RaftSnapshotSummary& raft,
                   const archive::Meta& meta) {
  const std::string& version = meta.raft ? meta.raft->consul_version : meta.consul_version;
  table.add(
      {"raft snapshot", fmt::format("index {}, term {}, id {}{}", raft.meta.index, raft.meta.term,
                                    raft.meta.id, version.empty() ? "" : ", Consul " + version)});
  table.add({"raft kv keys", std::to_string(raft.state.kv_keys)});
  for (const auto& type : raft.state.types) {
    table.add(
        {"raft records " + type.name, fmt::format("{} ({})", type.count, human_bytes(type.bytes))});
  }
  table.add({"raft integrity",
             "verified: SHA256SUMS of meta.json and state.bin match, every "
             "record is whole"});
}

std::string counts_text(const std::map<std::string, std::uint64_t>& counts) {
  std::string out;
  for (const auto& [kind, count] : counts) {
    out += fmt::format("{}{} {}", out.empty() ? "" : ", ", count, kind);
  }
  return out.empty() ? "-" : out;
}

// What list says a backup holds: its logical counts, then its Raft snapshot.
std::string contents_text(const archive::Meta& meta) {
  if (!meta.raft)
    return counts_text(meta.counts);
  std::string raft =
      fmt::format("raft snapshot at index {} ({} keys)", meta.raft->index, meta.raft->kv_keys);
  return meta.counts.empty() ? raft : counts_text(meta.counts) + ", " + raft;
}

Result<int> diff_command(const config::Config& config, const ReportCommand& command) {
  CSNAP_ASSIGN_OR_RETURN(auto options, restore_options(config));
  CSNAP_ASSIGN_OR_RETURN(auto backup, locate_backup(config, command.backup));
  CSNAP_ASSIGN_OR_RETURN(auto consul, connect_consul(config));
  std::vector<ops::KvChange> changes;
  CSNAP_ASSIGN_OR_RETURN(
      auto prepared,
      ops::PreparedRestore::prepare(*consul, backup, options, [&](const ops::KvChange& change) {
        changes.push_back(change);
      }));
  const auto& preview = prepared.preview();
  if (command.json) {
    Json out = {{"backup", backup.name},
                {"kv",
                 {{"create", preview.kv.create},
                  {"update", preview.kv.update},
                  {"delete", preview.kv.remove},
                  {"unchanged", preview.kv.unchanged},
                  {"skip", preview.kv.skip}}},
                {"changes", Json::array()}};
    for (const auto& change : changes) {
      Json item = {{"kind", "kv"}, {"action", ops::to_string(change.kind)}, {"key", change.key}};
      if (!change.reason.empty())
        item["reason"] = change.reason;
      out["changes"].push_back(std::move(item));
    }
    fmt::print("{}\n", out.dump(2, ' ', false, Json::error_handler_t::replace));
  } else {
    for (const auto& change : changes) {
      char mark = change.kind == ops::KvChangeKind::create   ? '+'
                  : change.kind == ops::KvChangeKind::update ? '~'
                  : change.kind == ops::KvChangeKind::skip   ? '!'
                                                             : '-';
      fmt::print("{} kv {}{}\n", mark, terminal_text(change.key, {.quote = true}),
                 change.reason.empty() ? "" : " (skipped: " + terminal_text(change.reason) + ")");
    }
    fmt::print("{}", plan_table(preview));
  }
  if (command.exit_code && !preview.changes_nothing())
    return exit_failed;
  return exit_ok;
}

Status inspect_command(const config::Config& config, const ReportCommand& command) {
  CSNAP_ASSIGN_OR_RETURN(auto backup, locate_backup(config, command.backup));
  CSNAP_ASSIGN_OR_RETURN(auto encryption, encryption_settings(config));
  if (!encryption.passphrase && encryption.identities.empty()) {
    // Without a key, say what the backup needs rather than failing on the missing key alone.
    CSNAP_ASSIGN_OR_RETURN(auto needs, ops::describe_encryption(*backup.source));
    if (!needs.empty()) {
      return Error(ErrorKind::invalid_argument,
                   fmt::format("{} is encrypted ({}); give its key to inspect it: CRYPTO_PASSWORD "
                               "or --passphrase-file for a passphrase, --identity-file for an "
                               "X25519 key",
                               backup.name, needs));
    }
    CSNAP_ASSIGN_OR_RETURN(backup, locate_backup(config, command.backup));
  }
  CSNAP_ASSIGN_OR_RETURN(auto verified,
                         ops::verify_backup(backup, config.get(option::kTmpDir), encryption));
  const auto& preview = verified.preview;
  const auto& meta = preview.meta;
  const auto& raft = preview.raft;  // verified with the rest
  if (command.json) {
    Json out = {{"backup", backup.name},
                {"format", archive::to_string(preview.format)},
                {"compression", codec::to_string(verified.reader.compression())},
                {"encrypted", !preview.encryption.empty()},
                {"encryption", preview.encryption},
                {"verified", true},
                {"kv_entries", preview.kv_entries},
                {"kv_value_bytes", preview.kv_bytes},
                {"meta", meta_json(meta)}};
    if (raft)
      out["raft"] = raft_json(*raft, meta);
    fmt::print("{}\n", out.dump(2, ' ', false, Json::error_handler_t::replace));
    return {};
  }
  Table table({"field", "value"});
  table.add({"backup", backup.name});
  table.add({"format", std::string(archive::to_string(preview.format))});
  table.add({"compression", std::string(codec::to_string(verified.reader.compression()))});
  table.add({"encrypted", preview.encryption.empty() ? "no" : "yes (" + preview.encryption + ")"});
  if (!meta.tool_version.empty())
    table.add({"written by", "consul-snapshot " + meta.tool_version});
  if (meta.started_at.time_since_epoch().count() != 0) {
    table.add({"started", time_text(meta.started_at.time_since_epoch().count())});
    table.add({"finished", time_text(meta.finished_at.time_since_epoch().count())});
  }
  if (!meta.hostname.empty())
    table.add({"host", meta.hostname});
  if (!meta.node.empty())
    table.add({"node", meta.node});
  if (!meta.datacenter.empty())
    table.add({"datacenter", meta.datacenter});
  if (!meta.consul_version.empty())
    table.add({"consul version", meta.consul_version});
  if (meta.consul_index != 0)
    table.add({"consul index", std::to_string(meta.consul_index)});
  if (meta.partial)
    table.add({"partial", "yes: some entries could not be read"});
  if (verified.reader.has_member(archive::kKvMember) || !raft) {
    table.add({"kv entries", fmt::format("{} ({} of values)", preview.kv_entries,
                                         human_bytes(preview.kv_bytes))});
  }
  if (raft)
    add_raft_rows(table, *raft, meta);
  for (const auto& member : meta.members) {
    table.add(
        {"member " + member.name, fmt::format("{} bytes, sha256 {}", member.size, member.sha256)});
  }
  table.add({"integrity", "verified: every checksum matches and every entry parses"});
  fmt::print("{}", table.render());
  return {};
}

Status list_command(const config::Config& config, const ReportCommand& command) {
  CSNAP_ASSIGN_OR_RETURN(auto storage, open_storage(config));
  CSNAP_ASSIGN_OR_RETURN(auto encryption, encryption_settings(config));
  encryption.allow_unencrypted = true;  // list only reads meta.json; restore and diff refuse
  const bool have_key = encryption.passphrase || !encryption.identities.empty();
  std::string prefix = config.get(option::kUploadPrefix);
  if (!prefix.empty() && !prefix.ends_with('/'))
    prefix += '/';
  CSNAP_ASSIGN_OR_RETURN(auto objects, storage->list(prefix));
  struct Listed {
    storage::ObjectInfo object;
    std::int64_t time = 0;
    std::optional<archive::Meta> meta;
    std::string encryption;
    std::string problem;
  };
  std::vector<Listed> listed;
  for (auto& object : objects) {
    auto time = ops::backup_time_from_key(object.key);
    if (!time)
      continue;
    Listed entry{std::move(object), *time, std::nullopt, {}, {}};
    auto read = [&]() -> Status {
      CSNAP_ASSIGN_OR_RETURN(auto probe, storage->get(entry.object.key));
      CSNAP_ASSIGN_OR_RETURN(entry.encryption, ops::describe_encryption(*probe));
      if (!entry.encryption.empty() && !have_key)
        return {};
      CSNAP_ASSIGN_OR_RETURN(auto source, storage->get(entry.object.key));
      CSNAP_ASSIGN_OR_RETURN(auto plaintext, ops::PlaintextSource::open(
                                                 *source, encryption, config.get(option::kTmpDir)));
      CSNAP_ASSIGN_OR_RETURN(entry.meta, archive::BackupReader::read_meta(*plaintext));
      return {};
    };
    if (auto status = read(); !status.ok())
      entry.problem = status.error().message();
    listed.push_back(std::move(entry));
  }
  ops::sort_newest_first(listed, [](const Listed& entry) {
    return ops::BackupSortKey{entry.time, entry.object.key};
  });

  if (command.json) {
    Json out = Json::array();
    for (const auto& entry : listed) {
      Json item = {{"key", entry.object.key},
                   {"time", entry.time},
                   {"size", entry.object.size},
                   {"encrypted", !entry.encryption.empty()},
                   {"encryption", entry.encryption}};
      if (entry.meta) {
        item["format"] = entry.meta->format;
        item["counts"] = entry.meta->counts;
        if (entry.meta->raft)
          item["raft"] = meta_json(*entry.meta)["raft"];
        item["partial"] = entry.meta->partial;
      } else if (!entry.problem.empty()) {
        item["error"] = entry.problem;
      }
      out.push_back(std::move(item));
    }
    // A key that is not UTF-8 (a file name, say) cannot be JSON: U+FFFD stands for its bytes.
    fmt::print("{}\n", out.dump(2, ' ', false, Json::error_handler_t::replace));
    return {};
  }
  Table table({"time", "size", "encrypted", "contents", "key"});
  for (const auto& entry : listed) {
    std::string contents = entry.meta               ? contents_text(*entry.meta)
                           : !entry.problem.empty() ? "unreadable: " + entry.problem
                                                    : "(encrypted: no key given)";
    if (entry.meta && entry.meta->partial)
      contents += " (partial)";
    if (entry.meta && entry.meta->counts.empty() && !entry.meta->format.empty() &&
        entry.meta->format != archive::kFormatName) {
      contents = entry.meta->format;
    }
    table.add(
        {time_text(entry.time), human_bytes(entry.object.size), "no", contents, entry.object.key});
  }
  fmt::print("{}", table.render());
  if (listed.empty())
    log::info("No backups under '{}' in {}", prefix, storage->describe());
  return {};
}

}  // namespace

void add_report_commands(CommandSet& commands) {
  auto diff = std::make_shared<ReportCommand>();
  auto& diff_app = commands.add({
      .name = "diff",
      .help = "what a restore of the backup would change in Consul",
      .examples = kDiffExamples,
      .scope = config::scope_restore,
      .run = [diff](const config::Config& config) { return diff_command(config, *diff); },
  });
  diff_app.add_option("backup", diff->backup, "a key in the storage, 'latest', or a file path");
  diff_app.add_flag("--json", diff->json, "print JSON");
  diff_app.add_flag("--exit-code", diff->exit_code, "exit 1 when there are differences");

  auto inspect = std::make_shared<ReportCommand>();
  auto& inspect_app = commands.add({
      .name = "inspect",
      .help = "a backup's metadata and counts, after a full integrity check",
      .examples = kInspectExamples,
      .scope = config::scope_storage,
      .run =
          [inspect](const config::Config& config) {
            return exit_status(inspect_command(config, *inspect));
          },
  });
  inspect_app.add_option("backup", inspect->backup,
                         "a key in the storage, 'latest', or a file path");
  inspect_app.add_flag("--json", inspect->json, "print JSON");

  auto list = std::make_shared<ReportCommand>();
  auto& list_app = commands.add({
      .name = "list",
      .help = "the backups in the storage, newest first",
      .examples = kListExamples,
      .scope = config::scope_storage,
      .run =
          [list](const config::Config& config) { return exit_status(list_command(config, *list)); },
  });
  list_app.add_flag("--json", list->json, "print JSON");
}

}  // namespace csnap::cli
