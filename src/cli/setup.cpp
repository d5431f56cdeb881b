#include "cli/setup.hpp"

#include <chrono>

#include "storage/local.hpp"

namespace csnap::cli {

consul::Settings consul_settings(const config::Config& config) {
  consul::Settings settings;
  settings.address = config.string("consul-addr");
  settings.token = config.secret("consul-token");
  settings.token_file = config.string("consul-token-file");
  settings.http_auth = config.secret("consul-http-auth");
  if (config.is_set("consul-ssl"))
    settings.ssl = config.boolean("consul-ssl");
  settings.ssl_verify = config.boolean("consul-ssl-verify");
  settings.ca_file = config.string("consul-cacert");
  settings.ca_path = config.string("consul-capath");
  settings.client_cert = config.string("consul-client-cert");
  settings.client_key = config.string("consul-client-key");
  settings.tls_server_name = config.string("consul-tls-server-name");
  settings.request_timeout =
      std::chrono::duration_cast<std::chrono::milliseconds>(config.duration("consul-timeout"));
  return settings;
}

Result<std::unique_ptr<consul::Client>> connect_consul(const config::Config& config) {
  auto client = consul::Client::create(consul_settings(config));
  if (!client.ok()) {
    // Bad Consul settings are configuration errors: exit code 2.
    if (client.error().kind() == ErrorKind::not_found ||
        client.error().kind() == ErrorKind::permission_denied) {
      return Error(ErrorKind::invalid_argument, client.error().message());
    }
  }
  return client;
}

std::unique_ptr<storage::Backend> open_storage(const config::Config& config) {
  return std::make_unique<storage::LocalBackend>(config.string("local-dir"));
}

}  // namespace csnap::cli
