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

// Sends transactions from several threads, each with a Consul client of its own (an HTTP
// client is not shared between threads). Keys of one restore are distinct, so the order in
// which transactions land does not matter. The first failure stops everything after it.
class ParallelTxn {
 public:
  static Result<std::unique_ptr<ParallelTxn>> start(const consul::Settings& settings) {
    auto parallel = std::unique_ptr<ParallelTxn>(new ParallelTxn());
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
  ParallelTxn() = default;

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
      auto status = client.txn(ops);
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

  std::mutex mutex_;
  std::condition_variable ready_;
  std::condition_variable space_;
  std::deque<std::vector<consul::TxnOp>> queue_;
  std::optional<Error> failure_;
  bool closed_ = false;
  std::vector<std::thread> workers_;
};

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

std::string_view to_string(KvChangeKind kind) {
  switch (kind) {
    case KvChangeKind::create:
      return "create";
    case KvChangeKind::update:
      return "update";
    case KvChangeKind::remove:
      return "delete";
  }
  return "change";
}

Result<LiveKv> LiveKv::read(consul::Client& consul, std::string_view prefix,
                            const std::filesystem::path& tmp_dir) {
  LiveKv live;
  auto listing = consul.kv_list(prefix, tmp_dir, [&](consul::KvEntry&& entry) {
    live.entries_.push_back({std::move(entry.key), entry.flags, entry.value.size(),
                             codec::Sha256::digest_of(entry.value), false});
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
  std::sort(live.entries_.begin(), live.entries_.end(),
            [](const Entry& a, const Entry& b) { return a.key < b.key; });
  return live;
}

LiveKv::Comparison LiveKv::compare(std::string_view key, std::string_view value,
                                   std::uint64_t flags) {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), key,
                             [](const Entry& entry, std::string_view k) { return entry.key < k; });
  if (it == entries_.end() || it->key != key)
    return Comparison::missing;
  it->seen = true;
  if (it->flags != flags || it->size != value.size() ||
      it->sha256 != codec::Sha256::digest_of(value)) {
    return Comparison::different;
  }
  return Comparison::same;
}

void LiveKv::for_each_unseen(const std::function<void(const std::string&)>& on_key) const {
  for (const auto& entry : entries_) {
    if (!entry.seen)
      on_key(entry.key);
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
  CSNAP_TRY(for_each_selected(backup, selection,
                              [&](std::string&& key, archive::KvRecord&& record) -> Status {
                                switch (live.compare(key, record.value, record.flags)) {
                                  case LiveKv::Comparison::same:
                                    ++plan.unchanged;
                                    return {};
                                  case LiveKv::Comparison::missing:
                                    ++plan.create;
                                    plan.bytes += record.value.size();
                                    if (on_change)
                                      on_change({KvChangeKind::create, key});
                                    return {};
                                  case LiveKv::Comparison::different:
                                    ++plan.update;
                                    plan.bytes += record.value.size();
                                    if (on_change)
                                      on_change({KvChangeKind::update, key});
                                    return {};
                                }
                                return {};
                              }));
  if (selection.replace) {
    const std::string under = selection.target_prefix();
    live.for_each_unseen([&](const std::string& key) {
      if (!key.starts_with(under))
        return;
      ++plan.remove;
      if (on_change)
        on_change({KvChangeKind::remove, key});
    });
  }
  return plan;
}

Result<KvApplied> apply_kv(consul::Client& consul, const archive::BackupReader& backup,
                           const KvSelection& selection, LiveKv& live,
                           const std::function<void(std::uint64_t, std::uint64_t)>& progress) {
  std::uint64_t queued = 0;
  std::uint64_t queued_bytes = 0;
  live.forget_seen();
  CSNAP_ASSIGN_OR_RETURN(auto parallel, ParallelTxn::start(consul.settings()));
  consul::TxnTransport transport = consul.txn_transport();
  transport.txn = [&](std::span<const consul::TxnOp> ops) { return parallel->send(ops); };
  consul::TxnBatcher batcher(std::move(transport));

  CSNAP_TRY(for_each_selected(
      backup, selection, [&](std::string&& key, archive::KvRecord&& record) -> Status {
        if (live.compare(key, record.value, record.flags) == LiveKv::Comparison::same) {
          return {};
        }
        ++queued;
        queued_bytes += record.value.size();
        if (progress)
          progress(queued, queued_bytes);
        return batcher.add_set(std::move(key), std::move(record.value), record.flags);
      }));
  if (selection.replace) {
    const std::string under = selection.target_prefix();
    std::vector<std::string> removals;
    live.for_each_unseen([&](const std::string& key) {
      if (key.starts_with(under))
        removals.push_back(key);
    });
    for (auto& key : removals)
      CSNAP_TRY(batcher.add_delete(std::move(key)));
  }
  auto batched = batcher.finish();
  auto sent = parallel->finish();
  if (!batched.ok())
    return std::move(batched).error();
  if (!sent.ok())
    return std::move(sent).error();
  return KvApplied{batched->sets, batched->deletes, batched->transactions, batched->plain_puts};
}

}  // namespace csnap::ops
