#include "toxiproxy.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "server_process.hpp"

namespace csnap::testing {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kToxiproxyVersion = "v2.12.0";

}  // namespace

std::optional<std::filesystem::path> find_toxiproxy_binary() {
  return find_cached_binary("TOXIPROXY_BIN", fmt::format("toxiproxy-server-{}", kToxiproxyVersion));
}

Result<ToxiproxyServer*> ToxiproxyServer::shared() {
  static Result<std::unique_ptr<ToxiproxyServer>> server = start();
  if (!server.ok())
    return server.error();
  return server->get();
}

Result<std::unique_ptr<ToxiproxyServer>> ToxiproxyServer::start() {
  auto binary = find_toxiproxy_binary();
  if (!binary) {
    return Error(ErrorKind::not_found,
                 "toxiproxy-server not found: run scripts/build-toxiproxy.sh or set TOXIPROXY_BIN");
  }
  std::unique_ptr<ToxiproxyServer> server(new ToxiproxyServer());
  CSNAP_ASSIGN_OR_RETURN(server->directory_, make_temp_directory("csnap-toxiproxy-"));
  CSNAP_ASSIGN_OR_RETURN(server->port_, free_port());
  CSNAP_TRY(launch_server(
      {.name = "toxiproxy",
       .argv = {binary->string(), "-host", "127.0.0.1", "-port", std::to_string(server->port_)},
       .env = {},
       .directory = server->directory_,
       .log_path = server->directory_ / "toxiproxy.log",
       .deadline = 30s,
       .ready_request = {server->api() + "/version"},
       .ready_status = 200},
      server->pid_));
  return server;
}

ToxiproxyServer::~ToxiproxyServer() {
  stop_and_remove(pid_, directory_, 5s);
}

std::string ToxiproxyServer::api() const {
  return fmt::format("http://127.0.0.1:{}", port_);
}

Status ToxiproxyServer::call(const std::string& method, const std::string& path,
                             const std::string& body, long expected_status) {
  std::vector<std::string> args = {"-X", method, api() + path};
  if (!body.empty()) {
    args.insert(args.end(), {"-H", "Content-Type: application/json", "--data-binary", body});
  }
  CSNAP_ASSIGN_OR_RETURN(auto answer, curl(args));
  if (answer.status != expected_status) {
    return Error(ErrorKind::internal,
                 fmt::format("toxiproxy {} {}: {} {}", method, path, answer.status, answer.body));
  }
  return {};
}

Result<int> ToxiproxyServer::create_proxy(const std::string& name, const std::string& upstream) {
  (void)remove_proxy(name);  // a leftover of an earlier test of this process
  CSNAP_ASSIGN_OR_RETURN(int port, free_port());
  nlohmann::json proxy = {{"name", name},
                          {"listen", fmt::format("127.0.0.1:{}", port)},
                          {"upstream", upstream},
                          {"enabled", true}};
  CSNAP_TRY(call("POST", "/proxies", proxy.dump(), 201));
  return port;
}

Status ToxiproxyServer::add_toxic(const std::string& proxy, const Toxic& toxic) {
  auto attributes = nlohmann::json::parse(toxic.attributes_json, nullptr, false);
  if (attributes.is_discarded() || !attributes.is_object())
    return Error(ErrorKind::invalid_argument,
                 fmt::format("toxic {}: attributes are not a JSON object", toxic.name));
  nlohmann::json body = {
      {"name", toxic.name},
      {"type", toxic.type},
      {"stream", toxic.stream == ToxicStream::upstream ? "upstream" : "downstream"},
      {"toxicity", toxic.toxicity},
      {"attributes", attributes}};
  return call("POST", fmt::format("/proxies/{}/toxics", proxy), body.dump(), 200);
}

Status ToxiproxyServer::remove_toxic(const std::string& proxy, const std::string& toxic) {
  return call("DELETE", fmt::format("/proxies/{}/toxics/{}", proxy, toxic), "", 204);
}

Status ToxiproxyServer::set_enabled(const std::string& proxy, bool enabled) {
  nlohmann::json body = {{"enabled", enabled}};
  return call("POST", fmt::format("/proxies/{}", proxy), body.dump(), 200);
}

Status ToxiproxyServer::remove_proxy(const std::string& proxy) {
  return call("DELETE", fmt::format("/proxies/{}", proxy), "", 204);
}

}  // namespace csnap::testing
