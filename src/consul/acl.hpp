#pragma once
// Consul's ACL system (1.4+ API): policies, roles, tokens, auth methods and binding rules, read
// whole and written one object at a time. Objects are Consul's own JSON.

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "consul/client.hpp"
#include "util/result.hpp"

namespace csnap::consul {

enum class AclKind { policy, role, token, auth_method, binding_rule };

// Singular and plural API names: "policy"/"policies", "auth-method"/"auth-methods"...
std::string_view acl_kind_singular(AclKind kind);
std::string_view acl_kind_plural(AclKind kind);
// The field that identifies an object of `kind`: "ID", "AccessorID" or (auth methods) "Name".
std::string_view acl_id_field(AclKind kind);

// Whether `error` is Consul's answer on an agent without ACLs (401 "ACL support disabled").
bool is_acl_disabled(const Error& error);

// Every object of `kind`, complete: policies and auth methods are read one by one, because the
// lists leave out `Rules` and `Config`. A JSON array in Consul's order.
Result<nlohmann::json> acl_list(Client& client, AclKind kind);
// One object by its id field; ErrorKind::not_found when there is none.
Result<nlohmann::json> acl_read(Client& client, AclKind kind, std::string_view id);
// Creates `object` (PUT /v1/acl/<kind>) and returns it as Consul stored it.
Result<nlohmann::json> acl_create(Client& client, AclKind kind, const nlohmann::json& object);
// Replaces the object `id` with `object` (PUT /v1/acl/<kind>/<id>) and returns it as stored.
Result<nlohmann::json> acl_update(Client& client, AclKind kind, std::string_view id,
                                  const nlohmann::json& object);

}  // namespace csnap::consul
