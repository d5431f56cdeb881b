#pragma once
// Consul's prepared queries (/v1/query): listed whole, created (Consul picks the ID) and updated.

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "consul/client.hpp"
#include "util/result.hpp"

namespace csnap::consul {

struct QueryListing {
  nlohmann::json queries = nlohmann::json::array();  // Consul's objects, in its order
  bool filtered_by_acls = false;  // Consul left out queries the token may not read
};

// GET /v1/query.
Result<QueryListing> list_prepared_queries(Client& client);
// POST /v1/query with `query` (its "ID" must be absent: Consul refuses one); returns the new ID.
Result<std::string> create_prepared_query(Client& client, const nlohmann::json& query);
// PUT /v1/query/<id>: replaces the existing query `id`.
Status update_prepared_query(Client& client, std::string_view id, const nlohmann::json& query);

}  // namespace csnap::consul
