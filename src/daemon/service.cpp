#include "daemon/service.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "http/url.hpp"

namespace csnap::daemon {

ServiceRegistration make_registration(std::string_view name, std::string_view host,
                                      std::string_view http_addr, int port) {
  // The host part of host:port, [v6]:port or :port.
  std::string check_host = "127.0.0.1";
  auto colon = http_addr.rfind(':');
  auto address = http_addr.substr(0, colon == std::string_view::npos ? 0 : colon);
  if (!address.empty() && address != "0.0.0.0" && address != "[::]" && address != "*")
    check_host = std::string(address);
  ServiceRegistration service;
  service.name = std::string(name);
  service.id = fmt::format("{}-{}-{}", name, host, port);
  service.port = port;
  service.check_url = fmt::format("http://{}:{}/health", check_host, port);
  return service;
}

Status register_service(consul::Client& consul, const ServiceRegistration& service) {
  nlohmann::json body = {
      {"ID", service.id},
      {"Name", service.name},
      {"Port", service.port},
      {"Tags", {"consul-snapshot"}},
      {"Check",
       {
           {"Name", "consul-snapshot backup age"},
           {"HTTP", service.check_url},
           {"Method", "GET"},
           {"Interval", service.interval},
           {"Timeout", service.timeout},
       }},
  };
  auto registered = consul.request_json("PUT", "/v1/agent/service/register", body.dump());
  if (!registered.ok()) {
    return std::move(registered.error().add_context(
        fmt::format("registering the service {} with the local Consul agent (the token needs "
                    "service:write on it; or leave --register-service off)",
                    service.name)));
  }
  return {};
}

Status deregister_service(consul::Client& consul, const ServiceRegistration& service) {
  auto target =
      fmt::format("/v1/agent/service/deregister/{}", http::percent_encode_path(service.id));
  auto done = consul.request_json("PUT", target);
  if (!done.ok()) {
    return std::move(
        done.error().add_context(fmt::format("deregistering the service {}", service.id)));
  }
  return {};
}

}  // namespace csnap::daemon
