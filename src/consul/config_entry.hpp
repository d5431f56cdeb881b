#pragma once
// Consul's config entries (/v1/config): listed one kind at a time, and written (an upsert, with
// check-and-set when asked).

#include <cstdint>
#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

#include "consul/client.hpp"
#include "util/result.hpp"

namespace csnap::consul {

struct ConfigEntryListing {
  nlohmann::json entries = nlohmann::json::array();  // Consul's objects, in its order
  bool filtered_by_acls = false;  // Consul left out entries the token may not read
  bool kind_known = true;         // false: this agent does not know the kind ("invalid config
                                  // entry kind": an older Consul, or an Enterprise-only kind)
};

// GET /v1/config/<kind>. A kind the agent does not know is no error: `kind_known` is false.
Result<ConfigEntryListing> list_config_entries(Client& client, std::string_view kind);

// PUT /v1/config with `entry` as the body. With `cas`, only while the entry's ModifyIndex is that
// (0: only while it does not exist). Returns Consul's answer: false when the check-and-set failed.
Result<bool> write_config_entry(Client& client, const nlohmann::json& entry,
                                std::optional<std::uint64_t> cas = std::nullopt);

}  // namespace csnap::consul
