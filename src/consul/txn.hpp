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

// Consul's KV verbs "set", "get", "delete", "delete-tree", "cas" and "delete-cas".
enum class TxnVerb { set, get, delete_key, delete_tree, cas, delete_cas };

// Whether `verb` writes a value (set, cas), and whether it carries an Index (cas, delete-cas).
bool writes_value(TxnVerb verb);
bool checks_index(TxnVerb verb);

struct TxnOp {
  TxnVerb verb = TxnVerb::set;
  std::string key{};    // raw: the JSON body carries keys that a URL cannot
  std::string value{};  // raw bytes, sent as base64 (set and cas only)
  std::uint64_t flags = 0;
  // cas and delete-cas: the ModifyIndex the key must still have; for cas, 0 = "must not exist".
  std::uint64_t index = 0;

  static TxnOp set(std::string key, std::string value, std::uint64_t flags = 0) {
    return {TxnVerb::set, std::move(key), std::move(value), flags};
  }
  // Sets `key` only while its ModifyIndex is `index` (0: only while it does not exist).
  static TxnOp cas(std::string key, std::string value, std::uint64_t flags, std::uint64_t index) {
    return {TxnVerb::cas, std::move(key), std::move(value), flags, index};
  }
  static TxnOp remove(std::string key) { return {TxnVerb::delete_key, std::move(key), {}, 0}; }
  // Deletes `key` only while its ModifyIndex is `index`; a key already gone counts as deleted.
  static TxnOp remove_cas(std::string key, std::uint64_t index) {
    return {TxnVerb::delete_cas, std::move(key), {}, 0, index};
  }
  static TxnOp remove_tree(std::string key) {
    return {TxnVerb::delete_tree, std::move(key), {}, 0};
  }
};

// Consul's defaults: `txn_max_req_len` and the fixed 128 operations per transaction.
struct TxnLimits {
  std::size_t max_ops = 128;
  std::size_t max_body_bytes = 524288;
};

// `op` as one element of the /v1/txn JSON array: {"KV":{"Verb":"set","Key":...}}; cas verbs
// end with "Index":N.
std::string txn_op_json(const TxnOp& op);
// The size of `txn_op_json(op)`, computed without building it.
std::size_t txn_op_json_size(const TxnOp& op);
// The whole request body: "[op,op,...]"; its size is 2 + sum of op sizes + commas.
std::string txn_body(std::span<const TxnOp> ops);
// invalid_argument unless `key` is valid UTF-8, which a JSON body needs.
Status check_txn_key(std::string_view key);

// Where a TxnBatcher sends its writes: a transaction, or a plain PUT for one value too big for
// one (`put` gets a set or cas op; a cas op is a PUT ?cas=<index>).
struct TxnTransport {
  std::function<Status(std::span<const TxnOp>)> txn{};
  std::function<Status(const TxnOp&)> put{};
};

// One op of a transaction that Consul refused: its position in the transaction and Consul's
// reason ("failed to set key \"a\", index is stale", "Permission denied").
struct TxnFailure {
  std::size_t op_index = 0;
  std::string what{};
};

// What Consul did with one transaction: committed (no failures), or rolled back, which applies
// none of its ops, naming the ops that made it fail.
struct TxnOutcome {
  std::vector<TxnFailure> failures{};
  bool committed() const { return failures.empty(); }
};

// Sends one transaction. An error means Consul gave no answer that says which ops failed.
using TxnSend = std::function<Result<TxnOutcome>(std::span<const TxnOp>)>;

struct RefusedOp {
  TxnOp op;
  std::string why;  // Consul's reason
};

// Commits `ops` except the ones Consul refuses. A transaction is atomic: when one op fails,
// Consul rolls back all of them; the ops it names are then set aside and the others sent again,
// until what is left commits (each round drops at least one op, so this ends). Returns the
// refused ops with Consul's reasons. An error from `send` is returned as is: nothing of `ops` was
// committed by the rounds before it.
Result<std::vector<RefusedOp>> commit_all_but_refused(const TxnSend& send, std::vector<TxnOp> ops);

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
  // Queues any write: set, cas, delete, delete-cas, delete-tree. A set or cas too big for a
  // transaction goes to the transport's `put`.
  Status add(TxnOp op);
  // Sends what is queued and reports everything sent (the transport says what was committed).
  Result<TxnBatchReport> finish();

 private:
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
