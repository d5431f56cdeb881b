#include "daemon/state.hpp"

#include <algorithm>

#include "util/log.hpp"
#include "util/time.hpp"

namespace csnap::daemon {

namespace {

// The first `limit` bytes of `text`, cut before a UTF-8 continuation byte so that no character is
// split, with "..." when something was cut.
std::string shortened(std::string text, std::size_t limit) {
  if (text.size() <= limit)
    return text;
  std::size_t end = limit;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80)
    --end;
  text.resize(end);
  text += "...";
  return text;
}

}  // namespace

std::uint64_t Attempt::total_entries() const {
  std::uint64_t total = 0;
  for (const auto& [kind, count] : entries)
    total += count;
  return total;
}

State::State(std::string version, bool lock_enabled, std::size_t history_limit)
    : history_limit_(std::max<std::size_t>(history_limit, 1)) {
  data_.version = std::move(version);
  data_.lock_enabled = lock_enabled;
  data_.is_leader = !lock_enabled;
  data_.started = Clock::now();
  data_.history.reserve(history_limit_);
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

  Attempt attempt;
  attempt.started = outcome.started;
  attempt.duration = outcome.finished - outcome.started;
  attempt.succeeded = true;
  attempt.key = outcome.key;
  attempt.size_bytes = outcome.size_bytes;
  attempt.entries = outcome.entries;
  attempt.partial = outcome.partial;
  remember(std::move(attempt));
}

void State::failed(std::string_view cause, std::string message,
                   std::chrono::duration<double> took) {
  message = log::scrub_secrets(message);
  std::lock_guard lock(mutex_);
  ++data_.failures[std::string(cause)];
  ++data_.failures_in_a_row;
  data_.last_duration = took;

  Attempt attempt;
  attempt.started =
      Clock::now() - std::chrono::duration_cast<Clock::duration>(std::max(took, took.zero()));
  attempt.duration = took;
  attempt.cause = std::string(cause);
  attempt.error = shortened(message, Attempt::kMaxErrorBytes);
  data_.last_error = std::move(message);
  remember(std::move(attempt));
}

void State::remember(Attempt attempt) {
  if (data_.history.size() >= history_limit_)
    data_.history.erase(data_.history.begin(),
                        data_.history.begin() +
                            static_cast<std::ptrdiff_t>(data_.history.size() - history_limit_ + 1));
  data_.history.push_back(std::move(attempt));
}

void State::set_leader(bool is_leader) {
  std::lock_guard lock(mutex_);
  data_.is_leader = is_leader;
}

void State::set_retention_held(std::string reason) {
  std::lock_guard lock(mutex_);
  data_.retention_held = std::move(reason);
}

LastBackupOffer State::offer_cluster_last_backup(Clock::time_point when, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  if (when > now + kMaxClockSkew) {
    bool again = data_.ignored_cluster_last_backup == when;
    data_.ignored_cluster_last_backup = when;
    return again ? LastBackupOffer::ignored_again : LastBackupOffer::ignored;
  }
  if (!data_.cluster_last_backup || *data_.cluster_last_backup < when)
    data_.cluster_last_backup = when;
  return LastBackupOffer::accepted;
}

Snapshot State::snapshot() const {
  std::lock_guard lock(mutex_);
  return data_;
}

std::string format_utc(Clock::time_point time) {
  return format_rfc3339(std::chrono::floor<std::chrono::seconds>(time));
}

}  // namespace csnap::daemon
