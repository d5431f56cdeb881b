#include "consul/prepared_query.hpp"

#include <fmt/format.h>

#include "http/url.hpp"

namespace csnap::consul {

Result<QueryListing> list_prepared_queries(Client& client) {
  CSNAP_ASSIGN_OR_RETURN(auto response, client.request_json("GET", "/v1/query"));
  QueryListing listing;
  listing.filtered_by_acls = response.filtered_by_acls;
  if (response.body.is_null())
    return listing;
  if (!response.body.is_array())
    return Error(ErrorKind::corrupt, "GET /v1/query: Consul's answer is not a JSON array");
  listing.queries = std::move(response.body);
  return listing;
}

Result<std::string> create_prepared_query(Client& client, const nlohmann::json& query) {
  CSNAP_ASSIGN_OR_RETURN(auto response, client.request_json("POST", "/v1/query", query.dump()));
  auto id = response.body.is_object() ? response.body.find("ID") : response.body.end();
  if (!response.body.is_object() || id == response.body.end() || !id->is_string())
    return Error(ErrorKind::corrupt, "POST /v1/query: Consul's answer has no ID");
  return id->get<std::string>();
}

Status update_prepared_query(Client& client, std::string_view id, const nlohmann::json& query) {
  auto target = fmt::format("/v1/query/{}", http::percent_encode_component(id));
  CSNAP_TRY(client.request_json("PUT", target, query.dump()));
  return {};
}

}  // namespace csnap::consul
