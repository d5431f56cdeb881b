#pragma once
// Which of several daemons against one cluster takes the backups, as the scheduler asks it. The
// daemon's is the Consul session and lock key of leader.hpp; unit tests use a fake.

#include <string>

#include "util/result.hpp"

namespace csnap::daemon {

class Leadership {
 public:
  virtual ~Leadership() = default;

  // Tries to become the leader; true when this daemon leads afterwards (also when it already did).
  virtual Result<bool> acquire() = 0;
  // True while this daemon still leads: checked at the start of each turn.
  virtual Result<bool> held() = 0;
  // The check right before a backup is committed; fails closed (an error when it cannot tell).
  virtual Status confirm() = 0;
  // True once the leadership is gone without a release(): a backup in flight is abandoned.
  virtual bool lost() const = 0;
  // Gives the leadership up (at shutdown); errors are the implementation's to log.
  virtual void release() = 0;
  // What names this daemon's hold on the lock in the logs (the Consul session's ID).
  virtual std::string session_id() const = 0;
};

}  // namespace csnap::daemon
