// KV and transactions against a real Consul agent, checked with curl and the consul CLI.

#include <filesystem>
#include <map>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "consul/client.hpp"
#include "consul_agent.hpp"
#include "util/base64.hpp"

namespace csnap::consul {
namespace {

using testing::ConsulAgentOptions;
using testing::curl;

struct Stored {
  std::string value;
  std::uint64_t flags = 0;
  friend bool operator==(const Stored&, const Stored&) = default;
};

// Every key and value as Consul has them, read with curl.
std::map<std::string, Stored> read_with_curl(const std::string& address) {
  std::map<std::string, Stored> out;
  auto result = curl({"http://" + address + "/v1/kv/?recurse"});
  EXPECT_TRUE(result.ok());
  if (!result.ok() || result->status == 404)
    return out;
  EXPECT_EQ(result->status, 200) << result->body;
  for (const auto& entry : nlohmann::json::parse(result->body)) {
    Stored stored;
    if (entry["Value"].is_string())
      stored.value = *base64::decode(entry["Value"].get<std::string>());
    stored.flags = entry["Flags"].get<std::uint64_t>();
    out[entry["Key"].get<std::string>()] = stored;
  }
  return out;
}

std::unique_ptr<Client> connect(const std::string& address) {
  auto client = Client::create({.address = address});
  EXPECT_TRUE(client.ok()) << client.error().message();
  return std::move(client).value();
}

std::map<std::string, Stored> read_with_client(Client& client,
                                               std::vector<std::string>* order = nullptr) {
  std::map<std::string, Stored> out;
  auto listing = client.kv_list("", std::filesystem::temp_directory_path(), [&](KvEntry&& entry) {
    if (order != nullptr)
      order->push_back(entry.key);
    out[entry.key] = Stored{entry.value, entry.flags};
    return Status();
  });
  EXPECT_TRUE(listing.ok()) << listing.error().message();
  if (listing.ok()) {
    EXPECT_EQ(listing->entries, out.size());
    EXPECT_GT(listing->index, 0U);
  }
  return out;
}

std::string all_bytes() {
  std::string out;
  for (int i = 0; i < 256; ++i)
    out.push_back(static_cast<char>(i));
  return out;
}

std::vector<std::string> adversarial_keys() {
  return {"/leading",
          "//double",
          "a//b",
          "./dot",
          "a/./b",
          "a/../b",
          "..",
          ".",
          "tab\there",
          "line\nfeed",
          "nbsp\xc2\xa0key",
          "zwj\xe2\x80\x8dkey",
          "with space",
          "percent%41%",
          "question?mark",
          "hash#mark",
          "unicode/\xe6\x97\xa5\xe6\x9c\xac/\xf0\x9f\x94\x91",
          "folder/",
          "folder/child",
          "quote\"back\\slash",
          "plain"};
}

TEST(ConsulKv, AdversarialKeysAndValuesRoundTripExactly) {
  CSNAP_REQUIRE_CONSUL(agent, ConsulAgentOptions{});
  auto client = connect(agent->http_address());
  std::map<std::string, Stored> expected;
  TxnBatcher batcher(client->txn_transport());
  std::uint64_t flag = 0;
  for (const auto& key : adversarial_keys()) {
    std::string value = key + ":" + all_bytes();
    std::uint64_t flags = (flag++ % 2 == 0) ? 0 : 18446744073709551615ULL;
    expected[key] = Stored{value, flags};
    ASSERT_TRUE(batcher.add_set(key, value, flags).ok());
  }
  expected["empty"] = Stored{"", 18446744073709551615ULL};
  ASSERT_TRUE(batcher.add_set("empty", "", 18446744073709551615ULL).ok());
  expected["all-bytes"] = Stored{all_bytes(), 0};
  ASSERT_TRUE(batcher.add_set("all-bytes", all_bytes(), 0).ok());
  auto report = batcher.finish();
  ASSERT_TRUE(report.ok()) << report.error().message();
  EXPECT_EQ(report->sets, expected.size());

  std::string big(524288, '\0');
  for (std::size_t i = 0; i < big.size(); ++i)
    big[i] = static_cast<char>((i * 7 + i / 256) % 256);
  ASSERT_TRUE(client->kv_put("big/value", big, 42).ok());
  expected["big/value"] = Stored{big, 42};

  // Independent check: curl sees exactly what we wrote, flags printed literally.
  EXPECT_EQ(read_with_curl(agent->http_address()), expected);
  auto raw = curl({"http://" + agent->http_address() + "/v1/kv/empty"});
  ASSERT_TRUE(raw.ok());
  EXPECT_NE(raw->body.find("\"Flags\": 18446744073709551615"), std::string::npos) << raw->body;
  EXPECT_NE(raw->body.find("\"Value\": null"), std::string::npos) << raw->body;
  auto cli = agent->run_cli({"kv", "get", "big/value"});
  ASSERT_TRUE(cli.ok()) << cli.error().message();
  EXPECT_EQ(cli->size(), big.size() + 1);  // the CLI adds a newline

  // Our reader gives back the same, in key order.
  std::vector<std::string> order;
  EXPECT_EQ(read_with_client(*client, &order), expected);
  std::vector<std::string> sorted = order;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(order, sorted);

  // Single reads, by URL or (for keys a URL cannot carry) by transaction.
  for (const auto& [key, stored] : expected) {
    auto entry = client->kv_get(key);
    ASSERT_TRUE(entry.ok()) << key << ": " << entry.error().message();
    ASSERT_TRUE(entry->has_value()) << key;
    EXPECT_EQ((*entry)->key, key);
    EXPECT_EQ((*entry)->value, stored.value) << key;
    EXPECT_EQ((*entry)->flags, stored.flags) << key;
  }
  auto missing = client->kv_get("no/such/key");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
  auto missing_odd = client->kv_get("//no/such/key");
  ASSERT_TRUE(missing_odd.ok()) << missing_odd.error().message();
  EXPECT_FALSE(missing_odd->has_value());

  // Deletes, plain and recursive, by URL and by transaction.
  ASSERT_TRUE(client->kv_delete("a//b", false).ok());
  ASSERT_TRUE(client->kv_delete("with space", false).ok());
  ASSERT_TRUE(client->kv_delete("folder/", true).ok());
  for (const auto* key : {"a//b", "with space", "folder/", "folder/child"})
    expected.erase(key);
  EXPECT_EQ(read_with_curl(agent->http_address()), expected);
}

// A txn body of exactly `size` bytes: one set whose key pads it.
std::vector<TxnOp> body_of_size(std::size_t size) {
  std::size_t fixed = 2 + txn_op_json_size(TxnOp::set("", ""));
  return {TxnOp::set(std::string(size - fixed, 'k'), "")};
}

TEST(ConsulTxn, TheLimitsAreRealAndTheBatcherStaysWithinThem) {
  CSNAP_REQUIRE_CONSUL(agent, ConsulAgentOptions{});
  auto client = connect(agent->http_address());

  std::vector<TxnOp> ops;
  ops.reserve(129);
  for (int i = 0; i < 129; ++i)
    ops.push_back(TxnOp::set("ops/" + std::to_string(i), "v"));
  EXPECT_TRUE(client->txn(std::span(ops).first(128)).ok());
  auto refused = client->txn(ops);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind(), ErrorKind::invalid_argument);
  EXPECT_NE(refused.error().message().find("413"), std::string::npos) << refused.error().message();

  auto exact = body_of_size(524288);
  ASSERT_EQ(txn_body(exact).size(), 524288U);
  EXPECT_TRUE(client->txn(exact).ok());
  auto over = client->txn(body_of_size(524289));
  ASSERT_FALSE(over.ok());
  EXPECT_NE(over.error().message().find("too large"), std::string::npos) << over.error().message();

  ASSERT_TRUE(client->kv_delete("", true).ok());
  TxnBatcher batcher(client->txn_transport());
  std::map<std::string, Stored> expected;
  auto add = [&](std::string key, std::string value) {
    expected[key] = Stored{value, 0};
    ASSERT_TRUE(batcher.add_set(std::move(key), std::move(value)).ok());
  };
  for (int i = 0; i < 300; ++i)
    add("many/" + std::to_string(i), std::to_string(i));
  // Values that put bodies just under and just over the limit in pairs and threes.
  for (std::size_t size : {131000U, 131072U, 196000U, 196608U, 262000U, 262144U, 393000U}) {
    for (int i = 0; i < 3; ++i)
      add(fmt::format("sized/{}/{}", size, i), std::string(size, 'x'));
  }
  add("huge/value", std::string(524288, 'h'));
  add("huge/after", "after");
  auto report = batcher.finish();
  ASSERT_TRUE(report.ok()) << report.error().message();
  EXPECT_EQ(report->sets, expected.size());
  EXPECT_EQ(report->plain_puts, 1U);
  EXPECT_EQ(read_with_curl(agent->http_address()), expected);
}

TEST(ConsulStatus, LeaderAndAgentSelf) {
  CSNAP_REQUIRE_CONSUL(agent, ConsulAgentOptions{});
  auto client = connect(agent->http_address());
  auto leader = client->leader();
  ASSERT_TRUE(leader.ok()) << leader.error().message();
  EXPECT_FALSE(leader->empty());
  auto self = client->agent_self();
  ASSERT_TRUE(self.ok()) << self.error().message();
  EXPECT_EQ((*self)["Config"]["Version"], "1.16.3");
}

}  // namespace
}  // namespace csnap::consul

namespace csnap::consul {
namespace {

// Consul 1.16's transaction semantics that a check-and-set restore relies on, against the real
// agent: one stale cas rolls back the whole transaction and Consul names it (409), the other 127
// ops then commit when sent again without it; a big value's PUT ?cas= is refused when stale.
TEST(ConsulTxn, OneStaleCasCostsOneKeyNotItsTransaction) {
  CSNAP_REQUIRE_CONSUL(agent, ConsulAgentOptions{});
  auto client = connect(agent->http_address());
  for (int i = 0; i < 128; ++i)
    ASSERT_TRUE(client->kv_put("cas/" + std::to_string(i), "old", 0).ok());
  std::map<std::string, std::uint64_t> planned;  // key -> the ModifyIndex "the plan" saw
  ASSERT_TRUE(client
                  ->kv_list("cas/", std::filesystem::temp_directory_path(),
                            [&](KvEntry&& entry) {
                              planned[entry.key] = entry.modify_index;
                              return Status();
                            })
                  .ok());
  ASSERT_EQ(planned.size(), 128U);
  // Someone else changes one key after the plan.
  ASSERT_TRUE(client->kv_put("cas/77", "someone else's", 0).ok());

  std::vector<TxnOp> ops;
  for (int i = 0; i < 128; ++i) {
    auto key = "cas/" + std::to_string(i);
    ops.push_back(TxnOp::cas(key, "new", 5, planned[key]));
  }
  auto first = client->txn_outcome(ops);
  ASSERT_TRUE(first.ok()) << first.error().message();
  ASSERT_FALSE(first->committed());
  ASSERT_EQ(first->failures.size(), 1U);
  EXPECT_EQ(ops[first->failures[0].op_index].key, "cas/77");
  EXPECT_NE(first->failures[0].what.find("index is stale"), std::string::npos);
  EXPECT_EQ(read_with_curl(agent->http_address())["cas/0"].value, "old") << "not rolled back";

  auto refused = commit_all_but_refused(
      [&](std::span<const TxnOp> batch) { return client->txn_outcome(batch); }, ops);
  ASSERT_TRUE(refused.ok()) << refused.error().message();
  ASSERT_EQ(refused->size(), 1U);
  EXPECT_EQ((*refused)[0].op.key, "cas/77");
  auto stored = read_with_curl(agent->http_address());
  for (int i = 0; i < 128; ++i) {
    auto key = "cas/" + std::to_string(i);
    EXPECT_EQ(stored[key], (i == 77 ? Stored{"someone else's", 0} : Stored{"new", 5})) << key;
  }

  // Index 0 creates only what does not exist; delete-cas of a key already gone succeeds.
  std::vector<TxnOp> creates = {TxnOp::cas("cas/0", "x", 0, 0), TxnOp::cas("cas/fresh", "x", 0, 0),
                                TxnOp::remove_cas("cas/never-there", 12345)};
  auto created = client->txn_outcome(creates);
  ASSERT_TRUE(created.ok());
  ASSERT_EQ(created->failures.size(), 1U);
  EXPECT_EQ(created->failures[0].op_index, 0U);
  creates.erase(creates.begin());
  created = client->txn_outcome(creates);
  ASSERT_TRUE(created.ok());
  EXPECT_TRUE(created->committed());

  // A value too big for a transaction: PUT ?cas=.
  std::string big(524288, 'b');
  auto stale = client->kv_put("cas/0", big, 0, {.cas = planned["cas/0"]});
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().kind(), ErrorKind::conflict);
  auto now = client->kv_get("cas/0");
  ASSERT_TRUE(now.ok() && now->has_value());
  EXPECT_TRUE(client->kv_put("cas/0", big, 0, {.cas = (*now)->modify_index}).ok());
  EXPECT_EQ(read_with_curl(agent->http_address())["cas/0"].value, big);
}

}  // namespace
}  // namespace csnap::consul
