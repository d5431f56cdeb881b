#include "ops/kv_restore.hpp"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "archive/kv_json.hpp"
#include "codec/sha256.hpp"
#include "consul/txn.hpp"
#include "util/log.hpp"

namespace csnap::ops {
namespace {

// Transactions in flight at once during a restore. Consul applies them one after another
// through Raft, but overlapping the HTTP round trips and JSON work with that keeps it busy.
constexpr std::size_t kTxnWorkers = 4;

// Runs a job on each queued transaction from several threads, each with a Consul client of its
// own (an HTTP client is not shared between threads). Keys of one restore are distinct, so the
// order in which transactions land does not matter. The first failed job stops everything after
// it.
class ParallelTxn {
 public:
  using Job = std::function<Status(consul::Client&, std::vector<consul::TxnOp>&&)>;

  static Result<std::unique_ptr<ParallelTxn>> start(const consul::Settings& settings, Job job) {
    auto parallel = std::unique_ptr<ParallelTxn>(new ParallelTxn(std::move(job)));
    for (std::size_t i = 0; i < kTxnWorkers; ++i) {
      CSNAP_ASSIGN_OR_RETURN(auto client, consul::Client::create(settings));
      parallel->workers_.emplace_back(
          [raw = parallel.get(), client = std::shared_ptr<consul::Client>(std::move(client))] {
            raw->work(*client);
          });
    }
    return parallel;
  }
  ParallelTxn(const ParallelTxn&) = delete;
  ParallelTxn& operator=(const ParallelTxn&) = delete;
  ~ParallelTxn() { (void)finish(); }

  // Queues one transaction (blocking while the queue is full); an earlier failure is returned.
  Status send(std::span<const consul::TxnOp> ops) {
    std::unique_lock lock(mutex_);
    space_.wait(lock, [&] { return queue_.size() < 2 * kTxnWorkers || failure_; });
    if (failure_)
      return *failure_;
    queue_.emplace_back(ops.begin(), ops.end());
    ready_.notify_one();
    return {};
  }

  // Waits for every queued transaction; the first failure, if any.
  Status finish() {
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
    }
    ready_.notify_all();
    for (auto& worker : workers_) {
      if (worker.joinable())
        worker.join();
    }
    std::lock_guard lock(mutex_);
    if (failure_)
      return *failure_;
    return {};
  }

 private:
  explicit ParallelTxn(Job job) : job_(std::move(job)) {}

  void work(consul::Client& client) {
    while (true) {
      std::vector<consul::TxnOp> ops;
      {
        std::unique_lock lock(mutex_);
        ready_.wait(lock, [&] { return !queue_.empty() || closed_ || failure_; });
        if (failure_ || queue_.empty())
          return;
        ops = std::move(queue_.front());
        queue_.pop_front();
      }
      space_.notify_one();
      auto status = job_(client, std::move(ops));
      if (!status.ok()) {
        std::lock_guard lock(mutex_);
        if (!failure_)
          failure_ = std::move(status).error();
        ready_.notify_all();
        space_.notify_all();
        return;
      }
    }
  }

  Job job_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::condition_variable space_;
  std::deque<std::vector<consul::TxnOp>> queue_;
  std::optional<Error> failure_;
  bool closed_ = false;
  std::vector<std::thread> workers_;
};

// What the writes of one restore did, gathered from the threads that send them.
class KvLedger {
 public:
  // `writes` sets and `deletes` deletions were committed.
  void committed(std::uint64_t writes, std::uint64_t deletes) {
    std::lock_guard lock(mutex_);
    applied_.written += writes;
    applied_.deleted += deletes;
  }
  // Consul refused `op` (`why`); `now` is its key read afterwards.
  void refused(const consul::TxnOp& op, std::string_view why,
               const std::optional<consul::KvEntry>& now) {
    auto verdict = judge_refusal(op, why, now);
    std::lock_guard lock(mutex_);
    switch (verdict.kind) {
      case RefusalVerdict::Kind::done:
        ++(consul::writes_value(op.verb) ? applied_.written : applied_.deleted);
        return;
      case RefusalVerdict::Kind::conflict:
        applied_.conflicts.push_back({op.key, std::move(verdict.reason)});
        return;
      case RefusalVerdict::Kind::failed:
        applied_.failed.push_back({op.key, std::move(verdict.reason)});
        return;
    }
  }
  void failed(const std::string& key, std::string reason) {
    std::lock_guard lock(mutex_);
    applied_.failed.push_back({key, std::move(reason)});
  }
  KvApplied take() {
    std::lock_guard lock(mutex_);
    auto by_key = [](const KvNote& a, const KvNote& b) { return a.key < b.key; };
    std::sort(applied_.conflicts.begin(), applied_.conflicts.end(), by_key);
    std::sort(applied_.failed.begin(), applied_.failed.end(), by_key);
    return std::move(applied_);
  }

 private:
  std::mutex mutex_;
  KvApplied applied_;
};

// Commits `ops` through `client`, except what Consul refuses, which `ledger` judges from a fresh
// read of each refused key.
Status commit_and_judge(consul::Client& client, std::vector<consul::TxnOp>&& ops,
                        KvLedger& ledger) {
  const auto writes =
      static_cast<std::uint64_t>(std::count_if(ops.begin(), ops.end(), [](const consul::TxnOp& op) {
        return consul::writes_value(op.verb);
      }));
  const auto deletes = ops.size() - writes;
  CSNAP_ASSIGN_OR_RETURN(auto refused, consul::commit_all_but_refused(
                                           [&](std::span<const consul::TxnOp> batch) {
                                             return client.txn_outcome(batch);
                                           },
                                           std::move(ops)));
  // What was not refused was committed, in the last round.
  const auto refused_writes = static_cast<std::uint64_t>(std::count_if(
      refused.begin(), refused.end(),
      [](const consul::RefusedOp& item) { return consul::writes_value(item.op.verb); }));
  ledger.committed(writes - refused_writes, deletes - (refused.size() - refused_writes));
  for (const auto& item : refused) {
    CSNAP_ASSIGN_OR_RETURN(auto now, client.kv_get(item.op.key));
    ledger.refused(item.op, item.why, now);
  }
  return {};
}

// What a restore does with one key: the change, and for a write or delete the ModifyIndex the
// plan saw (0: the key did not exist).
struct KvStep {
  std::optional<KvChangeKind> kind;  // nothing: unchanged
  std::uint64_t index = 0;
  std::string reason{};  // skip: why
};

// Why a live key that the restore would change is left alone, or "".
std::string reason_to_leave(const KvSelection& selection, std::string_view key,
                            const LiveKv::Entry* live) {
  if (const auto* own = selection.protection(key))
    return own->why;
  if (live != nullptr && !live->session.empty()) {
    return fmt::format("held by session {} (a lock of another application; it keeps its value)",
                       live->session);
  }
  return {};
}

KvStep step_for_write(const KvSelection& selection, std::string_view key,
                      const LiveKv::Match& match) {
  if (match.comparison == LiveKv::Comparison::same)
    return {};
  auto reason = reason_to_leave(selection, key, match.entry);
  if (!reason.empty())
    return {KvChangeKind::skip, 0, std::move(reason)};
  if (match.comparison == LiveKv::Comparison::missing)
    return {KvChangeKind::create, 0};
  return {KvChangeKind::update, match.entry->modify_index};
}

// Calls `on_step` for each live key that replace mode would delete (or leaves alone, and why).
void for_each_removal(const KvSelection& selection, const LiveKv& live,
                      const std::function<void(const LiveKv::Entry&, KvStep&&)>& on_step) {
  if (!selection.replace)
    return;
  const std::string under = selection.target_prefix();
  live.for_each_unseen([&](const LiveKv::Entry& entry) {
    if (!entry.key.starts_with(under))
      return;
    auto reason = reason_to_leave(selection, entry.key, &entry);
    if (!reason.empty()) {
      on_step(entry, {KvChangeKind::skip, 0, std::move(reason)});
      return;
    }
    on_step(entry, {KvChangeKind::remove, entry.modify_index});
  });
}

// Calls `on_record` with each selected kv.json entry under its target key.
Status for_each_selected(
    const archive::BackupReader& backup, const KvSelection& selection,
    const std::function<Status(std::string&&, archive::KvRecord&&)>& on_record) {
  if (!backup.has_member(archive::kKvMember))
    return {};
  CSNAP_ASSIGN_OR_RETURN(auto member, backup.open_member(archive::kKvMember));
  return archive::read_kv_json(member, [&](archive::KvRecord&& record) -> Status {
    auto target = selection.target(record.key);
    if (!target)
      return {};
    return on_record(std::move(*target), std::move(record));
  });
}

}  // namespace

std::optional<std::string> KvSelection::target(std::string_view key) const {
  if (!key.starts_with(prefix))
    return std::nullopt;
  if (!transform_from.empty() || !transform_to.empty()) {
    if (key.starts_with(transform_from)) {
      return transform_to + std::string(key.substr(transform_from.size()));
    }
  }
  return std::string(key);
}

std::string KvSelection::target_prefix() const {
  auto target = this->target(prefix);
  return target ? *target : prefix;
}

Result<std::pair<std::string, std::string>> parse_transform(std::string_view text) {
  auto equals = text.find('=');
  if (equals == std::string_view::npos || equals == 0) {
    return Error(ErrorKind::invalid_argument,
                 fmt::format("--transform '{}': expected OLD=NEW, e.g. app/=app-copy/", text));
  }
  return std::pair(std::string(text.substr(0, equals)), std::string(text.substr(equals + 1)));
}

const ProtectedKey* KvSelection::protection(std::string_view key) const {
  for (const auto& own : protected_keys) {
    if (!own.key.empty() && own.key == key)
      return &own;
  }
  return nullptr;
}

std::string_view to_string(KvChangeKind kind) {
  switch (kind) {
    case KvChangeKind::create:
      return "create";
    case KvChangeKind::update:
      return "update";
    case KvChangeKind::remove:
      return "delete";
    case KvChangeKind::skip:
      return "skip";
  }
  return "change";
}

void LiveKv::add(consul::KvEntry&& entry) {
  entries_.push_back({std::move(entry.key), entry.flags, entry.value.size(),
                      codec::Sha256::digest_of(entry.value), entry.modify_index,
                      std::move(entry.session), false});
}

void LiveKv::sort() {
  std::sort(entries_.begin(), entries_.end(),
            [](const Entry& a, const Entry& b) { return a.key < b.key; });
}

LiveKv LiveKv::from_entries(std::vector<consul::KvEntry> entries) {
  LiveKv live;
  for (auto& entry : entries)
    live.add(std::move(entry));
  live.sort();
  return live;
}

Result<LiveKv> LiveKv::read(consul::Client& consul, std::string_view prefix,
                            const std::filesystem::path& tmp_dir) {
  LiveKv live;
  auto listing = consul.kv_list(prefix, tmp_dir, [&](consul::KvEntry&& entry) {
    live.add(std::move(entry));
    return Status{};
  });
  if (!listing.ok())
    return std::move(listing.error().add_context("reading the live KV store"));
  if (listing->filtered_by_acls) {
    return Error(ErrorKind::permission_denied,
                 "reading the live KV store: Consul left out entries this token may not read, so "
                 "the restore cannot tell what it would change; use a token with key:read on "
                 "the keys restored");
  }
  live.sort();
  return live;
}

LiveKv::Match LiveKv::compare(std::string_view key, std::string_view value, std::uint64_t flags) {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), key,
                             [](const Entry& entry, std::string_view k) { return entry.key < k; });
  if (it == entries_.end() || it->key != key)
    return {};
  it->seen = true;
  if (it->flags != flags || it->size != value.size() ||
      it->sha256 != codec::Sha256::digest_of(value)) {
    return {Comparison::different, &*it};
  }
  return {Comparison::same, &*it};
}

void LiveKv::for_each_unseen(const std::function<void(const Entry&)>& on_entry) const {
  for (const auto& entry : entries_) {
    if (!entry.seen)
      on_entry(entry);
  }
}

void LiveKv::forget_seen() {
  for (auto& entry : entries_)
    entry.seen = false;
}

Result<KvPlan> plan_kv(const archive::BackupReader& backup, const KvSelection& selection,
                       LiveKv& live, const std::function<void(const KvChange&)>& on_change) {
  live.forget_seen();
  KvPlan plan;
  auto count = [&](const std::string& key, KvStep&& step, std::uint64_t bytes) {
    if (!step.kind) {
      ++plan.unchanged;
      return;
    }
    switch (*step.kind) {
      case KvChangeKind::create:
        ++plan.create;
        plan.bytes += bytes;
        break;
      case KvChangeKind::update:
        ++plan.update;
        plan.bytes += bytes;
        break;
      case KvChangeKind::remove:
        ++plan.remove;
        break;
      case KvChangeKind::skip:
        ++plan.skip;
        plan.skipped.push_back({key, step.reason});
        break;
    }
    if (on_change)
      on_change({*step.kind, key, std::move(step.reason), step.index});
  };
  CSNAP_TRY(for_each_selected(
      backup, selection, [&](std::string&& key, archive::KvRecord&& record) -> Status {
        auto match = live.compare(key, record.value, record.flags);
        count(key, step_for_write(selection, key, match), record.value.size());
        return {};
      }));
  for_each_removal(selection, live, [&](const LiveKv::Entry& entry, KvStep&& step) {
    count(entry.key, std::move(step), 0);
  });
  return plan;
}

Result<KvApplied> apply_kv(consul::Client& consul, const archive::BackupReader& backup,
                           const KvSelection& selection, LiveKv& live,
                           const KvApplyOptions& options) {
  std::uint64_t queued = 0;
  std::uint64_t queued_bytes = 0;
  std::uint64_t unchanged = 0;
  std::vector<KvNote> skipped;
  live.forget_seen();
  KvLedger ledger;
  CSNAP_ASSIGN_OR_RETURN(
      auto parallel,
      ParallelTxn::start(consul.settings(),
                         [&ledger](consul::Client& client, std::vector<consul::TxnOp>&& ops) {
                           return commit_and_judge(client, std::move(ops), ledger);
                         }));
  consul::TxnTransport transport;
  transport.txn = [&](std::span<const consul::TxnOp> ops) { return parallel->send(ops); };
  // A value too big for a transaction: a PUT, judged like a refused op when it is not written.
  transport.put = [&](const consul::TxnOp& op) -> Status {
    consul::KvPutOptions put_options;
    if (consul::checks_index(op.verb))
      put_options.cas = op.index;
    auto put = consul.kv_put(op.key, op.value, op.flags, put_options);
    if (put.ok()) {
      ledger.committed(1, 0);
      return {};
    }
    const auto kind = put.error().kind();
    if (kind == ErrorKind::conflict) {
      CSNAP_ASSIGN_OR_RETURN(auto now, consul.kv_get(op.key));
      ledger.refused(op, put.error().message(), now);
      return {};
    }
    if (kind == ErrorKind::permission_denied || kind == ErrorKind::invalid_argument) {
      ledger.failed(op.key, put.error().message());
      return {};
    }
    return std::move(put).error();
  };
  consul::TxnBatcher batcher(std::move(transport));

  CSNAP_TRY(for_each_selected(
      backup, selection, [&](std::string&& key, archive::KvRecord&& record) -> Status {
        auto step = step_for_write(selection, key, live.compare(key, record.value, record.flags));
        if (!step.kind) {
          ++unchanged;
          return {};
        }
        if (*step.kind == KvChangeKind::skip) {
          skipped.push_back({std::move(key), std::move(step.reason)});
          return {};
        }
        ++queued;
        queued_bytes += record.value.size();
        if (options.progress)
          options.progress(queued, queued_bytes);
        if (options.force)
          return batcher.add(
              consul::TxnOp::set(std::move(key), std::move(record.value), record.flags));
        return batcher.add(
            consul::TxnOp::cas(std::move(key), std::move(record.value), record.flags, step.index));
      }));
  std::vector<consul::TxnOp> removals;
  for_each_removal(selection, live, [&](const LiveKv::Entry& entry, KvStep&& step) {
    if (*step.kind == KvChangeKind::skip) {
      skipped.push_back({entry.key, std::move(step.reason)});
      return;
    }
    removals.push_back(options.force ? consul::TxnOp::remove(entry.key)
                                     : consul::TxnOp::remove_cas(entry.key, step.index));
  });
  for (auto& op : removals)
    CSNAP_TRY(batcher.add(std::move(op)));
  auto batched = batcher.finish();
  auto sent = parallel->finish();
  if (!batched.ok())
    return std::move(batched).error();
  if (!sent.ok())
    return std::move(sent).error();
  auto applied = ledger.take();
  applied.unchanged = unchanged;
  applied.transactions = batched->transactions;
  applied.plain_puts = batched->plain_puts;
  applied.skipped = std::move(skipped);
  return applied;
}

RefusalVerdict judge_refusal(const consul::TxnOp& op, std::string_view why,
                             const std::optional<consul::KvEntry>& now) {
  using Kind = RefusalVerdict::Kind;
  const bool checked = consul::checks_index(op.verb);
  auto held = [&] {
    return now && !now->session.empty() ? fmt::format(", now held by session {}", now->session)
                                        : std::string();
  };
  if (consul::writes_value(op.verb)) {
    if (now && now->value == op.value && now->flags == op.flags)
      return {Kind::done};
    if (checked && op.index == 0 && now) {
      return {Kind::conflict,
              fmt::format("created after the plan (ModifyIndex {}{})", now->modify_index, held())};
    }
    if (checked && op.index != 0 && !now)
      return {Kind::conflict, "deleted after the plan"};
    if (checked && now && now->modify_index != op.index) {
      return {Kind::conflict,
              fmt::format("changed after the plan (ModifyIndex {}, the plan saw {}{})",
                          now->modify_index, op.index, held())};
    }
    return {Kind::failed, std::string(why)};
  }
  if (!now)
    return {Kind::done};
  if (checked && now->modify_index != op.index) {
    return {Kind::conflict,
            fmt::format("changed after the plan (ModifyIndex {}, the plan saw {}{})",
                        now->modify_index, op.index, held())};
  }
  return {Kind::failed, std::string(why)};
}

}  // namespace csnap::ops
