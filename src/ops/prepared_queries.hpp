#pragma once
// Backup and restore of prepared queries: member prepared-queries.json, a JSON array of Consul's
// own objects (GET /v1/query) sorted by ID. Consul assigns IDs itself, so a restore matches by
// ID, then by Name, and creates what matches neither under a new ID.

#include <cstdint>
#include <string>
#include <vector>

#include "archive/backup_reader.hpp"
#include "archive/backup_writer.hpp"
#include "consul/client.hpp"
#include "ops/acl_objects.hpp"

namespace csnap::ops {

struct QueryBackupOptions {
  bool allow_partial = false;  // queries hidden by ACLs, or hidden query tokens, only warn
};

struct QueryBackupResult {
  std::uint64_t count = 0;
  bool partial = false;
  std::vector<std::string> warnings;
};

// Reads every prepared query into prepared-queries.json. A 403 fails naming the permission;
// queries left out by ACLs or "<hidden>" query tokens fail unless `allow_partial`.
Result<QueryBackupResult> backup_prepared_queries(consul::Client& consul,
                                                  archive::BackupWriter& writer,
                                                  const QueryBackupOptions& options = {});

struct QueryRestorePlan {
  std::vector<PlannedObject> queries;
  KindPlan summary{.kind = std::string(kPreparedQueriesKind)};
};

// The target's prepared queries, a JSON array as GET /v1/query lists them. Queries left out by
// ACLs are an error: a restore could create duplicates of them.
Result<nlohmann::json> read_live_queries(consul::Client& consul);

// Compares prepared-queries.json with `live` (the target's queries); reads and writes nothing
// of the cluster.
Result<QueryRestorePlan> plan_query_restore(const archive::BackupReader& reader,
                                            const nlohmann::json& live);
// Whether prepared-queries.json holds any query (a restore reads the live queries only then).
Result<bool> backup_holds_queries(const archive::BackupReader& reader);
// Creates and updates what `plan` says; failures are counted and noted, the rest go on.
Result<KindPlan> apply_query_restore(consul::Client& consul, const QueryRestorePlan& plan);

}  // namespace csnap::ops
