#include "consul/txn.hpp"

#include <fmt/format.h>

#include "util/base64.hpp"
#include "util/json_string.hpp"

namespace csnap::consul {
namespace {

std::string_view verb_name(TxnVerb verb) {
  switch (verb) {
    case TxnVerb::set:
      return "set";
    case TxnVerb::get:
      return "get";
    case TxnVerb::delete_key:
      return "delete";
    case TxnVerb::delete_tree:
      return "delete-tree";
    case TxnVerb::cas:
      return "cas";
    case TxnVerb::delete_cas:
      return "delete-cas";
  }
  return "get";
}

std::size_t decimal_digits(std::uint64_t value) {
  std::size_t digits = 1;
  while (value >= 10) {
    value /= 10;
    ++digits;
  }
  return digits;
}

// The pieces of one op, in the order txn_op_json writes them.
constexpr std::string_view kOpen = R"({"KV":{"Verb":)";
constexpr std::string_view kKey = R"(,"Key":)";
constexpr std::string_view kValue = R"(,"Value":")";
constexpr std::string_view kFlags = R"(","Flags":)";
constexpr std::string_view kIndex = R"(,"Index":)";
constexpr std::string_view kClose = "}}";

}  // namespace

bool writes_value(TxnVerb verb) {
  return verb == TxnVerb::set || verb == TxnVerb::cas;
}

bool checks_index(TxnVerb verb) {
  return verb == TxnVerb::cas || verb == TxnVerb::delete_cas;
}

Status check_txn_key(std::string_view key) {
  if (is_valid_utf8(key))
    return {};
  return Error(ErrorKind::invalid_argument,
               "a key that is not valid UTF-8 cannot be sent in a transaction (Consul would "
               "replace its invalid bytes)");
}

std::string txn_op_json(const TxnOp& op) {
  std::string out;
  out.reserve(txn_op_json_size(op));
  out += kOpen;
  // Keys are checked for UTF-8 before they get here (TxnBatcher::add, Client::txn).
  (void)append_json_string(out, verb_name(op.verb));
  out += kKey;
  (void)append_json_string(out, op.key);
  if (writes_value(op.verb)) {
    out += kValue;
    out += base64::encode(op.value);
    out += kFlags;
    out += fmt::format("{}", op.flags);
  }
  if (checks_index(op.verb)) {
    out += kIndex;
    out += fmt::format("{}", op.index);
  }
  out += kClose;
  return out;
}

std::size_t txn_op_json_size(const TxnOp& op) {
  std::size_t size = kOpen.size() + json_string_size(verb_name(op.verb)) + kKey.size() +
                     json_string_size(op.key) + kClose.size();
  if (writes_value(op.verb)) {
    size += kValue.size() + base64::encoded_size(op.value.size()) + kFlags.size() +
            decimal_digits(op.flags);
  }
  if (checks_index(op.verb))
    size += kIndex.size() + decimal_digits(op.index);
  return size;
}

std::string txn_body(std::span<const TxnOp> ops) {
  std::string body = "[";
  for (std::size_t i = 0; i < ops.size(); ++i) {
    if (i > 0)
      body.push_back(',');
    body += txn_op_json(ops[i]);
  }
  body.push_back(']');
  return body;
}

TxnBatcher::TxnBatcher(TxnTransport transport, TxnLimits limits)
    : transport_(std::move(transport)), limits_(limits) {}

Status TxnBatcher::add_set(std::string key, std::string value, std::uint64_t flags) {
  return add(TxnOp::set(std::move(key), std::move(value), flags));
}

Status TxnBatcher::add_delete(std::string key) {
  return add(TxnOp::remove(std::move(key)));
}

Status TxnBatcher::add_delete_tree(std::string key) {
  return add(TxnOp::remove_tree(std::move(key)));
}

Status TxnBatcher::add(TxnOp op) {
  CSNAP_TRY(check_txn_key(op.key));
  const std::size_t size = txn_op_json_size(op);
  if (2 + size > limits_.max_body_bytes) {
    // Too big for any transaction: keep the order by sending what is queued first.
    CSNAP_TRY(flush());
    if (!writes_value(op.verb)) {
      return Error(ErrorKind::invalid_argument,
                   fmt::format("key of {} bytes is too long for a transaction", op.key.size()));
    }
    CSNAP_TRY(transport_.put(op));
    ++report_.sets;
    ++report_.plain_puts;
    return {};
  }
  const std::size_t separator = pending_.empty() ? 0 : 1;
  if (pending_.size() + 1 > limits_.max_ops ||
      pending_bytes_ + separator + size > limits_.max_body_bytes) {
    CSNAP_TRY(flush());
  }
  pending_bytes_ += (pending_.empty() ? 0 : 1) + size;
  if (writes_value(op.verb)) {
    ++pending_sets_;
  } else {
    ++pending_deletes_;
  }
  pending_.push_back(std::move(op));
  return {};
}

Status TxnBatcher::flush() {
  if (pending_.empty())
    return {};
  CSNAP_TRY_CONTEXT(transport_.txn(pending_),
                    fmt::format("transaction {} ({} ops, {} bytes)", report_.transactions + 1,
                                pending_.size(), pending_bytes_));
  report_.sets += pending_sets_;
  report_.deletes += pending_deletes_;
  ++report_.transactions;
  pending_.clear();
  pending_bytes_ = 2;
  pending_sets_ = 0;
  pending_deletes_ = 0;
  return {};
}

Result<TxnBatchReport> TxnBatcher::finish() {
  CSNAP_TRY(flush());
  return report_;
}

Result<std::vector<RefusedOp>> commit_all_but_refused(const TxnSend& send, std::vector<TxnOp> ops) {
  std::vector<RefusedOp> refused;
  while (!ops.empty()) {
    CSNAP_ASSIGN_OR_RETURN(auto outcome, send(ops));
    if (outcome.committed())
      break;
    std::vector<std::string> why(ops.size());
    std::vector<bool> failed(ops.size(), false);
    bool named_one = false;
    for (auto& failure : outcome.failures) {
      if (failure.op_index >= ops.size())
        continue;
      failed[failure.op_index] = true;
      named_one = true;
      if (!why[failure.op_index].empty())
        why[failure.op_index] += "; ";
      why[failure.op_index] += failure.what;
    }
    if (!named_one) {
      // Sending the same ops again would fail the same way.
      return Error(ErrorKind::conflict,
                   fmt::format("Consul rolled back a transaction of {} ops without naming one "
                               "of them: {}",
                               ops.size(), outcome.failures.front().what));
    }
    std::vector<TxnOp> rest;
    rest.reserve(ops.size());
    for (std::size_t i = 0; i < ops.size(); ++i) {
      if (failed[i]) {
        refused.push_back({std::move(ops[i]), std::move(why[i])});
      } else {
        rest.push_back(std::move(ops[i]));
      }
    }
    ops = std::move(rest);
  }
  return refused;
}

}  // namespace csnap::consul
