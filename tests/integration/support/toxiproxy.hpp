#pragma once
// A real fault-injecting TCP proxy for the fault tests: Shopify's Toxiproxy server
// (scripts/build-toxiproxy.sh) on a free loopback port, one per test process. A test puts a proxy
// between the tool and Consul or SeaweedFS, points the tool at the proxy's port, and adds toxics
// (latency, cut answers, resets, stalls) through Toxiproxy's HTTP API, spoken here with the curl
// CLI so that the fixture shares no code with what it tests.

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "consul_agent.hpp"  // running_in_ci, free_port, curl
#include "util/result.hpp"

namespace csnap::testing {

// Where a toxic acts: on what the client sends (upstream) or on the answers (downstream).
enum class ToxicStream { upstream, downstream };

// One toxic, as Toxiproxy's API names them (https://github.com/Shopify/toxiproxy#toxics):
// `type` "latency" {latency, jitter}, "limit_data" {bytes}, "reset_peer" {timeout}, "timeout"
// {timeout}, "bandwidth" {rate}, "slow_close" {delay}, "slicer" {...}; `attributes_json` is the
// JSON object of its attributes, e.g. R"({"latency": 200, "jitter": 100})".
struct Toxic {
  std::string name;
  std::string type;
  ToxicStream stream = ToxicStream::downstream;
  double toxicity = 1.0;  // the share of connections it applies to
  std::string attributes_json = "{}";
};

class ToxiproxyServer {
 public:
  static Result<std::unique_ptr<ToxiproxyServer>> start();
  // The server of this test process, started on first use and stopped at exit.
  static Result<ToxiproxyServer*> shared();
  ToxiproxyServer(const ToxiproxyServer&) = delete;
  ToxiproxyServer& operator=(const ToxiproxyServer&) = delete;
  ~ToxiproxyServer();

  std::string api() const;  // "http://127.0.0.1:PORT"

  // A new proxy `name` listening on a free loopback port, forwarding to `upstream`
  // ("127.0.0.1:8500"). Returns the port it listens on. A proxy of that name is replaced.
  Result<int> create_proxy(const std::string& name, const std::string& upstream);
  Status add_toxic(const std::string& proxy, const Toxic& toxic);
  Status remove_toxic(const std::string& proxy, const std::string& toxic);
  // Enabled: forwards. Disabled: closes every connection and refuses new ones.
  Status set_enabled(const std::string& proxy, bool enabled);
  Status remove_proxy(const std::string& proxy);

 private:
  ToxiproxyServer() = default;
  Status call(const std::string& method, const std::string& path, const std::string& body,
              long expected_status);

  std::filesystem::path directory_;
  int pid_ = -1;
  int port_ = 0;
};

// $TOXIPROXY_BIN, else <cache>/bin/toxiproxy-server-v2.12.0 (scripts/build-toxiproxy.sh).
std::optional<std::filesystem::path> find_toxiproxy_binary();

}  // namespace csnap::testing

// Points `server` (a new ToxiproxyServer* variable) at the process's Toxiproxy; skips the test
// with a build hint when no binary exists, but fails under CI=true, and fails when it won't start.
#define CSNAP_REQUIRE_TOXIPROXY(server)                                              \
  CSNAP_REQUIRE_FOUND(::csnap::testing::find_toxiproxy_binary(), "toxiproxy-server", \
                      "run scripts/build-toxiproxy.sh or set TOXIPROXY_BIN")         \
  CSNAP_ASSERT_STARTED(server, ::csnap::testing::ToxiproxyServer::shared())
