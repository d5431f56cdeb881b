#include "consul/txn.hpp"

#include <random>
#include <set>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "util/base64.hpp"

namespace csnap::consul {
namespace {

TEST(TxnJson, EncodesEachVerb) {
  EXPECT_EQ(txn_op_json(TxnOp::set("a", "hi", 7)),
            R"({"KV":{"Verb":"set","Key":"a","Value":"aGk=","Flags":7}})");
  EXPECT_EQ(txn_op_json(TxnOp::remove("a")), R"({"KV":{"Verb":"delete","Key":"a"}})");
  EXPECT_EQ(txn_op_json(TxnOp::remove_tree("p/")), R"({"KV":{"Verb":"delete-tree","Key":"p/"}})");
  EXPECT_EQ(txn_op_json(TxnOp::set("e", "", 18446744073709551615ULL)),
            R"({"KV":{"Verb":"set","Key":"e","Value":"","Flags":18446744073709551615}})");
  std::vector<TxnOp> ops = {TxnOp::set("a", "b"), TxnOp::remove("c")};
  EXPECT_EQ(txn_body(ops), "[" + txn_op_json(ops[0]) + "," + txn_op_json(ops[1]) + "]");
}

TEST(TxnJson, CheckAndSetVerbsCarryTheIndex) {
  EXPECT_EQ(txn_op_json(TxnOp::cas("a", "hi", 7, 42)),
            R"({"KV":{"Verb":"cas","Key":"a","Value":"aGk=","Flags":7,"Index":42}})");
  // Index 0: only while the key does not exist; Consul needs it spelt out.
  EXPECT_EQ(txn_op_json(TxnOp::cas("n", "", 0, 0)),
            R"({"KV":{"Verb":"cas","Key":"n","Value":"","Flags":0,"Index":0}})");
  EXPECT_EQ(txn_op_json(TxnOp::remove_cas("a", 18446744073709551615ULL)),
            R"({"KV":{"Verb":"delete-cas","Key":"a","Index":18446744073709551615}})");
}

TEST(TxnJson, EscapesKeysAndKeepsUtf8) {
  EXPECT_EQ(txn_op_json(TxnOp::remove(std::string("q\"b\\n\n\t\r\b\x01\x7f<\xc2\xa0/", 15))),
            "{\"KV\":{\"Verb\":\"delete\",\"Key\":"
            "\"q\\\"b\\\\n\\n\\t\\r\\u0008\\u0001\x7f\\u003c\xc2\xa0/\"}}");
  auto parsed = nlohmann::json::parse(txn_op_json(TxnOp::set("/a//./../\t\n\xe2\x80\x8d", "")));
  EXPECT_EQ(parsed["KV"]["Key"], "/a//./../\t\n\xe2\x80\x8d");
}

TEST(TxnJson, InvalidUtf8KeysAreRefused) {
  EXPECT_FALSE(check_txn_key("bad\xff").ok());
  EXPECT_TRUE(check_txn_key("good\xc2\xa0").ok());
  TxnBatcher batcher({.txn = [](std::span<const TxnOp>) { return Status{}; },
                      .put = [](const TxnOp&) { return Status{}; }});
  auto status = batcher.add_set("bad\xc3", "v");
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().kind(), ErrorKind::invalid_argument);
}

TEST(TxnJson, PredictedSizeIsExact) {
  std::mt19937_64 random(42);
  for (int i = 0; i < 2000; ++i) {
    // Keys are valid UTF-8 (transactions refuse others): every ASCII byte and some escaped or
    // multi-byte code points.
    static const std::vector<std::string> pieces = {"\xc2\xa0",         "\xe2\x80\x8d",
                                                    "\xe2\x80\xa8",     "\xe2\x80\xa9",
                                                    "\xf0\x9f\x98\x80", "\xe6\x97\xa5"};
    std::string key;
    for (std::size_t n = random() % 40; n > 0; --n) {
      auto pick = random() % (128 + pieces.size());
      key += pick < 128 ? std::string(1, static_cast<char>(pick)) : pieces[pick - 128];
    }
    std::string value(random() % 100, '\0');
    for (auto& c : value)
      c = static_cast<char>(random() % 256);
    std::uint64_t flags = random() >> (random() % 64);
    auto verb = static_cast<TxnVerb>(random() % 6);
    std::uint64_t index = random() >> (random() % 64);
    TxnOp op{verb, key, value, flags, index};
    ASSERT_EQ(txn_op_json_size(op), txn_op_json(op).size());
  }
}

// Records what a TxnBatcher sends.
struct FakeConsul {
  std::vector<std::string> bodies;
  std::vector<std::size_t> op_counts;
  std::vector<std::string> log;  // "txn N" or "put KEY" in order
  int fail_txn_at = -1;

  TxnTransport transport() {
    return {.txn = [this](std::span<const TxnOp> ops) -> Status {
              if (static_cast<int>(bodies.size()) == fail_txn_at) {
                return Error(ErrorKind::conflict, "rolled back");
              }
              bodies.push_back(txn_body(ops));
              op_counts.push_back(ops.size());
              log.push_back("txn " + std::to_string(ops.size()));
              return {};
            },
            .put = [this](const TxnOp& op) -> Status {
              log.push_back("put " + op.key);
              return {};
            }};
  }
};

TEST(TxnBatcher, SplitsAt128Ops) {
  FakeConsul consul;
  TxnBatcher batcher(consul.transport());
  for (int i = 0; i < 300; ++i)
    ASSERT_TRUE(batcher.add_set("k" + std::to_string(i), "v").ok());
  ASSERT_TRUE(batcher.add_delete("gone").ok());
  auto report = batcher.finish();
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(consul.op_counts, (std::vector<std::size_t>{128, 128, 45}));
  EXPECT_EQ(report->sets, 300U);
  EXPECT_EQ(report->deletes, 1U);
  EXPECT_EQ(report->transactions, 3U);
  EXPECT_EQ(report->plain_puts, 0U);
}

TEST(TxnBatcher, KeepsEveryBodyWithinTheLimit) {
  for (std::size_t value_size : {1000U, 100000U, 130000U, 262000U, 393000U}) {
    FakeConsul consul;
    TxnBatcher batcher(consul.transport());
    for (int i = 0; i < 20; ++i) {
      ASSERT_TRUE(batcher.add_set("key/" + std::to_string(i), std::string(value_size, 'x')).ok());
    }
    auto report = batcher.finish();
    ASSERT_TRUE(report.ok());
    EXPECT_EQ(report->sets, 20U);
    for (const auto& body : consul.bodies)
      EXPECT_LE(body.size(), 524288U) << value_size;
  }
}

TEST(TxnBatcher, FillsABodyToExactlyTheLimit) {
  // Two ops whose body is exactly 524288 bytes go in one transaction; one byte more splits them.
  TxnOp small = TxnOp::set("a", "");
  std::size_t rest = 524288 - 2 - 1 - txn_op_json_size(small);
  std::size_t key_size = rest - txn_op_json_size(TxnOp::set("", ""));
  for (std::size_t extra : {0U, 1U}) {
    FakeConsul consul;
    TxnBatcher batcher(consul.transport());
    ASSERT_TRUE(batcher.add_set("a", "").ok());
    ASSERT_TRUE(batcher.add_set(std::string(key_size + extra, 'k'), "").ok());
    ASSERT_TRUE(batcher.finish().ok());
    if (extra == 0) {
      ASSERT_EQ(consul.bodies.size(), 1U);
      EXPECT_EQ(consul.bodies[0].size(), 524288U);
    } else {
      EXPECT_EQ(consul.bodies.size(), 2U);
    }
  }
}

TEST(TxnBatcher, SendsAValueTooBigForATxnByPutInOrder) {
  FakeConsul consul;
  TxnBatcher batcher(consul.transport());
  ASSERT_TRUE(batcher.add_set("before", "1").ok());
  ASSERT_TRUE(batcher.add_set("huge", std::string(524288, 'h')).ok());
  ASSERT_TRUE(batcher.add_set("after", "2").ok());
  auto report = batcher.finish();
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(consul.log, (std::vector<std::string>{"txn 1", "put huge", "txn 1"}));
  EXPECT_EQ(report->sets, 3U);
  EXPECT_EQ(report->plain_puts, 1U);
  EXPECT_EQ(report->transactions, 2U);
}

TEST(TxnBatcher, ReportsTheFailedTransaction) {
  FakeConsul consul;
  consul.fail_txn_at = 1;
  TxnBatcher batcher(consul.transport());
  Status status;
  for (int i = 0; i < 200 && status.ok(); ++i)
    status = batcher.add_set("k" + std::to_string(i), "");
  if (status.ok())
    status = batcher.finish().ok() ? Status() : Error(ErrorKind::conflict, "x");
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().kind(), ErrorKind::conflict);
}

// A Consul that rolls back every transaction holding one of `refuse` (as a 409 naming each such
// op) and otherwise commits it.
struct RollingBackConsul {
  std::set<std::string> refuse;
  std::vector<std::vector<std::string>> sent{};  // the keys of each transaction sent
  std::set<std::string> committed{};

  TxnSend send() {
    return [this](std::span<const TxnOp> ops) -> Result<TxnOutcome> {
      std::vector<std::string> keys;
      TxnOutcome outcome;
      for (std::size_t i = 0; i < ops.size(); ++i) {
        keys.push_back(ops[i].key);
        if (refuse.contains(ops[i].key))
          outcome.failures.push_back(
              {i, "failed to set key \"" + ops[i].key + "\", index is stale"});
      }
      sent.push_back(keys);
      if (outcome.committed())
        committed.insert(keys.begin(), keys.end());
      return outcome;
    };
  }
};

std::vector<TxnOp> cas_ops(int count) {
  std::vector<TxnOp> ops;
  ops.reserve(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i)
    ops.push_back(TxnOp::cas("k" + std::to_string(i), "v", 0, 5));
  return ops;
}

TEST(CommitAllButRefused, ResendsTheOthersWithoutTheRefusedOps) {
  RollingBackConsul consul{.refuse = {"k3", "k100"}};
  auto refused = commit_all_but_refused(consul.send(), cas_ops(128));
  ASSERT_TRUE(refused.ok()) << refused.error().message();
  ASSERT_EQ(refused->size(), 2U);
  EXPECT_EQ((*refused)[0].op.key, "k3");
  EXPECT_EQ((*refused)[1].op.key, "k100");
  EXPECT_EQ((*refused)[0].why, "failed to set key \"k3\", index is stale");
  // Rolled back once, then the 126 others in one transaction.
  ASSERT_EQ(consul.sent.size(), 2U);
  EXPECT_EQ(consul.sent[1].size(), 126U);
  EXPECT_EQ(consul.committed.size(), 126U);
  EXPECT_FALSE(consul.committed.contains("k3"));
  EXPECT_TRUE(consul.committed.contains("k127"));
}

TEST(CommitAllButRefused, EveryOpRefusedCommitsNothing) {
  RollingBackConsul consul{.refuse = {"k0", "k1"}};
  auto refused = commit_all_but_refused(consul.send(), cas_ops(2));
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->size(), 2U);
  EXPECT_EQ(consul.sent.size(), 1U);
  EXPECT_TRUE(consul.committed.empty());
}

TEST(CommitAllButRefused, ARefusalThatNamesNoOpIsAnError) {
  // Consul names an op index that is not in the transaction: sending again would loop.
  int calls = 0;
  TxnSend send = [&](std::span<const TxnOp> ops) -> Result<TxnOutcome> {
    ++calls;
    return TxnOutcome{{{ops.size() + 3, "something"}}};
  };
  auto refused = commit_all_but_refused(send, cas_ops(4));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(calls, 1);
  EXPECT_NE(refused.error().message().find("something"), std::string::npos);
}

TEST(CommitAllButRefused, ASendErrorIsReturned) {
  TxnSend send = [](std::span<const TxnOp>) -> Result<TxnOutcome> {
    return Error(ErrorKind::unavailable, "connection refused");
  };
  auto refused = commit_all_but_refused(send, cas_ops(4));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind(), ErrorKind::unavailable);
}

}  // namespace
}  // namespace csnap::consul
