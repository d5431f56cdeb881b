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

LeaderLock::LeaderLock(std::unique_ptr<consul::Client> consul,
                       std::unique_ptr<consul::Client> renewer, LeaderLockOptions options)
    : consul_(std::move(consul)), renewer_(std::move(renewer)), options_(std::move(options)) {}

LeaderLock::~LeaderLock() {
  stop_renewal();
}

Status LeaderLock::create_session() {
  nlohmann::json body = {
      {"Name", "consul-snapshot"},
      {"TTL", fmt::format("{}s", options_.ttl.count())},
      {"LockDelay", fmt::format("{}s", options_.lock_delay.count())},
      {"Behavior", "release"},
  };
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
  lost_ = false;
  log::debug("Created Consul session {} for the leader lock {} (TTL {}s, lock-delay {}s)", session_,
             options_.key, options_.ttl.count(), options_.lock_delay.count());
  start_renewal();
  return {};
}

Result<bool> LeaderLock::acquire() {
  if (!session_.empty() && lost_) {
    stop_renewal();
    session_.clear();
  }
  if (session_.empty())
    CSNAP_TRY(create_session());
  auto answer =
      consul_->request_json("PUT", lock_target(options_.key, "acquire", session_), options_.holder);
  if (!answer.ok()) {
    // The session may have expired between two looks (Consul then refuses it): start with a new
    // one at the next attempt; the old one, if alive, expires after its TTL.
    lost_ = true;
    return std::move(
        answer.error().add_context(fmt::format("acquiring the leader lock {}", options_.key)));
  }
  return answer->body.is_boolean() && answer->body.get<bool>();
}

Result<bool> LeaderLock::held() {
  if (session_.empty() || lost_)
    return false;
  auto entry = consul_->kv_get(options_.key);
  if (!entry.ok())
    return std::move(
        entry.error().add_context(fmt::format("reading the leader lock {}", options_.key)));
  return entry->has_value() && (*entry)->session == session_;
}

void LeaderLock::release() {
  if (session_.empty())
    return;
  stop_renewal();
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
  std::unique_lock lock(mutex_);
  while (!wake_.wait_for(lock, period, [this] { return stopping_; })) {
    lock.unlock();
    auto renewed = renewer_->request_json("PUT", "/v1/session/renew/" + session);
    lock.lock();
    if (renewed.ok())
      continue;
    if (renewed.error().kind() == ErrorKind::not_found) {
      log::warn(
          "The leader lock's Consul session {} is gone (expired or invalidated): no more "
          "backups until the lock is acquired again",
          session);
      lost_ = true;
      return;
    }
    // Consul unreachable: keep trying; Consul expires the session if this goes on past the TTL,
    // and the next renewal then finds it gone.
    log::warn("Renewing the leader lock's Consul session failed: {}", renewed.error().message());
  }
}

std::optional<std::chrono::system_clock::time_point> parse_last_backup(std::string_view value) {
  auto text = trim(value);
  std::int64_t seconds = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (ec != std::errc() || end != text.data() + text.size() || seconds <= 0)
    return std::nullopt;
  return std::chrono::system_clock::time_point(std::chrono::seconds(seconds));
}

}  // namespace csnap::daemon
