#include "ops/prepared_queries.hpp"

#include <fmt/format.h>

#include "consul/acl.hpp"
#include "consul/prepared_query.hpp"
#include "ops/json_member.hpp"
#include "util/log.hpp"

namespace csnap::ops {
namespace {

// With ACLs enabled Consul hides, without saying so, the queries an anonymous or unknown token
// may not read; the token is checked first so that such a backup fails instead.
Status check_token(consul::Client& consul) {
  auto self = consul.token_self();
  if (self.ok() || consul::is_acl_disabled(self.error()))
    return {};
  return std::move(self.error().add_context(
      "checking the token before reading prepared queries (Consul hides queries from an "
      "anonymous or unknown token)"));
}

}  // namespace

Result<QueryBackupResult> backup_prepared_queries(consul::Client& consul,
                                                  archive::BackupWriter& writer,
                                                  const QueryBackupOptions& options) {
  CSNAP_TRY(check_token(consul));
  auto listing = consul::list_prepared_queries(consul);
  if (!listing.ok()) {
    return std::move(
        listing.error().add_context("reading prepared queries (needs query:read on every query)"));
  }
  QueryBackupResult result;
  result.count = listing->queries.size();
  std::vector<std::string> problems;
  if (listing->filtered_by_acls) {
    problems.emplace_back(
        "Consul left out prepared queries that this token may not read "
        "(X-Consul-Results-Filtered-By-Acls); a token with query_prefix \"\" { policy = \"read\" "
        "} sees them all");
  }
  std::uint64_t hidden = 0;
  for (const auto& query : listing->queries) {
    if (json_text(query, "Token") == kHiddenSecret)
      ++hidden;
  }
  if (hidden > 0) {
    problems.push_back(fmt::format(
        "{} prepared query tokens are hidden from this token (\"<hidden>\"); a token with "
        "acl:write sees them",
        hidden));
  }
  for (auto& problem : problems) {
    if (!options.allow_partial) {
      return Error(ErrorKind::permission_denied,
                   fmt::format("reading prepared queries: {} (or allow a partial backup with "
                               "--allow-partial)",
                               problem));
    }
    log::warn("{}: the backup is marked partial", problem);
    result.partial = true;
    result.warnings.push_back(std::move(problem));
  }
  CSNAP_TRY(write_json_member(writer, kPreparedQueriesMember, std::move(listing->queries), "ID"));
  log::info("Wrote {} prepared queries", result.count);
  return result;
}

Result<nlohmann::json> read_live_queries(consul::Client& consul) {
  auto listing = consul::list_prepared_queries(consul);
  if (!listing.ok())
    return std::move(listing.error().add_context("reading the live prepared queries"));
  if (listing->filtered_by_acls) {
    return Error(ErrorKind::permission_denied,
                 "reading the live prepared queries: Consul left out queries this token may not "
                 "read, so a restore could create duplicates; use a token with query:write on "
                 "every query");
  }
  return std::move(listing->queries);
}

Result<QueryRestorePlan> plan_query_restore(const archive::BackupReader& reader,
                                            const nlohmann::json& live) {
  QueryRestorePlan plan;
  CSNAP_ASSIGN_OR_RETURN(auto backup, read_json_member(reader, kPreparedQueriesMember));
  if (backup.empty())
    return plan;
  plan.queries = plan_query_objects(backup, live, plan.summary);
  return plan;
}

Result<bool> backup_holds_queries(const archive::BackupReader& reader) {
  CSNAP_ASSIGN_OR_RETURN(auto backup, read_json_member(reader, kPreparedQueriesMember));
  return !backup.empty();
}

Result<KindPlan> apply_query_restore(consul::Client& consul, const QueryRestorePlan& plan) {
  KindPlan done{.kind = std::string(kPreparedQueriesKind)};
  for (const auto& planned : plan.queries) {
    if (count_unwritten(done, planned))
      continue;
    auto body = query_body(planned.object);
    Status written;
    if (planned.action == RestoreAction::create) {
      auto created = consul::create_prepared_query(consul, body);
      if (!created.ok())
        written = std::move(created).error();
    } else {
      written = consul::update_prepared_query(consul, planned.live_id, body);
    }
    count_write(done, planned, written.ok() ? "" : written.error().message());
  }
  return done;
}

}  // namespace csnap::ops
