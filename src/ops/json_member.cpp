#include "ops/json_member.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "ops/acl_objects.hpp"
#include "util/json_parse.hpp"

namespace csnap::ops {

Status write_json_member(archive::BackupWriter& writer, std::string_view name,
                         nlohmann::json objects, const std::string& sort_field) {
  if (!objects.is_array())
    return Error(ErrorKind::internal, fmt::format("{}: not a JSON array", name));
  std::stable_sort(objects.begin(), objects.end(),
                   [&](const nlohmann::json& left, const nlohmann::json& right) {
                     return json_text(left, sort_field) < json_text(right, sort_field);
                   });
  auto text = objects.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
  text += '\n';
  CSNAP_ASSIGN_OR_RETURN(auto* sink, writer.begin_member(name));
  CSNAP_TRY_CONTEXT(sink->write(text), fmt::format("writing {}", name));
  CSNAP_TRY_CONTEXT(sink->finish(), fmt::format("writing {}", name));
  return {};
}

Result<nlohmann::json> read_json_member(const archive::BackupReader& reader,
                                        std::string_view name) {
  if (!reader.has_member(name))
    return nlohmann::json::array();
  CSNAP_ASSIGN_OR_RETURN(auto source, reader.open_member(name));
  auto text = read_all(source, archive::kJsonMemberMaxSize);
  if (!text.ok())
    return std::move(text.error().add_context(name));
  CSNAP_ASSIGN_OR_RETURN(auto json, parse_json_document(*text, name));
  if (!json.is_array())
    return Error(ErrorKind::corrupt, fmt::format("{}: not a JSON array", name));
  for (const auto& element : json) {
    if (!element.is_object())
      return Error(ErrorKind::corrupt, fmt::format("{}: an element is not a JSON object", name));
  }
  return json;
}

}  // namespace csnap::ops
