// The leader lock against a real Consul agent, through a real fault proxy (Toxiproxy) between the
// lock and Consul: a leader whose connection stalls steps down on its own within the TTL, before
// Consul can hand the key to anyone, and the read before a commit fails closed. Consul is also
// asked directly (curl, not through the proxy), to see what it thinks meanwhile.

#include "daemon/leader.hpp"

#include <atomic>
#include <chrono>
#include <functional>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "consul_agent.hpp"
#include "polling.hpp"
#include "toxiproxy.hpp"

namespace csnap::daemon {
namespace {

using namespace std::chrono_literals;
using csnap::testing::curl;

using testing::eventually;

std::unique_ptr<consul::Client> lock_client(const std::string& address, std::chrono::seconds ttl) {
  consul::Settings settings;
  settings.address = address;
  settings.request_timeout = lock_request_timeout(ttl);
  settings.max_attempts = 1;
  auto client = consul::Client::create(settings);
  EXPECT_TRUE(client.ok()) << client.error().message();
  return client.ok() ? std::move(client).value() : nullptr;
}

// The session holding `key`, asked of Consul directly; "" when none, "?" when Consul did not say.
std::string holder_of(const csnap::testing::ConsulAgent& agent, const std::string& key) {
  auto answer = curl({"--max-time", "2", "http://" + agent.http_address() + "/v1/kv/" + key});
  if (!answer.ok() || answer->status != 200)
    return answer.ok() && answer->status == 404 ? "" : "?";
  auto entry = nlohmann::json::parse(answer->body, nullptr, false);
  if (!entry.is_array() || entry.empty())
    return "?";
  return entry[0].value("Session", "");
}

TEST(LeaderLockFaults, AStalledConnectionEndsTheLeaseBeforeConsulReleasesTheKey) {
  CSNAP_REQUIRE_CONSUL(agent, csnap::testing::ConsulAgentOptions{});
  CSNAP_REQUIRE_TOXIPROXY(proxy);
  auto port = proxy->create_proxy("leader_stall", agent->http_address());
  ASSERT_TRUE(port.ok()) << port.error().message();
  const std::string through = "127.0.0.1:" + std::to_string(*port);
  constexpr auto ttl = 10s;
  std::atomic<int> lost_calls = 0;
  const std::string key = "test/leader-stall";
  LeaderLock lock(
      lock_client(through, ttl), lock_client(through, ttl),
      {.key = key, .ttl = ttl, .lock_delay = 0s, .holder = R"({"host":"alpha"})", .on_lost = [&] {
         ++lost_calls;
       }});
  auto acquired = lock.acquire();
  ASSERT_TRUE(acquired.ok()) << acquired.error().message();
  ASSERT_TRUE(*acquired);
  EXPECT_TRUE(lock.confirm().ok());
  EXPECT_EQ(holder_of(*agent, key), lock.session_id());

  // A stall: Toxiproxy drops what flows either way and keeps the connections open.
  for (auto stream :
       {csnap::testing::ToxicStream::upstream, csnap::testing::ToxicStream::downstream}) {
    ASSERT_TRUE(
        proxy
            ->add_toxic("leader_stall",
                        {.name = stream == csnap::testing::ToxicStream::upstream ? "stall_up"
                                                                                 : "stall_down",
                         .type = "timeout",
                         .stream = stream,
                         .attributes_json = R"({"timeout": 0})"})
            .ok());
  }
  const auto cut = std::chrono::steady_clock::now();

  // The read before a commit fails closed within its own short timeout.
  auto confirmed = lock.confirm();
  EXPECT_FALSE(confirmed.ok()) << "confirmed the lock through a stalled connection";
  EXPECT_LT(std::chrono::steady_clock::now() - cut, ttl) << "the confirming read hung";

  // The lease ends no later than one TTL after the last confirmed renewal (which was before the
  // cut), while Consul still keeps the session: it expires a session only after twice its TTL
  // without a renewal.
  std::optional<std::chrono::steady_clock::time_point> lost_at;
  std::optional<std::chrono::steady_clock::time_point> released_at;
  EXPECT_TRUE(eventually(3 * ttl + 10s,
                         [&] {
                           if (!lost_at && lock.lost())
                             lost_at = std::chrono::steady_clock::now();
                           if (!released_at && holder_of(*agent, key).empty())
                             released_at = std::chrono::steady_clock::now();
                           return lost_at && released_at;
                         }))
      << "lost: " << lost_at.has_value() << ", released by Consul: " << released_at.has_value();
  ASSERT_TRUE(lost_at && released_at);
  EXPECT_LT(*lost_at, *released_at) << "the daemon still led after Consul released the key";
  EXPECT_LE(*lost_at - cut, ttl + 1s) << "the lease outlived the TTL";
  EXPECT_TRUE(eventually(5s, [&] { return lost_calls == 1; })) << lost_calls;
  auto held = lock.held();
  EXPECT_TRUE(held.ok() && !*held);

  // Reconnected: a new session takes the free key.
  ASSERT_TRUE(proxy->remove_toxic("leader_stall", "stall_up").ok());
  ASSERT_TRUE(proxy->remove_toxic("leader_stall", "stall_down").ok());
  std::string old_session = lock.session_id();
  EXPECT_TRUE(eventually(20s, [&] {
    auto again = lock.acquire();
    return again.ok() && *again;
  }));
  EXPECT_NE(lock.session_id(), old_session);
  EXPECT_TRUE(lock.confirm().ok());
  lock.release();
  EXPECT_EQ(holder_of(*agent, key), "");
  EXPECT_TRUE(proxy->remove_proxy("leader_stall").ok());
}

TEST(LeaderLockFaults, TheReadBeforeACommitSeesAnotherHolder) {
  CSNAP_REQUIRE_CONSUL(agent, csnap::testing::ConsulAgentOptions{});
  // A long TTL: the renewal thread does not notice in time; only the fresh read can.
  constexpr auto ttl = 60s;
  const std::string key = "test/leader-taken";
  LeaderLock lock(lock_client(agent->http_address(), ttl), lock_client(agent->http_address(), ttl),
                  {.key = key, .ttl = ttl, .lock_delay = 0s, .holder = "alpha"});
  auto acquired = lock.acquire();
  ASSERT_TRUE(acquired.ok() && *acquired);
  ASSERT_TRUE(lock.confirm().ok());

  // An operator destroys the session and another holder takes the key.
  const std::string consul = "http://" + agent->http_address();
  auto destroyed = curl({"-X", "PUT", consul + "/v1/session/destroy/" + lock.session_id()});
  ASSERT_TRUE(destroyed.ok() && destroyed->status == 200);
  auto created =
      curl({"-X", "PUT", "--data", R"({"LockDelay":"0s"})", consul + "/v1/session/create"});
  ASSERT_TRUE(created.ok() && created->status == 200);
  std::string other = nlohmann::json::parse(created->body).at("ID");
  auto taken =
      curl({"-X", "PUT", "--data", "beta", consul + "/v1/kv/" + key + "?acquire=" + other});
  ASSERT_TRUE(taken.ok() && taken->body.find("true") != std::string::npos) << taken->body;

  auto confirmed = lock.confirm();
  ASSERT_FALSE(confirmed.ok()) << "confirmed a lock that another session holds";
  EXPECT_EQ(confirmed.error().kind(), ErrorKind::cancelled);
  EXPECT_NE(confirmed.error().message().find("held by session " + other), std::string::npos)
      << confirmed.error().message();
  lock.release();  // releasing with a dead session changes nothing for the other holder
  EXPECT_EQ(holder_of(*agent, key), other);
}

}  // namespace
}  // namespace csnap::daemon
