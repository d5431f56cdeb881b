#pragma once
// The pure part of an ACL and prepared-query restore: which backup object matches which live
// one, whether they differ on fields that matter, and how references are re-linked to the live
// cluster's IDs. No I/O here, so every rule is testable with small JSON tables.

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "consul/acl.hpp"

namespace csnap::ops {

inline constexpr std::string_view kAclPoliciesMember = "acl/policies.json";
inline constexpr std::string_view kAclRolesMember = "acl/roles.json";
inline constexpr std::string_view kAclTokensMember = "acl/tokens.json";
inline constexpr std::string_view kAclAuthMethodsMember = "acl/auth-methods.json";
inline constexpr std::string_view kAclBindingRulesMember = "acl/binding-rules.json";
inline constexpr std::string_view kPreparedQueriesMember = "prepared-queries.json";
inline constexpr std::string_view kPreparedQueriesKind = "prepared-queries";

inline constexpr std::string_view kGlobalManagementPolicyId =
    "00000000-0000-0000-0000-000000000001";
inline constexpr std::string_view kGlobalReadOnlyPolicyId = "00000000-0000-0000-0000-000000000002";
inline constexpr std::string_view kAnonymousTokenId = "00000000-0000-0000-0000-000000000002";
// What Consul shows instead of a secret the reading token may not see.
inline constexpr std::string_view kHiddenSecret = "<hidden>";

// The order a restore applies kinds in: what is referenced comes before what refers to it.
inline constexpr consul::AclKind kAclRestoreOrder[] = {
    consul::AclKind::policy, consul::AclKind::role, consul::AclKind::auth_method,
    consul::AclKind::binding_rule, consul::AclKind::token};

// "acl-policies", "acl-roles", "acl-tokens", "acl-auth-methods", "acl-binding-rules".
std::string acl_count_kind(consul::AclKind kind);
// "acl/policies.json"...
std::string_view acl_member_name(consul::AclKind kind);

// The five ACL kinds, each a JSON array of Consul's objects.
struct AclObjects {
  nlohmann::json policies = nlohmann::json::array();
  nlohmann::json roles = nlohmann::json::array();
  nlohmann::json tokens = nlohmann::json::array();
  nlohmann::json auth_methods = nlohmann::json::array();
  nlohmann::json binding_rules = nlohmann::json::array();

  nlohmann::json& of(consul::AclKind kind);
  const nlohmann::json& of(consul::AclKind kind) const;
};

enum class RestoreAction { create, update, unchanged, skip };
std::string_view to_string(RestoreAction action);

// What a restore does (or did) to one kind. `notes` explain every skip and failure.
struct KindPlan {
  std::string kind{};
  std::uint64_t create = 0, update = 0, unchanged = 0, skip = 0, failed = 0;
  std::vector<std::string> notes{};
};

// One backup object and what to do with it.
struct PlannedObject {
  consul::AclKind kind = consul::AclKind::policy;  // unused for prepared queries
  RestoreAction action = RestoreAction::skip;
  std::string label{};           // for notes: "policy kv-read", "token 74e2... (\"tok1\")"
  std::string backup_id{};       // the object's id field in the backup
  std::string live_id{};         // update/unchanged: the live object's id field
  std::uint64_t live_index = 0;  // config entries: the live ModifyIndex (for check-and-set)
  nlohmann::json object{};       // as in the backup
  std::string note{};            // why it is skipped
};

// Backup ID -> live ID, for policies and roles.
using IdMap = std::map<std::string, std::string>;

struct AclRestorePlan {
  std::vector<PlannedObject> objects;  // in kAclRestoreOrder
  IdMap policy_ids;                    // known before anything is written
  IdMap role_ids;
  std::vector<KindPlan> kinds;  // the summary, one per kind in kAclRestoreOrder
};

// Drops null, "", [], {} and false members of objects, at any depth: Consul leaves some of them
// out and writes others, so absent and empty mean the same.
void strip_empty(nlohmann::json& value);

// Adds `planned` to `summary` (a skip with its note).
void count_planned(KindPlan& summary, const PlannedObject& planned);

// While applying: counts in `done` an object that is not written (unchanged, or skipped: noted
// and warned) and returns true; false for a create or an update, which the caller writes.
bool count_unwritten(KindPlan& done, const PlannedObject& planned);
// While applying: counts in `done` the write of `planned`, done, or refused for `failure` (noted
// and logged as an error).
void count_write(KindPlan& done, const PlannedObject& planned, std::string_view failure = {});

// `text` field of `object`, or "" when absent or not a string.
std::string json_text(const nlohmann::json& object, const std::string& field);

// `object` with its "Policies" and "Roles" links pointing at live IDs: an ID found in the map is
// replaced; otherwise the link goes by Name (Consul resolves it, or refuses a missing one).
nlohmann::json relink(const nlohmann::json& object, const IdMap& policy_ids, const IdMap& role_ids);

// The fields of `object` that a restore sets and compares: without Consul's bookkeeping
// (indexes, Hash, CreateTime...), empty values, the ID of kinds Consul numbers itself, and link
// names (links compare by ID, sorted).
nlohmann::json comparable(consul::AclKind kind, const nlohmann::json& object);

// The body to send for `planned` with the final maps: relinked, without bookkeeping; for an
// update the id field is the live one, for a create it is absent where Consul assigns it.
nlohmann::json restore_body(const PlannedObject& planned, const IdMap& policy_ids,
                            const IdMap& role_ids);

// Decides every backup object against the live cluster (`live`, read just before) at `now`.
AclRestorePlan plan_acl_objects(const AclObjects& backup, const AclObjects& live,
                                std::chrono::system_clock::time_point now);

// The same for prepared queries (JSON arrays): match by ID, then by Name.
std::vector<PlannedObject> plan_query_objects(const nlohmann::json& backup,
                                              const nlohmann::json& live, KindPlan& summary);
// What prepared queries compare on, and the body that restores one (never with an ID).
nlohmann::json comparable_query(const nlohmann::json& query);
nlohmann::json query_body(const nlohmann::json& query);

}  // namespace csnap::ops
