// The original Go tool's v0.2+ archives: a tar of one folder holding consul.kv.<ts>.json,
// consul.pq.<ts>.json, consul.acl.<ts>.json and a meta.json of their SHA-256s.

#include <algorithm>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "archive/backup_reader_formats.hpp"
#include "util/json_parse.hpp"

namespace csnap::archive::detail {

namespace {

constexpr std::string_view kOriginalFormat = "consul-snapshot (original Go tool)";

// Which member of the current format a file of the original tool's archive becomes:
// consul.<kv|pq|acl>.<digits>.json. (Matched by hand: std::regex recurses per character.)
std::optional<std::string_view> original_member(std::string_view file_name) {
  constexpr std::string_view prefix = "consul.";
  constexpr std::string_view suffix = ".json";
  if (!file_name.starts_with(prefix) || !file_name.ends_with(suffix) ||
      file_name.size() < prefix.size() + suffix.size()) {
    return std::nullopt;
  }
  auto middle = file_name.substr(prefix.size(), file_name.size() - prefix.size() - suffix.size());
  auto dot = middle.find('.');
  if (dot == std::string_view::npos)
    return std::nullopt;
  auto kind = middle.substr(0, dot);
  auto digits = middle.substr(dot + 1);
  if (digits.empty() ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  if (kind == "kv")
    return kKvMember;
  if (kind == "pq")
    return kPreparedQueriesMember;
  if (kind == "acl")
    return kLegacyAclMember;
  return std::nullopt;
}

// Field `name` of the original tool's meta.json: a string, or "" when absent.
Result<std::string> original_text(const nlohmann::json& meta, const char* name) {
  auto it = meta.find(name);
  if (it == meta.end() || it->is_null())
    return std::string();
  if (!it->is_string())
    return corrupt(fmt::format("original backup: meta.json: {} is not a string", name));
  return it->get<std::string>();
}

// Field `name` of the original tool's meta.json: Unix seconds (Go's time as a number), or 0.
Result<std::chrono::sys_seconds> original_time(const nlohmann::json& meta, const char* name) {
  auto it = meta.find(name);
  if (it == meta.end() || it->is_null())
    return std::chrono::sys_seconds{};
  constexpr std::int64_t kYear10000 = 253402300800;
  if (!it->is_number_integer() || it->get<std::int64_t>() < 0 ||
      it->get<std::int64_t>() >= kYear10000) {
    return corrupt(fmt::format("original backup: meta.json: {} is not a Unix time", name));
  }
  return std::chrono::sys_seconds(std::chrono::seconds(it->get<std::int64_t>()));
}

// The original tool's meta.json: {"KVSha256", "PQSha256", "ACLSha256", "ConsulSnapshotVersion",
// "StartTime", "EndTime", "NodeName"}; which of its fields holds each member's SHA-256.
std::string_view original_hash_field(std::string_view member) {
  if (member == kKvMember)
    return "KVSha256";
  if (member == kPreparedQueriesMember)
    return "PQSha256";
  return "ACLSha256";
}

// What an original-tool archive has shown so far.
struct OriginalArchive {
  std::string folder;  // its one top folder, with a trailing '/'
  std::optional<nlohmann::json> meta;
  SpooledBackup backup;
};

// Reads entry `entry` of `tar`, named `name`, into `archive`: the folder itself, meta.json, or a
// member file (spooled into `spool_dir`); anything else is damage.
Status read_original_entry(TarStream& tar, struct archive_entry* entry, const std::string& name,
                           const std::filesystem::path& spool_dir, OriginalArchive& archive) {
  if (!name.starts_with(archive.folder)) {
    return corrupt(
        fmt::format("original backup: {} is outside its folder {}", name, archive.folder));
  }
  auto file_name = std::string_view(name).substr(archive.folder.size());
  if (archive_entry_filetype(entry) == AE_IFDIR) {
    if (!file_name.empty())
      return corrupt(fmt::format("original backup: unexpected folder {}", name));
    return {};
  }
  if (file_name == "meta.json") {
    CSNAP_TRY(check_regular_file(entry, name));
    CSNAP_ASSIGN_OR_RETURN(auto text, tar.read_small(entry, name, kMetaMaxSize));
    CSNAP_ASSIGN_OR_RETURN(auto parsed,
                           parse_json_document(text, fmt::format("original backup: {}", name)));
    if (!parsed.is_object())
      return corrupt(fmt::format("original backup: {} is not a JSON object", name));
    archive.meta = std::move(parsed);
    return {};
  }
  auto member = original_member(file_name);
  if (!member)
    return corrupt(fmt::format("original backup: unexpected file {}", name));
  CSNAP_TRY(check_regular_file(entry, name));
  if (archive.backup.files.contains(*member))
    return corrupt(fmt::format("original backup: a second {} ({})", *member, name));
  CSNAP_ASSIGN_OR_RETURN(auto data, tar.data(entry, name, undeclared_limit(*member)));
  CSNAP_ASSIGN_OR_RETURN(auto spooled, spool(spool_dir, *member, data));
  archive.backup.meta.members.push_back({std::string(*member), spooled.size, spooled.sha256});
  archive.backup.files.emplace(*member, std::move(spooled.file));
  return {};
}

// The whole archive read: its meta.json and its KV file are there, and the SHA-256 of every
// member is the one its meta.json holds.
Status verify_original(const OriginalArchive& archive) {
  if (!archive.meta)
    return corrupt("original backup: no meta.json with the files' SHA-256s");
  if (!archive.backup.files.contains(kKvMember))
    return corrupt("original backup: no consul.kv.<time>.json");
  for (const auto& member : archive.backup.meta.members) {
    auto field = original_hash_field(member.name);
    auto expected = archive.meta->find(field);
    if (expected == archive.meta->end() || !expected->is_string()) {
      return corrupt(
          fmt::format("original backup: meta.json has no {} for {}", field, member.name));
    }
    if (expected->get<std::string>() != member.sha256) {
      return corrupt(fmt::format(
          "{} ({} of the original backup): SHA-256 mismatch (expected {}, got {})", member.name,
          field, short_hash(expected->get<std::string>()), short_hash(member.sha256)));
    }
  }
  return {};
}

// Fills `meta` with what the original tool's meta.json, `original`, says of the backup.
Status describe_original(const nlohmann::json& original, Meta& meta) {
  meta.format = std::string(kOriginalFormat);
  meta.format_version = 0;
  CSNAP_ASSIGN_OR_RETURN(meta.tool_version, original_text(original, "ConsulSnapshotVersion"));
  CSNAP_ASSIGN_OR_RETURN(meta.node, original_text(original, "NodeName"));
  CSNAP_ASSIGN_OR_RETURN(meta.started_at, original_time(original, "StartTime"));
  CSNAP_ASSIGN_OR_RETURN(meta.finished_at, original_time(original, "EndTime"));
  return {};
}

}  // namespace

Result<SpooledBackup> read_original_tar(TarStream& tar, struct archive_entry* first,
                                        std::string first_name,
                                        const std::filesystem::path& spool_dir) {
  OriginalArchive archive;
  archive.backup.format = BackupFormat::original_tar;
  // The archive's one top folder ("acceptancetest", or "<host>.consul.snapshot.<unix>").
  archive.folder = first_name.substr(0, first_name.find('/')) + '/';
  struct archive_entry* entry = first;
  std::string name = std::move(first_name);
  while (entry != nullptr) {
    if (archive_entry_filetype(entry) == AE_IFDIR && name + "/" == archive.folder)
      name = archive.folder;
    CSNAP_TRY(read_original_entry(tar, entry, name, spool_dir, archive));
    CSNAP_ASSIGN_OR_RETURN(entry, tar.next(name));
    if (entry != nullptr) {
      CSNAP_ASSIGN_OR_RETURN(name, TarStream::name(entry));
    }
  }
  CSNAP_TRY(tar.expect_clean_end());
  CSNAP_TRY(verify_original(archive));
  CSNAP_TRY(describe_original(*archive.meta, archive.backup.meta));
  return std::move(archive.backup);
}

}  // namespace csnap::archive::detail
