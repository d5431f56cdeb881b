#pragma once
// The daemon's HTTP server: GET / (a web page for people, see web_page.hpp), GET /health (the
// original tool's health check), GET /metrics (Prometheus text format), GET /v1/status (JSON)
// and, when the daemon supplies it, GET /v1/backups. Other paths answer 404, other methods 405.
// Answers are computed from the shared State on every request; the server keeps nothing of its own.
// Idle or slow connections cannot starve /health: workers start as connections arrive (up to
// HttpServerOptions::max_workers), and a connection that sends nothing is closed after a short
// keep-alive wait.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "daemon/backup_catalog.hpp"
#include "daemon/health.hpp"
#include "daemon/state.hpp"
#include "util/result.hpp"

namespace csnap::daemon {

struct HttpServerOptions {
  // /health (and the health parts of /metrics and /v1/status) answers 500 once the last backup is
  // older than this.
  std::chrono::seconds health_max_age{3600};
  // The backups in the storage for GET /v1/backups (as render_backup_listing writes them) and
  // GET /; an error becomes a 500 with the error's message. Called on a server thread, so it must
  // be thread-safe, and quick: give it a BackupCatalog's current(), not a storage listing. Unset:
  // /v1/backups is 404 and the page has no list of backups.
  std::function<Result<BackupListing>()> list_backups;
  // At most this many requests are served at once; workers start on demand and end when idle.
  std::size_t max_workers = 32;
};

// A parsed --http-addr: ":5001" (every interface, IPv6 and IPv4), "127.0.0.1:5001",
// "[::1]:5001", "localhost:5001". Port 0 picks a free port.
struct ListenAddress {
  std::string host;  // "" for every interface; IPv6 literals without brackets
  int port = 0;
};

// Parses `text` as above; an invalid_argument error naming --http-addr otherwise.
Result<ListenAddress> parse_listen_address(std::string_view text);

// The JSON document of GET /v1/status for `snapshot` at `now`, with `health` as evaluate_health
// computed it for the same snapshot and time.
std::string render_status(const Snapshot& snapshot, const HealthAnswer& health,
                          std::chrono::seconds health_max_age, Clock::time_point now);

class HttpServer {
 public:
  // Binds `address` (an --http-addr value) and serves on a listener thread and workers started
  // on demand until stop(). `state` must outlive the server. Errors name --http-addr and the
  // address: invalid form (invalid_argument), or the address cannot be bound (unavailable: in use,
  // not local...).
  static Result<std::unique_ptr<HttpServer>> start(std::string_view address, const State& state,
                                                   HttpServerOptions options = {});

  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;
  ~HttpServer();  // stop()s

  // Closes the listening socket, finishes the requests in progress and joins the threads.
  // Idempotent.
  void stop();

  // The bound port (the chosen one when the address asked for port 0).
  int port() const;
  // Where the server listens, e.g. "127.0.0.1:5001", "[::1]:5001", "[::]:5001", "0.0.0.0:5001".
  std::string address() const;

 private:
  struct Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace csnap::daemon
