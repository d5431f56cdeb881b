#include "ops/acl_objects.hpp"

#include <algorithm>
#include <array>

#include <fmt/format.h>

#include "util/log.hpp"
#include "util/time.hpp"

namespace csnap::ops {
namespace {

using consul::AclKind;
using nlohmann::json;

// Fields Consul maintains itself: never sent, never compared.
constexpr std::array<const char*, 6> kBookkeeping = {"CreateIndex", "ModifyIndex",   "Hash",
                                                     "CreateTime",  "ExpirationTTL", "Legacy"};

const json& empty_array() {
  static const json array = json::array();
  return array;
}

bool is_empty_value(const json& value) {
  return value.is_null() || (value.is_string() && value.get_ref<const std::string&>().empty()) ||
         (value.is_array() && value.empty()) || (value.is_object() && value.empty()) ||
         (value.is_boolean() && !value.get<bool>());
}

void erase_bookkeeping(json& object) {
  for (const char* field : kBookkeeping)
    object.erase(field);
}

const json& array_or_empty(const json& value) {
  return value.is_array() ? value : empty_array();
}

// Links compare as a sorted list of IDs; a link known only by name as "name:<name>".
json link_keys(const json& links) {
  std::vector<std::string> keys;
  for (const auto& link : array_or_empty(links)) {
    auto id = json_text(link, "ID");
    keys.push_back(id.empty() ? "name:" + json_text(link, "Name") : id);
  }
  std::sort(keys.begin(), keys.end());
  return keys;
}

json relink_array(const json& links, const IdMap& ids) {
  json result = json::array();
  for (const auto& link : array_or_empty(links)) {
    auto id = json_text(link, "ID");
    auto found = ids.find(id);
    if (!id.empty() && found != ids.end()) {
      result.push_back({{"ID", found->second}});
    } else if (auto name = json_text(link, "Name"); !name.empty()) {
      result.push_back({{"Name", name}});
    } else if (!id.empty()) {
      result.push_back({{"ID", id}});
    }
  }
  return result;
}

std::string label_for(AclKind kind, const json& object) {
  switch (kind) {
    case AclKind::policy:
      return fmt::format("policy {}", json_text(object, "Name"));
    case AclKind::role:
      return fmt::format("role {}", json_text(object, "Name"));
    case AclKind::auth_method:
      return fmt::format("auth method {}", json_text(object, "Name"));
    case AclKind::binding_rule:
      return fmt::format("binding rule {} (auth method {})", json_text(object, "ID"),
                         json_text(object, "AuthMethod"));
    case AclKind::token: {
      auto accessor = json_text(object, "AccessorID");
      if (accessor == kAnonymousTokenId)
        return "token anonymous";
      auto description = json_text(object, "Description");
      return description.empty() ? fmt::format("token {}", accessor)
                                 : fmt::format("token {} ({:?})", accessor, description);
    }
  }
  return "object";
}

std::string binding_rule_key(const json& rule) {
  return fmt::format("{}\n{}\n{}\n{}", json_text(rule, "AuthMethod"), json_text(rule, "BindType"),
                     json_text(rule, "BindName"), json_text(rule, "Selector"));
}

// The live objects of one kind, indexed the ways a backup object can match them.
struct LiveIndex {
  std::map<std::string, const json*> by_id;
  std::map<std::string, const json*> by_name;     // policies, roles
  std::map<std::string, std::string> by_secret;   // tokens: SecretID -> AccessorID
  std::map<std::string, const json*> by_content;  // binding rules

  LiveIndex(AclKind kind, const json& objects) {
    const std::string id_field(consul::acl_id_field(kind));
    for (const auto& object : array_or_empty(objects)) {
      if (!object.is_object())
        continue;
      by_id[json_text(object, id_field)] = &object;
      if (kind == AclKind::policy || kind == AclKind::role)
        by_name[json_text(object, "Name")] = &object;
      if (kind == AclKind::token)
        by_secret[json_text(object, "SecretID")] = json_text(object, "AccessorID");
      if (kind == AclKind::binding_rule)
        by_content[binding_rule_key(object)] = &object;
    }
  }

  const json* find(AclKind kind, const json& object) const {
    auto id = json_text(object, std::string(consul::acl_id_field(kind)));
    if (auto it = by_id.find(id); !id.empty() && it != by_id.end())
      return it->second;
    if (kind == AclKind::policy || kind == AclKind::role) {
      auto name = json_text(object, "Name");
      if (auto it = by_name.find(name); !name.empty() && it != by_name.end())
        return it->second;
    }
    if (kind == AclKind::binding_rule) {
      if (auto it = by_content.find(binding_rule_key(object)); it != by_content.end())
        return it->second;
    }
    return nullptr;
  }
};

// Why a backup token is not restored, or "" when it may be.
std::string token_skip_reason(const json& token, const LiveIndex& live,
                              std::chrono::system_clock::time_point now) {
  auto accessor = json_text(token, "AccessorID");
  auto secret = json_text(token, "SecretID");
  if (accessor == kAnonymousTokenId)
    return "built in";
  if (secret.empty() || secret == kHiddenSecret)
    return "its SecretID is not in the backup";
  if (auto method = json_text(token, "AuthMethod"); !method.empty())
    return fmt::format("a login token of auth method {}: Consul makes those only at login", method);
  if (auto expiry = json_text(token, "ExpirationTime"); !expiry.empty()) {
    auto when = parse_rfc3339(expiry);
    if (when.ok() && *when <= now)
      return fmt::format("expired at {}", expiry);
  }
  if (auto owner = live.by_secret.find(secret);
      owner != live.by_secret.end() && owner->second != accessor) {
    return fmt::format("its SecretID already belongs to token {} in the target", owner->second);
  }
  if (auto same = live.by_id.find(accessor); same != live.by_id.end()) {
    if (json_text(*same->second, "SecretID") != secret)
      return "the target has this AccessorID with another SecretID";
  }
  return {};
}

bool is_builtin_policy(const json& policy) {
  auto id = json_text(policy, "ID");
  return id == kGlobalManagementPolicyId || id == kGlobalReadOnlyPolicyId ||
         json_text(policy, "Name").starts_with("builtin/");
}

}  // namespace

std::string acl_count_kind(AclKind kind) {
  return fmt::format("acl-{}", consul::acl_kind_plural(kind));
}

std::string_view acl_member_name(AclKind kind) {
  switch (kind) {
    case AclKind::policy:
      return kAclPoliciesMember;
    case AclKind::role:
      return kAclRolesMember;
    case AclKind::token:
      return kAclTokensMember;
    case AclKind::auth_method:
      return kAclAuthMethodsMember;
    case AclKind::binding_rule:
      return kAclBindingRulesMember;
  }
  return {};
}

namespace {

// The member of `objects` (const or not) that holds the objects of `kind`.
template <typename Objects>
auto& member_of(Objects& objects, AclKind kind) {
  switch (kind) {
    case AclKind::policy:
      return objects.policies;
    case AclKind::role:
      return objects.roles;
    case AclKind::token:
      return objects.tokens;
    case AclKind::auth_method:
      return objects.auth_methods;
    case AclKind::binding_rule:
      return objects.binding_rules;
  }
  return objects.policies;
}

}  // namespace

json& AclObjects::of(AclKind kind) {
  return member_of(*this, kind);
}

const json& AclObjects::of(AclKind kind) const {
  return member_of(*this, kind);
}

std::string_view to_string(RestoreAction action) {
  switch (action) {
    case RestoreAction::create:
      return "create";
    case RestoreAction::update:
      return "update";
    case RestoreAction::unchanged:
      return "unchanged";
    case RestoreAction::skip:
      return "skip";
  }
  return "?";
}

void strip_empty(json& value) {
  if (value.is_array()) {
    for (auto& element : value)
      strip_empty(element);
  } else if (value.is_object()) {
    for (auto it = value.begin(); it != value.end();) {
      strip_empty(it.value());
      if (is_empty_value(it.value())) {
        it = value.erase(it);
      } else {
        ++it;
      }
    }
  }
}

void count_planned(KindPlan& summary, const PlannedObject& planned) {
  switch (planned.action) {
    case RestoreAction::create:
      ++summary.create;
      break;
    case RestoreAction::update:
      ++summary.update;
      break;
    case RestoreAction::unchanged:
      ++summary.unchanged;
      break;
    case RestoreAction::skip:
      ++summary.skip;
      summary.notes.push_back(fmt::format("skip {} ({})", planned.label, planned.note));
      break;
  }
}

bool count_unwritten(KindPlan& done, const PlannedObject& planned) {
  switch (planned.action) {
    case RestoreAction::unchanged:
      ++done.unchanged;
      return true;
    case RestoreAction::skip:
      ++done.skip;
      done.notes.push_back(fmt::format("skip {} ({})", planned.label, planned.note));
      log::warn("Skipping {}: {}", planned.label, planned.note);
      return true;
    case RestoreAction::create:
    case RestoreAction::update:
      break;
  }
  return false;
}

void count_write(KindPlan& done, const PlannedObject& planned, std::string_view failure) {
  if (failure.empty()) {
    ++(planned.action == RestoreAction::create ? done.create : done.update);
    log::debug("{}d {}", to_string(planned.action), planned.label);
    return;
  }
  ++done.failed;
  auto note = fmt::format("failed to {} {}: {}", to_string(planned.action), planned.label, failure);
  log::error("{}", note);
  done.notes.push_back(std::move(note));
}

std::string json_text(const json& object, const std::string& field) {
  if (!object.is_object())
    return {};
  auto it = object.find(field);
  if (it == object.end() || !it->is_string())
    return {};
  return it->get<std::string>();
}

json relink(const json& object, const IdMap& policy_ids, const IdMap& role_ids) {
  json result = object;
  if (!result.is_object())
    return result;
  if (result.contains("Policies"))
    result["Policies"] = relink_array(result["Policies"], policy_ids);
  if (result.contains("Roles"))
    result["Roles"] = relink_array(result["Roles"], role_ids);
  return result;
}

json comparable(AclKind kind, const json& object) {
  json result = object;
  if (!result.is_object())
    return result;
  erase_bookkeeping(result);
  if (kind == AclKind::policy || kind == AclKind::role || kind == AclKind::binding_rule)
    result.erase("ID");
  if (kind == AclKind::token)
    result.erase("ExpirationTime");  // fixed at creation: an update cannot change it
  for (const char* links : {"Policies", "Roles"}) {
    if (result.contains(links))
      result[links] = link_keys(result[links]);
  }
  strip_empty(result);
  return result;
}

json restore_body(const PlannedObject& planned, const IdMap& policy_ids, const IdMap& role_ids) {
  json body = relink(planned.object, policy_ids, role_ids);
  erase_bookkeeping(body);
  const bool update = planned.action == RestoreAction::update;
  switch (planned.kind) {
    case AclKind::policy:
    case AclKind::role:
    case AclKind::binding_rule:
      if (update) {
        body["ID"] = planned.live_id;
      } else {
        body.erase("ID");
      }
      break;
    case AclKind::token:
      if (update)
        body.erase("ExpirationTime");
      body.erase("AuthMethod");
      break;
    case AclKind::auth_method:
      break;
  }
  return body;
}

AclRestorePlan plan_acl_objects(const AclObjects& backup, const AclObjects& live,
                                std::chrono::system_clock::time_point now) {
  AclRestorePlan plan;
  for (AclKind kind : kAclRestoreOrder) {
    KindPlan summary{.kind = acl_count_kind(kind)};
    LiveIndex index(kind, live.of(kind));
    const std::string id_field(consul::acl_id_field(kind));
    for (const auto& object : array_or_empty(backup.of(kind))) {
      PlannedObject planned{.kind = kind,
                            .label = label_for(kind, object),
                            .backup_id = json_text(object, id_field),
                            .object = object};
      const json* match = index.find(kind, object);
      if (match != nullptr) {
        planned.live_id = json_text(*match, id_field);
        if (kind == AclKind::policy)
          plan.policy_ids[planned.backup_id] = planned.live_id;
        if (kind == AclKind::role)
          plan.role_ids[planned.backup_id] = planned.live_id;
      }
      std::string skip;
      if (!object.is_object() || planned.backup_id.empty()) {
        skip = fmt::format("no {} in the backup's object", id_field);
      } else if (kind == AclKind::policy && is_builtin_policy(object)) {
        skip = "built in";
      } else if (kind == AclKind::token) {
        skip = token_skip_reason(object, index, now);
      }
      if (!skip.empty()) {
        planned.action = RestoreAction::skip;
        planned.note = std::move(skip);
      } else if (match == nullptr) {
        planned.action = RestoreAction::create;
      } else {
        auto wanted = comparable(kind, relink(object, plan.policy_ids, plan.role_ids));
        planned.action =
            wanted == comparable(kind, *match) ? RestoreAction::unchanged : RestoreAction::update;
      }
      count_planned(summary, planned);
      plan.objects.push_back(std::move(planned));
    }
    plan.kinds.push_back(std::move(summary));
  }
  return plan;
}

json comparable_query(const json& query) {
  json result = query;
  if (!result.is_object())
    return result;
  for (const char* field : {"ID", "CreateIndex", "ModifyIndex"})
    result.erase(field);
  strip_empty(result);
  return result;
}

json query_body(const json& query) {
  json body = query;
  for (const char* field : {"ID", "CreateIndex", "ModifyIndex"})
    body.erase(field);
  if (json_text(body, "Token") == kHiddenSecret)
    body.erase("Token");
  return body;
}

std::vector<PlannedObject> plan_query_objects(const json& backup, const json& live,
                                              KindPlan& summary) {
  std::map<std::string, const json*> by_id;
  std::map<std::string, const json*> by_name;
  for (const auto& query : array_or_empty(live)) {
    by_id[json_text(query, "ID")] = &query;
    if (auto name = json_text(query, "Name"); !name.empty())
      by_name[name] = &query;
  }
  std::vector<PlannedObject> planned_queries;
  for (const auto& query : array_or_empty(backup)) {
    auto id = json_text(query, "ID");
    auto name = json_text(query, "Name");
    PlannedObject planned{.label = fmt::format("prepared query {}", name.empty() ? id : name),
                          .backup_id = id,
                          .object = query};
    const json* match = nullptr;
    if (auto it = by_id.find(id); !id.empty() && it != by_id.end()) {
      match = it->second;
    } else if (auto named = by_name.find(name); !name.empty() && named != by_name.end()) {
      match = named->second;
    }
    if (match != nullptr)
      planned.live_id = json_text(*match, "ID");
    const bool hidden_token = json_text(query, "Token") == kHiddenSecret;
    if (!query.is_object()) {
      planned.action = RestoreAction::skip;
      planned.note = "not a JSON object";
    } else if (auto session = json_text(query, "Session"); !session.empty()) {
      planned.action = RestoreAction::skip;
      planned.note = fmt::format("bound to session {}, and sessions are not restored", session);
    } else if (match == nullptr) {
      planned.action = RestoreAction::create;
    } else {
      auto wanted = comparable_query(query);
      auto have = comparable_query(*match);
      if (hidden_token) {
        wanted.erase("Token");
        have.erase("Token");
      }
      planned.action = wanted == have ? RestoreAction::unchanged : RestoreAction::update;
    }
    if (hidden_token &&
        (planned.action == RestoreAction::create || planned.action == RestoreAction::update)) {
      summary.notes.push_back(
          fmt::format("{}: its Token is not in the backup; written without one", planned.label));
    }
    count_planned(summary, planned);
    planned_queries.push_back(std::move(planned));
  }
  return planned_queries;
}

}  // namespace csnap::ops
