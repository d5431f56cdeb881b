#include "daemon/state.hpp"

namespace csnap::daemon {

State::State(std::string version, bool lock_enabled) {
  data_.version = std::move(version);
  data_.lock_enabled = lock_enabled;
  data_.is_leader = !lock_enabled;
  data_.started = Clock::now();
}

void State::attempt_started(Clock::time_point when) {
  std::lock_guard lock(mutex_);
  data_.last_attempt = when;
}

void State::succeeded(const BackupOutcome& outcome) {
  std::lock_guard lock(mutex_);
  data_.last_success = outcome;
  data_.last_duration = outcome.finished - outcome.started;
  data_.last_error.clear();
  data_.failures_in_a_row = 0;
  ++data_.successes;
  if (!data_.cluster_last_backup || *data_.cluster_last_backup < outcome.finished)
    data_.cluster_last_backup = outcome.finished;
}

void State::failed(std::string_view cause, std::string message,
                   std::chrono::duration<double> took) {
  std::lock_guard lock(mutex_);
  ++data_.failures[std::string(cause)];
  ++data_.failures_in_a_row;
  data_.last_error = std::move(message);
  data_.last_duration = took;
}

void State::set_leader(bool is_leader) {
  std::lock_guard lock(mutex_);
  data_.is_leader = is_leader;
}

void State::set_cluster_last_backup(Clock::time_point when) {
  std::lock_guard lock(mutex_);
  if (!data_.cluster_last_backup || *data_.cluster_last_backup < when)
    data_.cluster_last_backup = when;
}

Snapshot State::snapshot() const {
  std::lock_guard lock(mutex_);
  return data_;
}

}  // namespace csnap::daemon
