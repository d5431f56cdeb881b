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
