#pragma once
// Consul transactions (`PUT /v1/txn`) for KV, and `TxnBatcher`, which groups KV writes into
// transactions within Consul's limits.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace csnap::consul {

enum class TxnVerb { set, get, delete_key, delete_tree };

struct TxnOp {
  TxnVerb verb = TxnVerb::set;
  std::string key{};    // raw: the JSON body carries keys that a URL cannot
  std::string value{};  // raw bytes, sent as base64 (set only)
  std::uint64_t flags = 0;

  static TxnOp set(std::string key, std::string value, std::uint64_t flags = 0) {
    return {TxnVerb::set, std::move(key), std::move(value), flags};
  }
  static TxnOp remove(std::string key) { return {TxnVerb::delete_key, std::move(key), {}, 0}; }
  static TxnOp remove_tree(std::string key) {
    return {TxnVerb::delete_tree, std::move(key), {}, 0};
  }
};

// Consul's defaults: `txn_max_req_len` and the fixed 128 operations per transaction.
struct TxnLimits {
  std::size_t max_ops = 128;
  std::size_t max_body_bytes = 524288;
};

// `op` as one element of the /v1/txn JSON array: {"KV":{"Verb":"set","Key":...}}.
std::string txn_op_json(const TxnOp& op);
// The size of `txn_op_json(op)`, computed without building it.
std::size_t txn_op_json_size(const TxnOp& op);
// The whole request body: "[op,op,...]"; its size is 2 + sum of op sizes + commas.
std::string txn_body(std::span<const TxnOp> ops);
// invalid_argument unless `key` is valid UTF-8, which a JSON body needs.
Status check_txn_key(std::string_view key);

// Where a TxnBatcher sends its writes: a transaction, or a plain PUT for one value too big for one.
struct TxnTransport {
  std::function<Status(std::span<const TxnOp>)> txn{};
  std::function<Status(std::string_view key, std::string_view value, std::uint64_t flags)> put{};
};

struct TxnBatchReport {
  std::uint64_t sets = 0;
  std::uint64_t deletes = 0;
  std::uint64_t transactions = 0;
  std::uint64_t plain_puts = 0;  // values too big for a transaction, written by PUT /v1/kv
};

// Groups KV writes, in order, into transactions of at most `max_ops` operations and
// `max_body_bytes` of JSON body (measured exactly, so no margin is needed). One in flight.
class TxnBatcher {
 public:
  explicit TxnBatcher(TxnTransport transport, TxnLimits limits = {});

  // Queues a write; may send a full transaction first. An error leaves the batcher unusable.
  Status add_set(std::string key, std::string value, std::uint64_t flags = 0);
  Status add_delete(std::string key);
  Status add_delete_tree(std::string key);
  // Sends what is queued and reports everything written.
  Result<TxnBatchReport> finish();

 private:
  Status add(TxnOp op);
  Status flush();

  TxnTransport transport_;
  TxnLimits limits_;
  std::vector<TxnOp> pending_;
  std::size_t pending_bytes_ = 2;  // "[" and "]"
  std::uint64_t pending_sets_ = 0;
  std::uint64_t pending_deletes_ = 0;
  TxnBatchReport report_;
};

}  // namespace csnap::consul
