#include "consul/config_entry.hpp"

#include <fmt/format.h>

#include "http/url.hpp"

namespace csnap::consul {
namespace {

// Consul's answer (500 to a read, 400 to a write) for a kind it does not know.
constexpr std::string_view kUnknownKind = "invalid config entry kind";

}  // namespace

Result<ConfigEntryListing> list_config_entries(Client& client, std::string_view kind) {
  auto target = fmt::format("/v1/config/{}", http::percent_encode_component(kind));
  // Consul answers an unknown kind with a 500, which the client would retry with back-off:
  // one attempt first, then the usual retries only for another failure.
  auto response = client.request_json("GET", target, {}, {.max_attempts = 1});
  if (!response.ok() && response.error().message().find(kUnknownKind) != std::string::npos)
    return ConfigEntryListing{.kind_known = false};
  if (!response.ok() && response.error().kind() == ErrorKind::transient)
    response = client.request_json("GET", target);
  if (!response.ok())
    return std::move(response).error();
  ConfigEntryListing listing;
  listing.filtered_by_acls = response->filtered_by_acls;
  if (response->body.is_null())
    return listing;
  if (!response->body.is_array()) {
    return Error(ErrorKind::corrupt,
                 fmt::format("GET {}: Consul's answer is not a JSON array", target));
  }
  listing.entries = std::move(response->body);
  return listing;
}

Result<bool> write_config_entry(Client& client, const nlohmann::json& entry,
                                std::optional<std::uint64_t> cas) {
  std::string target = "/v1/config";
  if (cas)
    target += fmt::format("?cas={}", *cas);
  CSNAP_ASSIGN_OR_RETURN(auto response, client.request_json("PUT", target, entry.dump()));
  if (!response.body.is_boolean()) {
    return Error(ErrorKind::corrupt,
                 fmt::format("PUT {}: Consul's answer is not true or false", target));
  }
  return response.body.get<bool>();
}

}  // namespace csnap::consul
