// ACL, TLS and unreachable agents: errors name the setting to change, secrets never show.

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "captured_log.hpp"
#include "consul/client.hpp"
#include "consul_agent.hpp"
#include "util/log.hpp"

namespace csnap::consul {
namespace {

using namespace std::chrono_literals;
using testing::ConsulAgentOptions;

using test_common::CapturedLog;

TEST(ConsulAcl, NoTokenIsAClearPermissionError) {
  CSNAP_REQUIRE_CONSUL(agent, ConsulAgentOptions{.acl = true});
  auto client = Client::create({.address = agent->http_address()});
  ASSERT_TRUE(client.ok());
  auto entry = (*client)->kv_get("secret/key");
  ASSERT_FALSE(entry.ok());
  EXPECT_EQ(entry.error().kind(), ErrorKind::permission_denied);
  const auto& message = entry.error().message();
  EXPECT_NE(message.find("403"), std::string::npos) << message;
  EXPECT_NE(message.find("lacks permission 'key:read'"), std::string::npos) << message;
  EXPECT_NE(message.find("CONSUL_HTTP_TOKEN or CONSUL_HTTP_TOKEN_FILE"), std::string::npos);
  auto self = (*client)->token_self();
  ASSERT_FALSE(self.ok());
  EXPECT_TRUE(self.error().kind() == ErrorKind::permission_denied ||
              self.error().kind() == ErrorKind::unauthenticated)
      << self.error().message();
  EXPECT_NE(self.error().message().find("CONSUL_HTTP_TOKEN"), std::string::npos);
}

TEST(ConsulAcl, TokenFromSettingsOrFileWorksAndNeverShowsInLogs) {
  CSNAP_REQUIRE_CONSUL(agent, ConsulAgentOptions{.acl = true});
  const std::string token = agent->management_token();
  CapturedLog log;
  {
    auto client = Client::create({.address = agent->http_address(), .token = Secret(token)});
    ASSERT_TRUE(client.ok());
    auto self = (*client)->token_self();
    ASSERT_TRUE(self.ok()) << self.error().message();
    EXPECT_EQ((*self)["SecretID"], token);
    ASSERT_TRUE((*client)->kv_put("acl/key", "value", 3).ok());
    auto entry = (*client)->kv_get("acl/key");
    ASSERT_TRUE(entry.ok());
    ASSERT_TRUE(entry->has_value());
    EXPECT_EQ((*entry)->value, "value");
    std::vector<TxnOp> ops = {TxnOp::set("acl/other", "x")};
    ASSERT_TRUE((*client)->txn(ops).ok());
    auto listing = (*client)->kv_list("acl/", std::filesystem::temp_directory_path(),
                                      [](KvEntry&&) { return Status(); });
    ASSERT_TRUE(listing.ok()) << listing.error().message();
    EXPECT_EQ(listing->entries, 2U);
    EXPECT_FALSE(listing->filtered_by_acls);
  }
  {
    auto dir = std::filesystem::path(agent->directory()) / "token-file";
    std::ofstream(dir) << token << "\n";
    auto client = Client::create({.address = agent->http_address(), .token_file = dir.string()});
    ASSERT_TRUE(client.ok()) << client.error().message();
    auto entry = (*client)->kv_get("acl/key");
    ASSERT_TRUE(entry.ok()) << entry.error().message();
    EXPECT_TRUE(entry->has_value());
  }
  {
    // A wrong token fails, and its error does not echo it.
    auto client = Client::create({.address = agent->http_address(),
                                  .token = Secret("00000000-1111-2222-3333-444444444444")});
    ASSERT_TRUE(client.ok());
    auto entry = (*client)->kv_get("acl/key");
    ASSERT_FALSE(entry.ok());
    EXPECT_EQ(entry.error().message().find("444444444444"), std::string::npos)
        << entry.error().message();
  }
  auto text = log.text();
  EXPECT_NE(text.find("GET /v1/kv/acl/key -> 200"), std::string::npos) << text;
  EXPECT_EQ(text.find(token), std::string::npos) << text;
  EXPECT_EQ(text.find("444444444444"), std::string::npos) << text;
}

TEST(ConsulTls, VerifiesTheServerWithTheCaFile) {
  CSNAP_REQUIRE_CONSUL(agent, ConsulAgentOptions{.tls = true});
  auto good = Client::create({.address = agent->https_address(), .ca_file = agent->ca_file()});
  ASSERT_TRUE(good.ok()) << good.error().message();
  auto leader = (*good)->leader();
  ASSERT_TRUE(leader.ok()) << leader.error().message();
  EXPECT_FALSE(leader->empty());

  auto port = agent->https_address().substr(agent->https_address().rfind(':') + 1);
  auto by_flag =
      Client::create({.address = "127.0.0.1:" + port, .ssl = true, .ca_file = agent->ca_file()});
  ASSERT_TRUE(by_flag.ok());
  EXPECT_TRUE((*by_flag)->leader().ok());

  auto no_ca = Client::create({.address = agent->https_address()});
  ASSERT_TRUE(no_ca.ok());
  auto failed = (*no_ca)->leader();
  ASSERT_FALSE(failed.ok());
  const auto& message = failed.error().message();
  EXPECT_NE(message.find("certificate"), std::string::npos) << message;
  EXPECT_NE(message.find("CONSUL_CACERT"), std::string::npos) << message;

  auto unverified = Client::create({.address = agent->https_address(), .ssl_verify = false});
  ASSERT_TRUE(unverified.ok());
  EXPECT_TRUE((*unverified)->leader().ok());
}

TEST(ConsulTls, ServerNameOverrideIsWhatGetsVerified) {
  CSNAP_REQUIRE_CONSUL(agent, ConsulAgentOptions{.tls = true});
  // The agent's certificate names server.dc1.consul, localhost and 127.0.0.1.
  auto named = Client::create({.address = agent->https_address(),
                               .ca_file = agent->ca_file(),
                               .tls_server_name = "server.dc1.consul"});
  ASSERT_TRUE(named.ok());
  auto leader = (*named)->leader();
  EXPECT_TRUE(leader.ok()) << leader.error().message();

  auto wrong = Client::create({.address = agent->https_address(),
                               .ca_file = agent->ca_file(),
                               .tls_server_name = "wrong.example.com"});
  ASSERT_TRUE(wrong.ok());
  auto failed = (*wrong)->leader();
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.error().message().find("CONSUL_TLS_SERVER_NAME"), std::string::npos)
      << failed.error().message();
}

TEST(ConsulUnreachable, ClosedPortIsUnavailableWithinBoundedTime) {
  auto port = testing::free_port();
  ASSERT_TRUE(port.ok());
  std::string address = "127.0.0.1:" + std::to_string(*port);
  auto client = Client::create({.address = address});
  ASSERT_TRUE(client.ok());
  auto start = std::chrono::steady_clock::now();
  auto leader = (*client)->leader();
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(leader.ok());
  EXPECT_EQ(leader.error().kind(), ErrorKind::unavailable);
  EXPECT_NE(leader.error().message().find(address), std::string::npos) << leader.error().message();
  EXPECT_NE(leader.error().message().find("CONSUL_HTTP_ADDR"), std::string::npos);
  EXPECT_LT(elapsed, 10s);
}

}  // namespace
}  // namespace csnap::consul
