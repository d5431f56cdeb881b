#include "archive/meta.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "codec/sha256.hpp"
#include "util/time.hpp"

namespace csnap::archive {

namespace {

using Json = nlohmann::ordered_json;

Error corrupt(std::string_view what) {
  return Error(ErrorKind::corrupt, fmt::format("meta.json: {}", what));
}

Result<std::string> get_string(const Json& object, const char* field) {
  auto it = object.find(field);
  if (it == object.end())
    return corrupt(fmt::format("missing field \"{}\"", field));
  if (!it->is_string())
    return corrupt(fmt::format("field \"{}\" is not a string", field));
  return it->get<std::string>();
}

Result<std::uint64_t> get_uint64(const Json& object, const char* field) {
  auto it = object.find(field);
  if (it == object.end())
    return corrupt(fmt::format("missing field \"{}\"", field));
  if (!it->is_number_unsigned()) {
    return corrupt(fmt::format("field \"{}\" is not an unsigned integer", field));
  }
  return it->get<std::uint64_t>();
}

Result<std::chrono::sys_seconds> get_time(const Json& object, const char* field) {
  CSNAP_ASSIGN_OR_RETURN(std::string text, get_string(object, field));
  auto time = parse_rfc3339(text);
  if (!time)
    return corrupt(fmt::format("field \"{}\": {}", field, time.error().message()));
  return *time;
}

// The counts object at `field` of `object` ("counts", "raft.records"): names -> unsigned.
Result<std::map<std::string, std::uint64_t>> get_counts(const Json& object, const char* field,
                                                        std::string_view path) {
  auto counts = object.find(field);
  if (counts == object.end() || !counts->is_object())
    return corrupt(fmt::format("field \"{}\" is missing or not an object", path));
  std::map<std::string, std::uint64_t> out;
  for (const auto& [name, count] : counts->items()) {
    if (!count.is_number_unsigned())
      return corrupt(fmt::format("{}.{} is not an unsigned integer", path, name));
    out[name] = count.get<std::uint64_t>();
  }
  return out;
}

Result<RaftMeta> get_raft(const Json& raft) {
  if (!raft.is_object())
    return corrupt("field \"raft\" is not an object");
  RaftMeta out;
  auto in_raft = [](const Error& error) {
    return Error(ErrorKind::corrupt,
                 fmt::format("meta.json: raft: {}", std::string_view(error.message()).substr(11)));
  };
  auto index = get_uint64(raft, "index");
  auto term = get_uint64(raft, "term");
  auto version = get_string(raft, "consul_version");
  auto kv_keys = get_uint64(raft, "kv_keys");
  if (!index)
    return in_raft(index.error());
  if (!term)
    return in_raft(term.error());
  if (!version)
    return in_raft(version.error());
  if (!kv_keys)
    return in_raft(kv_keys.error());
  out.index = *index;
  out.term = *term;
  out.consul_version = std::move(*version);
  out.kv_keys = *kv_keys;
  CSNAP_ASSIGN_OR_RETURN(out.records, get_counts(raft, "records", "raft.records"));
  return out;
}

}  // namespace

const MemberInfo* Meta::find_member(std::string_view name) const {
  for (const auto& member : members) {
    if (member.name == name)
      return &member;
  }
  return nullptr;
}

Status validate_member_name(std::string_view name) {
  auto bad = [&](std::string_view why) {
    return Error(ErrorKind::invalid_argument, fmt::format("bad member name \"{}\": {}", name, why));
  };
  if (name.empty())
    return bad("empty");
  if (name.size() > 255)
    return bad("longer than 255 bytes");
  if (name == kMetaMember)
    return bad("reserved");
  if (name.front() == '/')
    return bad("absolute");
  std::size_t start = 0;
  while (true) {
    std::size_t end = name.find('/', start);
    std::string_view part =
        name.substr(start, end == std::string_view::npos ? name.npos : end - start);
    if (part.empty() || part == "." || part == "..")
      return bad("empty, . or .. component");
    if (end == std::string_view::npos)
      break;
    start = end + 1;
  }
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f || c == '\\')
      return bad("control character or backslash");
  }
  return {};
}

std::string meta_to_json(const Meta& meta) {
  Json json;
  json["format"] = meta.format;
  json["format_version"] = meta.format_version;
  json["tool_version"] = meta.tool_version;
  json["started_at"] = format_rfc3339(meta.started_at);
  json["finished_at"] = format_rfc3339(meta.finished_at);
  json["hostname"] = meta.hostname;
  json["node"] = meta.node;
  json["datacenter"] = meta.datacenter;
  json["consul_version"] = meta.consul_version;
  json["consul_index"] = meta.consul_index;
  json["leader"] = meta.leader;
  if (!meta.kv_prefix.empty())
    json["kv_prefix"] = meta.kv_prefix;
  json["partial"] = meta.partial;
  json["counts"] = Json::object();
  for (const auto& [kind, count] : meta.counts)
    json["counts"][kind] = count;
  if (meta.raft) {
    Json records = Json::object();
    for (const auto& [type, count] : meta.raft->records)
      records[type] = count;
    json["raft"] = Json{{"index", meta.raft->index},
                        {"term", meta.raft->term},
                        {"consul_version", meta.raft->consul_version},
                        {"kv_keys", meta.raft->kv_keys},
                        {"records", std::move(records)}};
  }
  json["members"] = Json::array();
  for (const auto& member : meta.members) {
    json["members"].push_back(
        Json{{"name", member.name}, {"size", member.size}, {"sha256", member.sha256}});
  }
  // Replace invalid UTF-8 rather than throw: every string here comes from us or from Consul.
  return json.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

Result<Meta> meta_from_json(std::string_view text) {
  Json json = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded())
    return corrupt("not valid JSON");
  if (!json.is_object())
    return corrupt("not a JSON object");
  Meta meta;
  CSNAP_ASSIGN_OR_RETURN(meta.format, get_string(json, "format"));
  if (meta.format != kFormatName) {
    return corrupt(fmt::format(R"(format is "{}", not "{}")", meta.format, kFormatName));
  }
  CSNAP_ASSIGN_OR_RETURN(std::uint64_t version, get_uint64(json, "format_version"));
  if (version != static_cast<std::uint64_t>(kFormatVersion)) {
    return corrupt(fmt::format(
        "format_version {} is not supported (this tool reads version {}; a newer tool wrote it?)",
        version, kFormatVersion));
  }
  meta.format_version = static_cast<int>(version);
  CSNAP_ASSIGN_OR_RETURN(meta.tool_version, get_string(json, "tool_version"));
  CSNAP_ASSIGN_OR_RETURN(meta.started_at, get_time(json, "started_at"));
  CSNAP_ASSIGN_OR_RETURN(meta.finished_at, get_time(json, "finished_at"));
  CSNAP_ASSIGN_OR_RETURN(meta.hostname, get_string(json, "hostname"));
  CSNAP_ASSIGN_OR_RETURN(meta.node, get_string(json, "node"));
  CSNAP_ASSIGN_OR_RETURN(meta.datacenter, get_string(json, "datacenter"));
  CSNAP_ASSIGN_OR_RETURN(meta.consul_version, get_string(json, "consul_version"));
  CSNAP_ASSIGN_OR_RETURN(meta.consul_index, get_uint64(json, "consul_index"));
  CSNAP_ASSIGN_OR_RETURN(meta.leader, get_string(json, "leader"));
  if (auto prefix = json.find("kv_prefix"); prefix != json.end()) {
    if (!prefix->is_string())
      return corrupt("field \"kv_prefix\" is not a string");
    meta.kv_prefix = prefix->get<std::string>();
  }
  auto partial = json.find("partial");
  if (partial == json.end() || !partial->is_boolean()) {
    return corrupt("field \"partial\" is missing or not a boolean");
  }
  meta.partial = partial->get<bool>();

  CSNAP_ASSIGN_OR_RETURN(meta.counts, get_counts(json, "counts", "counts"));
  if (auto raft = json.find("raft"); raft != json.end()) {
    CSNAP_ASSIGN_OR_RETURN(meta.raft, get_raft(*raft));
  }

  auto members = json.find("members");
  if (members == json.end() || !members->is_array()) {
    return corrupt("field \"members\" is missing or not an array");
  }
  for (std::size_t i = 0; i < members->size(); ++i) {
    const Json& entry = (*members)[i];
    if (!entry.is_object())
      return corrupt(fmt::format("members[{}] is not an object", i));
    MemberInfo member;
    auto name = get_string(entry, "name");
    auto size = get_uint64(entry, "size");
    auto sha256 = get_string(entry, "sha256");
    if (!name || !size || !sha256) {
      const Error& error = !name ? name.error() : !size ? size.error() : sha256.error();
      return Error(ErrorKind::corrupt, fmt::format("meta.json: members[{}]: {}", i,
                                                   std::string_view(error.message()).substr(11)));
    }
    member.name = std::move(*name);
    member.size = *size;
    member.sha256 = std::move(*sha256);
    if (auto status = validate_member_name(member.name); !status) {
      return corrupt(fmt::format("members[{}]: {}", i, status.error().message()));
    }
    if (!codec::is_sha256_hex(member.sha256)) {
      return corrupt(
          fmt::format("members[{}] ({}): sha256 is not 64 lowercase hex digits", i, member.name));
    }
    if (meta.find_member(member.name) != nullptr) {
      return corrupt(fmt::format("member {} is listed twice", member.name));
    }
    meta.members.push_back(std::move(member));
  }
  return meta;
}

}  // namespace csnap::archive
