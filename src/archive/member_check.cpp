#include "archive/member_check.hpp"

#include <fmt/format.h>

#include "archive/backup_reader.hpp"

namespace csnap::archive::detail {

Result<MemberCheck> MemberCheck::start(const Meta& meta) {
  for (const auto& member : meta.members) {
    if (is_json_member(member.name) && member.name != kKvMember &&
        member.size > kJsonMemberMaxSize) {
      return corrupt(
          fmt::format("{}: meta.json declares {} bytes, more than the {} bytes a JSON "
                      "member may hold",
                      member.name, member.size, kJsonMemberMaxSize));
    }
  }
  return MemberCheck(meta);
}

Result<SizeLimit> MemberCheck::admit(std::string_view name) const {
  const MemberInfo* listed = meta_.find_member(name);
  if (listed == nullptr)
    return corrupt(fmt::format("{}: member not listed in meta.json", name));
  if (seen_.contains(name))
    return corrupt(fmt::format("{}: member appears twice", name));
  // A member may be larger than meta says only by damage: stop copying soon after.
  return SizeLimit{listed->size, fmt::format("the {} bytes meta.json declares", listed->size)};
}

void MemberCheck::record(std::string_view name, std::uint64_t size, std::string sha256) {
  seen_.insert_or_assign(std::string(name), Seen{size, std::move(sha256)});
}

Status MemberCheck::finish() const {
  for (const auto& member : meta_.members) {
    auto it = seen_.find(member.name);
    if (it == seen_.end()) {
      return corrupt(
          fmt::format("{}: listed in meta.json but missing from the backup", member.name));
    }
    const auto& [size, sha256] = it->second;
    if (size != member.size) {
      return corrupt(fmt::format("{}: size mismatch (expected {} bytes, got {})", member.name,
                                 member.size, size));
    }
    if (sha256 != member.sha256) {
      return corrupt(fmt::format("{}: SHA-256 mismatch (expected {}, got {})", member.name,
                                 short_hash(member.sha256), short_hash(sha256)));
    }
  }
  return {};
}

}  // namespace csnap::archive::detail
