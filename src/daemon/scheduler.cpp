#include "daemon/scheduler.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>

#include "util/log.hpp"
#include "util/text.hpp"

namespace csnap::daemon {
namespace {

// The value of the lastbackup key as a time, if it holds a Unix time.
std::optional<std::chrono::system_clock::time_point> parse_last_backup(std::string_view value) {
  auto text = trim(value);
  std::int64_t seconds = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (ec != std::errc() || end != text.data() + text.size() || seconds <= 0)
    return std::nullopt;
  return std::chrono::system_clock::time_point(std::chrono::seconds(seconds));
}

}  // namespace

std::chrono::steady_clock::time_point SystemSchedulerClock::now() const {
  return std::chrono::steady_clock::now();
}

Clock::time_point SystemSchedulerClock::wall_time() const {
  return Clock::now();
}

bool SystemSchedulerClock::wait(std::chrono::seconds duration) {
  std::unique_lock lock(mutex_);
  return wake_.wait_for(lock, duration, [this] { return interrupted_; });
}

void SystemSchedulerClock::interrupt() {
  {
    std::lock_guard lock(mutex_);
    interrupted_ = true;
  }
  wake_.notify_all();
}

std::chrono::seconds wait_after(std::uint64_t failures_in_a_row, std::chrono::seconds interval) {
  return interval * static_cast<int>(std::clamp<std::uint64_t>(failures_in_a_row, 1, 4));
}

void offer_cluster_last_backup(State& state, std::string_view key, std::string_view value,
                               Clock::time_point now) {
  auto when = parse_last_backup(value);
  if (!when)
    return;
  if (state.offer_cluster_last_backup(*when, now) == LastBackupOffer::ignored) {
    log::warn(
        "Ignoring {} = {} ({}): it is in the future, more than {}s ahead of this clock (a "
        "wrong clock on the replica that wrote it, or a forged value); /health counts only "
        "backups that have happened",
        key, trim(value), format_utc(*when), kMaxClockSkew.count());
  }
}

std::string failure_cause(const Error& error) {
  std::string cause(to_string(error.kind()));
  std::replace(cause.begin(), cause.end(), ' ', '_');
  return cause;
}

Scheduler::Scheduler(SchedulerOptions options, BackupSteps& steps, Leadership* leadership,
                     State& state, SchedulerClock& clock)
    : options_(std::move(options)),
      steps_(steps),
      leadership_(leadership),
      state_(state),
      clock_(clock) {
  control_.stop_reason = [this] { return stop_reason(); };
  // Two daemons never both commit: a fresh read of the lock key right before the commit.
  if (leadership_)
    control_.confirm_commit = [this] { return leadership_->confirm(); };
}

void Scheduler::run() {
  while (!stop_requested()) {
    const auto wait = turn();
    steps_.end_turn();
    if (clock_.wait(wait))
      break;
  }
  if (leadership_) {
    leadership_->release();
    state_.set_leader(false);
  }
}

void Scheduler::request_stop(std::chrono::seconds grace) {
  {
    std::lock_guard lock(mutex_);
    if (!abort_at_)
      abort_at_ = clock_.now() + grace;
  }
  clock_.interrupt();
}

bool Scheduler::stop_requested() const {
  std::lock_guard lock(mutex_);
  return abort_at_.has_value();
}

std::string Scheduler::stop_reason() const {
  {
    std::lock_guard lock(mutex_);
    if (abort_at_ && clock_.now() >= *abort_at_)
      return "shutting down, and the grace period (--shutdown-grace) is over";
  }
  if (leadership_ && leadership_->lost())
    return "this daemon lost the leader lock (its session is gone or could not be renewed within "
           "the TTL)";
  return {};
}

std::chrono::seconds Scheduler::turn() {
  if (auto connected = steps_.connect(); !connected.ok())
    return failed(connected.error(), "connecting to Consul", clock_.now());

  // The lock first: its requests time out within a fraction of the TTL, so a daemon cut off
  // from Consul says so (not leader, a failure counted) at once rather than after the long
  // timeouts of the other requests.
  bool leader = true;
  if (leadership_) {
    auto led = lead();
    if (!led.ok()) {
      state_.set_leader(false);
      return failed(led.error(), "the leader lock", clock_.now());
    }
    leader = *led;
  }
  if (auto value = steps_.read_cluster_last_backup())
    offer_cluster_last_backup(state_, options_.last_backup_key, *value, clock_.wall_time());
  if (!leader)
    return options_.interval;
  return back_up();
}

Result<bool> Scheduler::lead() {
  bool was_leader = state_.snapshot().is_leader;
  CSNAP_ASSIGN_OR_RETURN(bool held, leadership_->held());
  if (!held) {
    CSNAP_ASSIGN_OR_RETURN(held, leadership_->acquire());
  }
  if (held != was_leader) {
    if (held) {
      log::info("This daemon is the leader now (lock {}, session {}): it takes the backups",
                options_.lock_key, leadership_->session_id());
    } else {
      log::info("Another daemon holds the leader lock {}: waiting", options_.lock_key);
    }
    state_.set_leader(held);
  }
  return held;
}

std::chrono::seconds Scheduler::back_up() {
  const auto started = clock_.now();
  const auto started_at = clock_.wall_time();
  state_.attempt_started(started_at);
  if (auto opened = steps_.open_storage(); !opened.ok())
    return failed(opened.error(), "opening the storage", started);
  auto outcome = steps_.back_up(control_);
  if (!outcome.ok())
    return failed(outcome.error(), "backup", started);
  log::info("Backup completed successfully");

  outcome->started = started_at;
  outcome->finished = clock_.wall_time();
  state_.succeeded(*outcome);
  steps_.prune(*outcome);
  steps_.refresh_listing();
  return wait_after(0, options_.interval);
}

std::chrono::seconds Scheduler::failed(const Error& error, std::string_view step,
                                       std::chrono::steady_clock::time_point started) {
  state_.failed(failure_cause(error), error.message(),
                std::chrono::duration<double>(clock_.now() - started));
  auto in_a_row = state_.snapshot().failures_in_a_row;
  if (error.kind() == ErrorKind::cancelled) {
    log::warn("{}", error.message());
  } else {
    log::error("Backup failed ({} in a row, at {}): {}", in_a_row, step, error.message());
  }
  // Back off after repeated failures, never beyond four intervals.
  return wait_after(in_a_row, options_.interval);
}

}  // namespace csnap::daemon
