#pragma once
// raft.snap, the member that holds Consul's own snapshot: what meta.json records of it, and its
// verification when a backup is written and when one is read.

#include <optional>
#include <string>

#include "archive/backup_reader.hpp"
#include "archive/meta.hpp"
#include "archive/raft_snapshot.hpp"
#include "util/io.hpp"
#include "util/result.hpp"

namespace csnap::ops {

// Reads the snapshot in `source` to its end and verifies it (gzip, tar, SHA256SUMS, the framing
// of every record) without decoding any record. Damage is ErrorKind::corrupt.
Result<archive::RaftSnapshotSummary> verify_raft_snapshot(ByteSource& source);

// What meta.json records of a snapshot that `summary` describes, served by Consul
// `consul_version`.
archive::RaftMeta raft_meta_of(const archive::RaftSnapshotSummary& summary,
                               std::string consul_version);

// The raft.snap member of `reader` verified, or nothing when the backup holds none. When
// meta.json records the snapshot (`Meta::raft`), its index, term and counts must be the
// snapshot's: a disagreement is ErrorKind::corrupt.
Result<std::optional<archive::RaftSnapshotSummary>> verify_raft_member(
    const archive::BackupReader& reader);

}  // namespace csnap::ops
