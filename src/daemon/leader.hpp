#pragma once
// The leader lock: several daemons against one cluster agree through a Consul session and a lock
// key which one takes backups. The session has a TTL and is renewed by a thread of its own (with
// its own connection) every third of the TTL; if the leader dies, Consul expires the session
// (within twice the TTL), releases the key, and after the lock-delay another daemon acquires it.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "consul/client.hpp"
#include "util/result.hpp"

namespace csnap::daemon {

struct LeaderLockOptions {
  std::string key = "service/consul-snapshot/leader";
  std::chrono::seconds ttl{15};         // Consul accepts 10s to 86400s
  std::chrono::seconds lock_delay{15};  // Consul's lock-delay of the session
  std::string holder;                   // written as the key's value: who holds the lock
};

class LeaderLock {
 public:
  // `consul` is used by the caller's thread; `renewer` only by the renewal thread (a
  // consul::Client is not shared between threads).
  LeaderLock(std::unique_ptr<consul::Client> consul, std::unique_ptr<consul::Client> renewer,
             LeaderLockOptions options);
  ~LeaderLock();
  LeaderLock(const LeaderLock&) = delete;
  LeaderLock& operator=(const LeaderLock&) = delete;

  // Makes sure there is a live session and tries to acquire the key with it. True when this
  // daemon holds the lock afterwards (also when it already held it).
  Result<bool> acquire();
  // True while the session is alive and the key names it: checked right before each backup.
  Result<bool> held();
  // True once the renewal thread found the session gone (invalidated or expired); the next
  // acquire() starts a new one.
  bool lost() const { return lost_.load(); }
  // Releases the key and destroys the session (errors are logged: Consul expires it anyway).
  void release();

  const std::string& session_id() const { return session_; }

 private:
  Status create_session();
  void start_renewal();
  void stop_renewal();
  void renew_loop(std::string session);

  std::unique_ptr<consul::Client> consul_;
  std::unique_ptr<consul::Client> renewer_;
  LeaderLockOptions options_;
  std::string session_;
  std::atomic<bool> lost_{false};

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread renewal_;
};

// The value of the lastbackup key as a time, if it holds a Unix time.
std::optional<std::chrono::system_clock::time_point> parse_last_backup(std::string_view value);

}  // namespace csnap::daemon
