#include "daemon/leader.hpp"

#include <charconv>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "http/url.hpp"
#include "util/log.hpp"
#include "util/text.hpp"

namespace csnap::daemon {
namespace {

std::string lock_target(std::string_view key, std::string_view verb, std::string_view session) {
  return fmt::format("/v1/kv/{}?{}={}", http::percent_encode_path(key), verb,
                     http::percent_encode_component(session));
}

}  // namespace

std::chrono::milliseconds lock_request_timeout(std::chrono::seconds ttl) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(ttl) / 4;
}

void LeaderLease::confirm(SteadyClock::time_point sent) {
  const SteadyClock::rep end = (sent + ttl_).time_since_epoch().count();
  SteadyClock::rep current = deadline_.load();
  while ((current == kNone || current < end) && !deadline_.compare_exchange_weak(current, end)) {
  }
}

void LeaderLease::end() {
  deadline_ = kNone;
}

bool LeaderLease::valid(SteadyClock::time_point now) const {
  auto end = deadline();
  return end && now < *end;
}

std::optional<SteadyClock::time_point> LeaderLease::deadline() const {
  SteadyClock::rep end = deadline_.load();
  if (end == kNone)
    return std::nullopt;
  return SteadyClock::time_point(SteadyClock::duration(end));
}

LeaderLock::LeaderLock(std::unique_ptr<consul::Client> consul,
                       std::unique_ptr<consul::Client> renewer, LeaderLockOptions options)
    : consul_(std::move(consul)),
      renewer_(std::move(renewer)),
      options_(std::move(options)),
      lease_(options_.ttl) {}

LeaderLock::~LeaderLock() {
  stop_renewal();
}

bool LeaderLock::lost() const {
  return gone_ || !lease_.valid(options_.now());
}

Status LeaderLock::create_session() {
  nlohmann::json body = {
      {"Name", "consul-snapshot"},
      {"TTL", fmt::format("{}s", options_.ttl.count())},
      {"LockDelay", fmt::format("{}s", options_.lock_delay.count())},
      {"Behavior", "release"},
  };
  const auto sent = options_.now();
  auto created = consul_->request_json("PUT", "/v1/session/create", body.dump());
  if (!created.ok()) {
    return std::move(created.error().add_context(
        "creating the Consul session of the leader lock (the token needs session:write on this "
        "node and key:write on the lock key; or set --lock=false for a single daemon)"));
  }
  auto id = created->body.is_object() ? created->body.value("ID", "") : "";
  if (id.empty())
    return Error(ErrorKind::corrupt, "PUT /v1/session/create: Consul's answer has no ID");
  session_ = id;
  gone_ = false;
  lease_.end();
  lease_.confirm(sent);
  log::debug("Created Consul session {} for the leader lock {} (TTL {}s, lock-delay {}s)", session_,
             options_.key, options_.ttl.count(), options_.lock_delay.count());
  start_renewal();
  return {};
}

Result<bool> LeaderLock::acquire() {
  if (!session_.empty() && lost()) {
    // The old session, if Consul still keeps it, expires after its TTL.
    stop_renewal();
    session_.clear();
    lease_.end();
  }
  if (session_.empty())
    CSNAP_TRY(create_session());
  const auto sent = options_.now();
  auto answer =
      consul_->request_json("PUT", lock_target(options_.key, "acquire", session_), options_.holder);
  if (!answer.ok()) {
    // The session may have expired between two looks (Consul then refuses it): start with a new
    // one at the next attempt; the old one, if alive, expires after its TTL.
    gone_ = true;
    return std::move(
        answer.error().add_context(fmt::format("acquiring the leader lock {}", options_.key)));
  }
  bool acquired = answer->body.is_boolean() && answer->body.get<bool>();
  if (acquired)
    lease_.confirm(sent);  // Consul took the session: it was alive when the request arrived
  return acquired && !lost();
}

Result<bool> LeaderLock::held() {
  if (session_.empty() || lost())
    return false;
  auto entry = consul_->kv_get(options_.key);
  if (!entry.ok())
    return std::move(
        entry.error().add_context(fmt::format("reading the leader lock {}", options_.key)));
  return entry->has_value() && (*entry)->session == session_ && !lost();
}

Status LeaderLock::confirm() {
  auto lost_error = [this](std::string_view why) {
    return Error(
        ErrorKind::cancelled,
        fmt::format("this daemon no longer holds the leader lock {}: {}", options_.key, why));
  };
  if (session_.empty() || lost())
    return lost_error("its session is gone or was not renewed within the TTL");
  auto answer = consul_->request_json(
      "GET", fmt::format("/v1/kv/{}?consistent", http::percent_encode_path(options_.key)));
  if (!answer.ok()) {
    if (answer.error().kind() == ErrorKind::not_found)
      return lost_error("the key does not exist any more");
    return std::move(answer.error().add_context(
        fmt::format("confirming with a fresh read of the leader lock {} that this daemon still "
                    "holds it (so nothing was committed)",
                    options_.key)));
  }
  std::string holder;
  const auto& body = answer->body;
  if (body.is_array() && !body.empty() && body[0].is_object()) {
    auto session = body[0].find("Session");
    if (session != body[0].end() && session->is_string())
      holder = session->get<std::string>();
  }
  if (holder != session_) {
    return lost_error(holder.empty() ? "the key is not held by any session"
                                     : fmt::format("the key is held by session {}", holder));
  }
  if (lost())
    return lost_error("the lease ran out while confirming");
  return {};
}

void LeaderLock::release() {
  if (session_.empty())
    return;
  stop_renewal();
  lease_.end();
  auto released =
      consul_->request_json("PUT", lock_target(options_.key, "release", session_), options_.holder);
  if (!released.ok())
    log::warn("Releasing the leader lock {} failed: {}", options_.key, released.error().message());
  auto destroyed = consul_->request_json("PUT", "/v1/session/destroy/" + session_);
  if (!destroyed.ok()) {
    log::warn("Destroying the Consul session {} failed (Consul expires it after its TTL): {}",
              session_, destroyed.error().message());
  }
  log::info("Released the leader lock {}", options_.key);
  session_.clear();
}

void LeaderLock::start_renewal() {
  stop_renewal();
  {
    std::lock_guard lock(mutex_);
    stopping_ = false;
  }
  renewal_ = std::thread([this, session = session_] { renew_loop(session); });
}

void LeaderLock::stop_renewal() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (renewal_.joinable())
    renewal_.join();
}

void LeaderLock::renew_loop(std::string session) {
  const auto period =
      std::max<std::chrono::milliseconds>(options_.ttl / 3, std::chrono::seconds(1));
  // After a failed renewal: soon again, while the lease lasts.
  const auto retry = std::chrono::seconds(1);
  auto pause = std::chrono::duration_cast<SteadyClock::duration>(period);
  std::unique_lock lock(mutex_);
  auto step_down = [&](const std::string& why) {
    log::warn("{}: no more backups (one in flight is abandoned) until the lock is acquired again",
              why);
    lock.unlock();
    if (options_.on_lost)
      options_.on_lost();
  };
  while (true) {
    auto deadline = lease_.deadline();
    auto now = options_.now();
    if (deadline && now < *deadline) {
      // Wake for the next renewal, or when the lease ends if that is sooner.
      if (wake_.wait_for(lock, std::min(pause, *deadline - now), [this] { return stopping_; }))
        return;
      deadline = lease_.deadline();
      now = options_.now();
    }
    if (!deadline || now >= *deadline) {
      return step_down(fmt::format(
          "The leader lock's Consul session {} could not be renewed within its TTL of {}s (is "
          "Consul reachable?), so Consul may give the lock to another daemon",
          session, options_.ttl.count()));
    }
    lock.unlock();
    const auto sent = options_.now();
    auto renewed = renewer_->request_json("PUT", "/v1/session/renew/" + session);
    lock.lock();
    if (stopping_)
      return;
    if (renewed.ok()) {
      lease_.confirm(sent);
      pause = std::chrono::duration_cast<SteadyClock::duration>(period);
      continue;
    }
    if (renewed.error().kind() == ErrorKind::not_found) {
      gone_ = true;
      lease_.end();
      return step_down(fmt::format(
          "The leader lock's Consul session {} is gone (expired or invalidated)", session));
    }
    // Consul unreachable or slow: try again soon; the lease ends if this goes on for the TTL.
    log::warn("Renewing the leader lock's Consul session failed: {}", renewed.error().message());
    pause = std::chrono::duration_cast<SteadyClock::duration>(retry);
  }
}

}  // namespace csnap::daemon
