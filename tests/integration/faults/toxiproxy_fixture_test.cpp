// The fault proxy itself, checked with curl against a real Consul agent: the fault tests rely on
// each kind of fault doing what its name says.

#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "consul_agent.hpp"
#include "toxiproxy.hpp"

namespace csnap::testing {
namespace {

using namespace std::chrono_literals;

TEST(ToxiproxyFixture, ForwardsCutsAndRefusesAsConfigured) {
  CSNAP_REQUIRE_CONSUL(agent, ConsulAgentOptions{});
  CSNAP_REQUIRE_TOXIPROXY(proxy);
  auto port = proxy->create_proxy("fixture_consul", agent->http_address());
  ASSERT_TRUE(port.ok()) << port.error().message();
  const std::string through = "http://127.0.0.1:" + std::to_string(*port);

  auto put =
      curl({"-X", "PUT", "--data-binary", std::string(4096, 'v'), through + "/v1/kv/fixture/big"});
  ASSERT_TRUE(put.ok()) << put.error().message();
  EXPECT_EQ(put->status, 200) << put->body;
  auto get = curl({through + "/v1/kv/fixture/big?raw"});
  ASSERT_TRUE(get.ok());
  EXPECT_EQ(get->body, std::string(4096, 'v'));

  // limit_data: the answer stops after 100 bytes and the connection closes.
  ASSERT_TRUE(
      proxy
          ->add_toxic("fixture_consul",
                      {.name = "cut", .type = "limit_data", .attributes_json = R"({"bytes": 100})"})
          .ok());
  auto cut = curl({"--max-time", "10", through + "/v1/kv/fixture/big?raw"});
  EXPECT_TRUE(!cut.ok() || cut->body.size() < 4096)
      << "a cut answer came back whole: " << cut->body.size();
  ASSERT_TRUE(proxy->remove_toxic("fixture_consul", "cut").ok());

  // Disabled: connections are refused.
  ASSERT_TRUE(proxy->set_enabled("fixture_consul", false).ok());
  auto refused = curl({"--max-time", "5", through + "/v1/kv/fixture/big?raw"});
  EXPECT_TRUE(!refused.ok() || refused->status == 0);
  ASSERT_TRUE(proxy->set_enabled("fixture_consul", true).ok());
  auto again = curl({through + "/v1/kv/fixture/big?raw"});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->body.size(), 4096u);
  EXPECT_TRUE(proxy->remove_proxy("fixture_consul").ok());
}

}  // namespace
}  // namespace csnap::testing
