#include "ops/raft_member.hpp"

#include <fmt/format.h>

namespace csnap::ops {

Result<archive::RaftSnapshotSummary> verify_raft_snapshot(ByteSource& source) {
  archive::RaftReadOptions options;
  options.decode = [](std::uint8_t /*type*/) { return false; };
  return archive::read_raft_snapshot(source, options);
}

archive::RaftMeta raft_meta_of(const archive::RaftSnapshotSummary& summary,
                               std::string consul_version) {
  archive::RaftMeta raft;
  raft.index = summary.meta.index;
  raft.term = summary.meta.term;
  raft.consul_version = std::move(consul_version);
  raft.kv_keys = summary.state.kv_keys;
  for (const auto& type : summary.state.types)
    raft.records[type.name] += type.count;
  return raft;
}

Result<std::optional<archive::RaftSnapshotSummary>> verify_raft_member(
    const archive::BackupReader& reader) {
  if (!reader.has_member(archive::kRaftMember))
    return std::optional<archive::RaftSnapshotSummary>();
  CSNAP_ASSIGN_OR_RETURN(auto member, reader.open_member(archive::kRaftMember));
  auto summary = verify_raft_snapshot(member);
  if (!summary.ok())
    return std::move(summary.error().add_context(archive::kRaftMember));
  if (const auto& recorded = reader.meta().raft) {
    auto found = raft_meta_of(*summary, recorded->consul_version);
    if (found != *recorded) {
      return Error(ErrorKind::corrupt,
                   fmt::format("{}: the snapshot (index {}, term {}, {} keys) is not the one "
                               "meta.json describes (index {}, term {}, {} keys)",
                               archive::kRaftMember, found.index, found.term, found.kv_keys,
                               recorded->index, recorded->term, recorded->kv_keys));
    }
  }
  return std::optional<archive::RaftSnapshotSummary>(std::move(*summary));
}

}  // namespace csnap::ops
