#include "consul/acl.hpp"

#include <fmt/format.h>

#include "http/url.hpp"

namespace csnap::consul {
namespace {

std::string item_target(AclKind kind, std::string_view id) {
  return fmt::format("/v1/acl/{}/{}", acl_kind_singular(kind), http::percent_encode_component(id));
}

Result<nlohmann::json> expect_object(Result<JsonResponse> response, std::string_view what) {
  if (!response.ok())
    return std::move(response).error();
  if (!response->body.is_object())
    return Error(ErrorKind::corrupt, fmt::format("{}: Consul's answer is not a JSON object", what));
  return std::move(response->body);
}

}  // namespace

std::string_view acl_kind_singular(AclKind kind) {
  switch (kind) {
    case AclKind::policy:
      return "policy";
    case AclKind::role:
      return "role";
    case AclKind::token:
      return "token";
    case AclKind::auth_method:
      return "auth-method";
    case AclKind::binding_rule:
      return "binding-rule";
  }
  return "?";
}

std::string_view acl_kind_plural(AclKind kind) {
  switch (kind) {
    case AclKind::policy:
      return "policies";
    case AclKind::role:
      return "roles";
    case AclKind::token:
      return "tokens";
    case AclKind::auth_method:
      return "auth-methods";
    case AclKind::binding_rule:
      return "binding-rules";
  }
  return "?";
}

std::string_view acl_id_field(AclKind kind) {
  switch (kind) {
    case AclKind::token:
      return "AccessorID";
    case AclKind::auth_method:
      return "Name";
    default:
      return "ID";
  }
}

bool is_acl_disabled(const Error& error) {
  return error.kind() == ErrorKind::unauthenticated &&
         error.message().find("ACL support disabled") != std::string::npos;
}

Result<nlohmann::json> acl_list(Client& client, AclKind kind) {
  auto target = fmt::format("/v1/acl/{}", acl_kind_plural(kind));
  CSNAP_ASSIGN_OR_RETURN(auto listing, client.request_json("GET", target));
  if (!listing.body.is_array()) {
    return Error(ErrorKind::corrupt,
                 fmt::format("GET {}: Consul's answer is not a JSON array", target));
  }
  if (kind != AclKind::policy && kind != AclKind::auth_method)
    return std::move(listing.body);
  const auto id_field = std::string(acl_id_field(kind));
  nlohmann::json complete = nlohmann::json::array();
  for (const auto& stub : listing.body) {
    auto id = stub.find(id_field);
    if (!stub.is_object() || id == stub.end() || !id->is_string()) {
      return Error(ErrorKind::corrupt,
                   fmt::format("GET {}: an entry has no string {}", target, id_field));
    }
    auto full = acl_read(client, kind, id->get<std::string>());
    if (!full.ok() && full.error().kind() == ErrorKind::not_found)
      continue;  // deleted since the list was read
    if (!full.ok())
      return std::move(full).error();
    complete.push_back(std::move(*full));
  }
  return complete;
}

Result<nlohmann::json> acl_read(Client& client, AclKind kind, std::string_view id) {
  auto target = item_target(kind, id);
  auto response = client.request_json("GET", target);
  // Consul answers a read of a missing object with 403 "ACL not found" on some versions.
  if (!response.ok() && response.error().message().find("ACL not found") != std::string::npos)
    return Error(ErrorKind::not_found, response.error().message());
  if (response.ok() && response->body.is_null())
    return Error(ErrorKind::not_found, fmt::format("GET {}: not found", target));
  return expect_object(std::move(response), fmt::format("GET {}", target));
}

Result<nlohmann::json> acl_create(Client& client, AclKind kind, const nlohmann::json& object) {
  auto target = fmt::format("/v1/acl/{}", acl_kind_singular(kind));
  return expect_object(client.request_json("PUT", target, object.dump()),
                       fmt::format("PUT {}", target));
}

Result<nlohmann::json> acl_update(Client& client, AclKind kind, std::string_view id,
                                  const nlohmann::json& object) {
  auto target = item_target(kind, id);
  return expect_object(client.request_json("PUT", target, object.dump()),
                       fmt::format("PUT {}", target));
}

}  // namespace csnap::consul
