#pragma once
// The leader lock: several daemons against one cluster agree through a Consul session and a lock
// key which one takes backups. The session has a TTL and is renewed by a thread of its own (with
// its own connection) every third of the TTL; if the leader dies, Consul expires the session
// (within twice the TTL), releases the key, and after the lock-delay another daemon acquires it.
//
// A leader that cannot reach Consul does not know whether Consul still keeps its session, so it
// leads only on a lease: until one TTL after it sent the last request that Consul answered with
// proof that the session lives (its creation or a renewal). Consul keeps a session at least its
// TTL after each renewal it receives, and a request reaches Consul after it was sent, so once the
// lease has run out the daemon stops (and abandons a backup in flight) no later than Consul could
// hand the key to another daemon. Every request of the lock times out within a fraction of the
// TTL and is not retried, so that no request outlives the lease.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "consul/client.hpp"
#include "daemon/leadership.hpp"
#include "util/result.hpp"

namespace csnap::daemon {

using SteadyClock = std::chrono::steady_clock;

// How long one request of the lock (a renewal, an acquire, the read before a commit) may take
// with a session TTL of `ttl`: a quarter of it, so that a renewal that times out leaves time for
// another within the lease.
std::chrono::milliseconds lock_request_timeout(std::chrono::seconds ttl);

// The time this daemon may act as the leader (see the file comment). Thread-safe.
class LeaderLease {
 public:
  explicit LeaderLease(std::chrono::seconds ttl) : ttl_(ttl) {}

  // Consul answered a request sent at `sent` with proof that the session lives: the lease runs
  // until `sent` + TTL (it never moves back).
  void confirm(SteadyClock::time_point sent);
  // The session is gone (Consul said so, or it was released): no lease until the next confirm.
  void end();
  // True while `now` is before the end of the lease.
  bool valid(SteadyClock::time_point now) const;
  // When the lease ends; nullopt when there is none.
  std::optional<SteadyClock::time_point> deadline() const;

 private:
  static constexpr SteadyClock::rep kNone = 0;
  std::chrono::seconds ttl_;
  std::atomic<SteadyClock::rep> deadline_{kNone};  // time_since_epoch of the end, kNone: none
};

struct LeaderLockOptions {
  std::string key = "service/consul-snapshot/leader";
  std::chrono::seconds ttl{15};         // Consul accepts 10s to 86400s
  std::chrono::seconds lock_delay{15};  // Consul's lock-delay of the session
  std::string holder{};                 // written as the key's value: who holds the lock
  // Called on the renewal thread once the lease ends without the lock being released (the
  // session is gone, or no renewal was confirmed within the TTL).
  std::function<void()> on_lost{};
  // What time it is; tests inject their own.
  std::function<SteadyClock::time_point()> now = [] { return SteadyClock::now(); };
};

// The Leadership of a Consul session holding the lock key.
class LeaderLock final : public Leadership {
 public:
  // `consul` is used by the caller's thread; `renewer` only by the renewal thread (a
  // consul::Client is not shared between threads). Both should time out within
  // lock_request_timeout(ttl) and not retry.
  LeaderLock(std::unique_ptr<consul::Client> consul, std::unique_ptr<consul::Client> renewer,
             LeaderLockOptions options);
  ~LeaderLock() override;
  LeaderLock(const LeaderLock&) = delete;
  LeaderLock& operator=(const LeaderLock&) = delete;

  // Makes sure there is a live session and tries to acquire the key with it. True when this
  // daemon holds the lock afterwards (also when it already held it).
  Result<bool> acquire() override;
  // True while the lease is valid and the key names the session: checked right before each
  // backup.
  Result<bool> held() override;
  // The check right before a backup is committed: a fresh, consistent read of the key shows that
  // the session still holds it, and the lease is still valid once the answer is in. Fails closed:
  // an error (cancelled when the lock is lost, Consul's error when it cannot be read).
  Status confirm() override;
  // True once the lease has ended: the session is gone or no renewal was confirmed within the
  // TTL. The next acquire() starts a new session.
  bool lost() const override;
  // Releases the key and destroys the session (errors are logged: Consul expires it anyway).
  void release() override;

  std::string session_id() const override { return session_; }

 private:
  Status create_session();
  void start_renewal();
  void stop_renewal();
  void renew_loop(std::string session);

  std::unique_ptr<consul::Client> consul_;
  std::unique_ptr<consul::Client> renewer_;
  LeaderLockOptions options_;
  std::string session_;
  LeaderLease lease_;
  std::atomic<bool> gone_{false};  // Consul said the session is gone, or acquiring failed

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread renewal_;
};

}  // namespace csnap::daemon
