#pragma once
// --register-service: the daemon as a service of the local Consul agent, with an HTTP check on
// its /health, so that Consul (and whatever watches Consul) sees when backups go stale.

#include <string>

#include "consul/client.hpp"
#include "util/result.hpp"

namespace csnap::daemon {

struct ServiceRegistration {
  std::string id;         // unique on the agent: <name>-<host>-<port>
  std::string name;       // --service-name
  std::string check_url;  // http://<host>:<port>/health as the agent reaches it
  int port = 0;
  std::string interval = "10s";
  std::string timeout = "5s";
};

// The registration for a daemon whose HTTP server listens on `http_addr` (as given to
// --http-addr) at `port`: an address on every interface is checked through 127.0.0.1.
ServiceRegistration make_registration(std::string_view name, std::string_view host,
                                      std::string_view http_addr, int port);

Status register_service(consul::Client& consul, const ServiceRegistration& service);
Status deregister_service(consul::Client& consul, const ServiceRegistration& service);

}  // namespace csnap::daemon
