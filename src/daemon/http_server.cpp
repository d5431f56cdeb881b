// The HTTP server is cpp-httplib (Debian's libcpp-httplib-dev, a compiled shared library whose
// compile definitions come from pkg-config). It is already a dependency of the project's tests,
// needs no configuration strings, and lets us bring our own task queue: one listener thread and
// workers that start as connections arrive and end when idle keep an idle daemon at a few hundred
// KiB and no CPU (accept() blocks), while sixteen idle connections do not hold up /health (with a
// fixed pool of two workers they did, for 5 s each: every worker waited out a keep-alive).
// civetweb would have worked too but adds an option-string API and its own thread model.

#include "daemon/http_server.hpp"

#include <atomic>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <list>
#include <mutex>
#include <thread>

#include <httplib.h>
#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <sys/socket.h>

#include "daemon/metrics.hpp"
#include "daemon/web_page.hpp"
#include "util/log.hpp"

namespace csnap::daemon {

namespace {

// A connection that sends no (further) request is closed after this long; it holds a worker
// meanwhile, so it is short. Reading or writing one request may take a little longer.
constexpr time_t kKeepAliveSeconds = 2;
constexpr time_t kReadWriteTimeoutSeconds = 5;
constexpr std::size_t kKeepAliveMaxRequests = 10;
// A worker without work for this long ends.
constexpr std::chrono::seconds kWorkerIdleExit{30};
constexpr const char* kTextContentType = "text/plain; charset=utf-8";
constexpr const char* kJsonContentType = "application/json";

Error address_error(std::string_view text, std::string_view problem) {
  return Error(ErrorKind::invalid_argument,
               fmt::format("--http-addr \"{}\": {}; use host:port or :port, e.g. :5001, "
                           "127.0.0.1:5001 or [::1]:5001",
                           text, problem));
}

nlohmann::json time_or_null(const std::optional<Clock::time_point>& time) {
  return time ? nlohmann::json(format_utc(*time)) : nlohmann::json(nullptr);
}

std::string join_host_port(const std::string& host, int port) {
  if (host.find(':') != std::string::npos)
    return fmt::format("[{}]:{}", host, port);
  return fmt::format("{}:{}", host, port);
}

// Our own socket options instead of httplib's default, which sets SO_REUSEPORT and so would let
// a second daemon share the port silently: SO_REUSEADDR only (a restart may rebind while old
// connections linger in TIME_WAIT), and IPv6 sockets that also accept IPv4 (for ":port").
void configure_listen_socket(socket_t socket) {
  int yes = 1;
  setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  int no = 0;
  setsockopt(socket, IPPROTO_IPV6, IPV6_V6ONLY, &no, sizeof no);  // fails on IPv4: fine
}

// httplib's task queue: each connection is one task. Workers start when a task finds none idle,
// up to `max_workers` (then tasks wait in order), and end after `idle_exit` without work.
class OnDemandWorkers final : public httplib::TaskQueue {
 public:
  OnDemandWorkers(std::size_t max_workers, std::chrono::milliseconds idle_exit)
      : max_workers_(std::max<std::size_t>(max_workers, 1)), idle_exit_(idle_exit) {}
  ~OnDemandWorkers() override { shutdown(); }

  void enqueue(std::function<void()> task) override {
    std::lock_guard lock(mutex_);
    join_finished();
    tasks_.push_back(std::move(task));
    if (tasks_.size() > idle_ && workers_.size() < max_workers_) {
      workers_.emplace_back();
      Worker& worker = workers_.back();
      worker.thread = std::thread([this, &worker] { work(worker); });
    }
    wake_.notify_one();
  }

  // Runs the queued tasks, then joins every worker.
  void shutdown() override {
    std::list<Worker> workers;
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
      workers.swap(workers_);
    }
    wake_.notify_all();
    for (Worker& worker : workers) {
      if (worker.thread.joinable())
        worker.thread.join();
    }
  }

 private:
  struct Worker {
    std::thread thread;
    bool finished = false;
  };

  void work(Worker& self) {
    std::unique_lock lock(mutex_);
    while (true) {
      ++idle_;
      wake_.wait_for(lock, idle_exit_, [this] { return stopping_ || !tasks_.empty(); });
      --idle_;
      if (tasks_.empty()) {  // stopping, or idle for idle_exit_
        self.finished = true;
        return;
      }
      auto task = std::move(tasks_.front());
      tasks_.pop_front();
      lock.unlock();
      task();
      lock.lock();
    }
  }

  // With mutex_ held: joins the workers that ended (they only return from work() after setting
  // `finished` under the mutex, so the join is immediate).
  void join_finished() {
    for (auto it = workers_.begin(); it != workers_.end();) {
      if (it->finished) {
        it->thread.join();
        it = workers_.erase(it);
      } else {
        ++it;
      }
    }
  }

  const std::size_t max_workers_;
  const std::chrono::milliseconds idle_exit_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> tasks_;
  std::list<Worker> workers_;
  std::size_t idle_ = 0;
  bool stopping_ = false;
};

}  // namespace

Result<ListenAddress> parse_listen_address(std::string_view text) {
  if (text.find("://") != std::string_view::npos)
    return address_error(text, "a listen address, not a URL");
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos)
    return address_error(text, "no port");
  std::string_view host = text.substr(0, colon);
  std::string_view port_text = text.substr(colon + 1);

  ListenAddress address;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
    if (host.empty() || host.find(':') == std::string_view::npos)
      return address_error(text, "brackets hold an IPv6 address, e.g. [::1]:5001");
  } else if (host.find_first_of("[]:") != std::string_view::npos) {
    return address_error(text, "an IPv6 address goes in brackets, e.g. [::1]:5001");
  }
  address.host = std::string(host);

  if (port_text.empty())
    return address_error(text, "no port");
  auto [end, error] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), address.port);
  if (error != std::errc() || end != port_text.data() + port_text.size() || address.port < 0 ||
      address.port > 65535)
    return address_error(text, "the port must be a number from 0 to 65535");
  return address;
}

std::string render_status(const Snapshot& snapshot, const HealthAnswer& health,
                          std::chrono::seconds health_max_age, Clock::time_point now) {
  nlohmann::json status;
  status["version"] = snapshot.version;
  status["started"] = format_utc(snapshot.started);
  status["uptime_seconds"] =
      std::chrono::duration_cast<std::chrono::seconds>(now - snapshot.started).count();
  status["leader"] = snapshot.is_leader;
  status["lock_enabled"] = snapshot.lock_enabled;
  status["health"] = {{"status", health.status},
                      {"healthy", health.healthy()},
                      {"message", health.body},
                      {"max_age_seconds", health_max_age.count()},
                      {"last_backup", time_or_null(health.last_backup)}};
  if (snapshot.last_success) {
    const BackupOutcome& success = *snapshot.last_success;
    status["last_success"] = {
        {"key", success.key},
        {"size_bytes", success.size_bytes},
        {"entries", success.entries},
        {"started", format_utc(success.started)},
        {"finished", format_utc(success.finished)},
        {"duration_seconds",
         std::chrono::duration<double>(success.finished - success.started).count()},
        {"partial", success.partial},
    };
  } else {
    status["last_success"] = nullptr;
  }
  status["cluster_last_backup"] = time_or_null(snapshot.cluster_last_backup);
  status["ignored_cluster_last_backup"] = time_or_null(snapshot.ignored_cluster_last_backup);
  status["last_attempt"] = time_or_null(snapshot.last_attempt);
  status["last_duration_seconds"] = snapshot.last_duration
                                        ? nlohmann::json(snapshot.last_duration->count())
                                        : nlohmann::json(nullptr);
  status["last_error"] =
      snapshot.last_error.empty() ? nlohmann::json(nullptr) : nlohmann::json(snapshot.last_error);
  status["successes"] = snapshot.successes;
  status["failures"] = nlohmann::json::object();
  std::uint64_t failures_total = 0;
  for (const auto& [cause, count] : snapshot.failures) {
    status["failures"][cause] = count;
    failures_total += count;
  }
  status["failures_total"] = failures_total;
  status["failures_in_a_row"] = snapshot.failures_in_a_row;
  // Oldest first; fields of the other outcome are null.
  status["history"] = nlohmann::json::array();
  for (const Attempt& attempt : snapshot.history) {
    nlohmann::json entry = {
        {"started", format_utc(attempt.started)},
        {"duration_seconds", attempt.duration.count()},
        {"succeeded", attempt.succeeded},
        {"key", nullptr},
        {"size_bytes", nullptr},
        {"entries", nullptr},
        {"partial", nullptr},
        {"cause", nullptr},
        {"error", nullptr},
    };
    if (attempt.succeeded) {
      entry["key"] = attempt.key;
      entry["size_bytes"] = attempt.size_bytes;
      entry["entries"] = attempt.entries;
      entry["partial"] = attempt.partial;
    } else {
      entry["cause"] = attempt.cause;
      entry["error"] = attempt.error;
    }
    status["history"].push_back(std::move(entry));
  }
  // Replacement characters instead of an exception for invalid UTF-8 in an error message.
  return status.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

struct HttpServer::Impl {
  Impl(const State& shared_state, HttpServerOptions server_options)
      : state(shared_state), options(std::move(server_options)) {}

  void route();

  const State& state;
  HttpServerOptions options;
  httplib::Server server;
  std::thread listener;
  std::atomic<bool> listener_done{false};
  std::string host;  // as bound, for address()
  int port = 0;
};

void HttpServer::Impl::route() {
  server.set_pre_routing_handler(
      [this](const httplib::Request& request, httplib::Response& response) {
        if (request.method != "GET" && request.method != "HEAD") {
          response.status = 405;
          response.set_header("Allow", "GET, HEAD");
          response.set_content(
              fmt::format("method {} not allowed: this server answers GET only\n", request.method),
              kTextContentType);
          return httplib::Server::HandlerResponse::Handled;
        }
        bool known = request.path == "/" || request.path == "/health" ||
                     request.path == "/metrics" || request.path == "/v1/status" ||
                     (request.path == "/v1/backups" && options.list_backups);
        if (!known) {
          response.status = 404;
          response.set_content(
              std::string("not found; this server answers GET /, /health, /metrics, /v1/status") +
                  (options.list_backups ? ", /v1/backups\n" : "\n"),
              kTextContentType);
          return httplib::Server::HandlerResponse::Handled;
        }
        return httplib::Server::HandlerResponse::Unhandled;
      });

  server.Get("/health", [this](const httplib::Request&, httplib::Response& response) {
    HealthAnswer health = evaluate_health(state.snapshot(), Clock::now(), options.health_max_age);
    response.status = health.status;
    response.set_content(health.body, kTextContentType);
  });
  server.Get("/metrics", [this](const httplib::Request&, httplib::Response& response) {
    Snapshot snapshot = state.snapshot();
    HealthAnswer health = evaluate_health(snapshot, Clock::now(), options.health_max_age);
    response.set_content(render_metrics(snapshot, health), kMetricsContentType);
  });
  server.Get("/v1/status", [this](const httplib::Request&, httplib::Response& response) {
    Snapshot snapshot = state.snapshot();
    auto now = Clock::now();
    HealthAnswer health = evaluate_health(snapshot, now, options.health_max_age);
    response.set_content(render_status(snapshot, health, options.health_max_age, now),
                         kJsonContentType);
  });
  server.Get("/", [this](const httplib::Request&, httplib::Response& response) {
    std::optional<Result<BackupListing>> backups;
    if (options.list_backups)
      backups = options.list_backups();
    // After listing, which may have taken a while: the status as of the answer.
    Snapshot snapshot = state.snapshot();
    auto now = Clock::now();
    HealthAnswer health = evaluate_health(snapshot, now, options.health_max_age);
    response.set_content(render_page(snapshot, health, options.health_max_age, now, backups),
                         kPageContentType);
  });
  server.Get("/v1/backups", [this](const httplib::Request&, httplib::Response& response) {
    Result<BackupListing> listing = options.list_backups();
    if (!listing.ok()) {
      response.status = 500;
      nlohmann::json error = {{"error", listing.error().message()}};
      response.set_content(
          error.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n",
          kJsonContentType);
      return;
    }
    response.set_content(render_backup_listing(*listing) + "\n", kJsonContentType);
  });

  server.set_exception_handler([](const httplib::Request& request, httplib::Response& response,
                                  const std::exception_ptr& error) {
    std::string what = "unknown exception";
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& exception) {
      what = exception.what();
    } catch (...) {
    }
    log::error("HTTP server: GET {}: {}", request.path, what);
    response.status = 500;
    response.set_content("internal error; see the daemon's log\n", kTextContentType);
  });
  server.set_logger([](const httplib::Request& request, const httplib::Response& response) {
    log::debug("HTTP {} {} {}", request.method, request.path, response.status);
  });
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() {
  stop();
}

Result<std::unique_ptr<HttpServer>> HttpServer::start(std::string_view address, const State& state,
                                                      HttpServerOptions options) {
  CSNAP_ASSIGN_OR_RETURN(ListenAddress listen, parse_listen_address(address));

  auto impl = std::make_unique<Impl>(state, std::move(options));
  httplib::Server& server = impl->server;
  server.new_task_queue = [max_workers = impl->options.max_workers] {
    return new OnDemandWorkers(max_workers, kWorkerIdleExit);
  };
  server.set_socket_options(configure_listen_socket);
  server.set_keep_alive_max_count(kKeepAliveMaxRequests);
  server.set_keep_alive_timeout(kKeepAliveSeconds);
  server.set_read_timeout(kReadWriteTimeoutSeconds);
  server.set_write_timeout(kReadWriteTimeoutSeconds);
  server.set_payload_max_length(std::size_t{64} * 1024);
  impl->route();

  // ":port" listens on IPv6 and IPv4 through one dual-stack socket, or on IPv4 alone where the
  // machine has no IPv6.
  std::vector<std::pair<std::string, int>> candidates;
  if (listen.host.empty())
    candidates = {{"::", AF_INET6}, {"0.0.0.0", AF_INET}};
  else
    candidates = {{listen.host, AF_UNSPEC}};

  int bind_errno = 0;
  for (const auto& [host, family] : candidates) {
    server.set_address_family(family);
    errno = 0;
    int port = listen.port == 0 ? server.bind_to_any_port(host)
                                : (server.bind_to_port(host, listen.port) ? listen.port : -1);
    bind_errno = errno;
    if (port > 0) {
      impl->host = host;
      impl->port = port;
      break;
    }
  }
  if (impl->port == 0) {
    std::string reason;
    switch (bind_errno) {
      case EADDRINUSE:
        reason = "the port is in use (another consul-snapshot daemon, or another program?)";
        break;
      case EACCES:
        reason = "permission denied (ports below 1024 need privileges)";
        break;
      case EADDRNOTAVAIL:
        reason = "the address is not one of this machine's";
        break;
      default:
        reason = "the address is not one of this machine's, or does not resolve";
        if (bind_errno != 0)
          reason += fmt::format(" ({})", std::strerror(bind_errno));
    }
    return Error(ErrorKind::unavailable,
                 fmt::format("--http-addr {}: cannot listen: {}; choose another address with "
                             "--http-addr (e.g. 127.0.0.1:5002)",
                             address, reason));
  }

  Impl* raw = impl.get();
  raw->listener = std::thread([raw] {
    raw->server.listen_after_bind();
    raw->listener_done = true;
  });
  // stop() only takes effect once the listener runs; wait for that (it takes microseconds) so
  // that a stop() right after start() cannot leave the thread blocked in accept().
  while (!raw->server.is_running() && !raw->listener_done)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  if (raw->listener_done) {
    raw->listener.join();
    return Error(
        ErrorKind::internal,
        fmt::format("--http-addr {}: the HTTP server stopped right after it started", address));
  }
  log::info("HTTP server listening on {} (/, /health, /metrics, /v1/status)",
            join_host_port(raw->host, raw->port));
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

void HttpServer::stop() {
  if (!impl_ || !impl_->listener.joinable())
    return;
  impl_->server.stop();
  impl_->listener.join();
}

int HttpServer::port() const {
  return impl_->port;
}

std::string HttpServer::address() const {
  return join_host_port(impl_->host, impl_->port);
}

}  // namespace csnap::daemon
