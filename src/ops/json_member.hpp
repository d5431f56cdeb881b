#pragma once
// Archive members that hold one JSON array of Consul's objects (acl/*.json,
// prepared-queries.json): sorted by an id field, 2-space indented, with a final newline.

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "archive/backup_reader.hpp"
#include "archive/backup_writer.hpp"
#include "util/result.hpp"

namespace csnap::ops {

// Writes the array `objects`, sorted by the string field `sort_field`, as member `name`.
Status write_json_member(archive::BackupWriter& writer, std::string_view name,
                         nlohmann::json objects, const std::string& sort_field);

// The array in member `name`; an empty array when the backup has no such member. Anything but an
// array of objects, more than archive::kJsonMemberMaxSize bytes or JSON nested deeper than
// kMaxJsonDepth is ErrorKind::corrupt naming the member.
Result<nlohmann::json> read_json_member(const archive::BackupReader& reader, std::string_view name);

}  // namespace csnap::ops
