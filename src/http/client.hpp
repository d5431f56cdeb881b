#pragma once
// An HTTP client over libcurl: keep-alive, TLS that verifies by default, retries of transient
// failures with backoff, errors classified by kind. One `Client` per thread.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/retry.hpp"
#include "util/io.hpp"
#include "util/result.hpp"
#include "util/secret.hpp"

namespace csnap::http {

// "consul-snapshot/<version>".
std::string default_user_agent();

struct TlsOptions {
  bool verify = true;  // verify the peer's certificate and host name
  std::string ca_file{};
  std::string ca_path{};
  std::string client_cert{};
  std::string client_key{};
  // Verifies the certificate against (and sends SNI for) this name instead of the URL's host.
  std::string server_name{};
};

// Text appended to errors of one sort, so the layer above can say which setting to change.
struct ErrorHints {
  std::string unreachable{};  // cannot connect or resolve
  std::string tls{};          // certificate verification or TLS handshake failed
};

struct ClientOptions {
  std::string base_url{};          // "http://127.0.0.1:8500"; only scheme and authority are used
  std::string unix_socket_path{};  // connect here instead (base_url still gives scheme and Host)
  TlsOptions tls{};
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds request_timeout{60000};  // per attempt; 0 = none
  // An attempt that moves less than one byte a second for this long (a stalled connection, a
  // server that stopped answering) fails as timed out; 0 = no check. Whole seconds.
  std::chrono::milliseconds stall_timeout{30000};
  std::string user_agent = default_user_agent();
  Secret basic_auth{};  // "user:password", sent as HTTP basic authentication
  RetryPolicy retry{};
  ErrorHints hints{};
  // For tests: how to wait, what time it is and a uniform random number in [0, 1).
  std::function<void(std::chrono::milliseconds)> sleep{};
  std::function<std::chrono::steady_clock::time_point()> now{};
  std::function<double()> random{};
};

// Response headers: names compare case-insensitively; the last value of a repeated name wins.
class Headers {
 public:
  void add(std::string name, std::string value);
  std::optional<std::string_view> get(std::string_view name) const;
  void clear() { entries_.clear(); }
  const std::vector<std::pair<std::string, std::string>>& entries() const { return entries_; }

 private:
  std::vector<std::pair<std::string, std::string>> entries_;
};

struct Request {
  std::string method = "GET";
  std::string target{};  // path and query: "/v1/kv/a%20b?recurse"
  std::vector<std::pair<std::string, std::string>> headers{};
  std::vector<std::pair<std::string, Secret>> secret_headers{};  // never logged or printed
  std::string body{};
  std::optional<std::chrono::milliseconds> timeout{};  // overrides request_timeout; 0 = none
  // Whether the request may be sent again after it may have reached the server (a 5xx, a reset,
  // a timeout). Unset: by method (`is_idempotent_method`). A caller that knows better says so: a
  // PUT that creates a new object each time is not idempotent. Either way a request is retried
  // when it cannot have reached the server (no connection) and after a 429.
  std::optional<bool> idempotent{};
  std::optional<int> max_attempts{};  // overrides retry.max_attempts (at least 1)
};

struct Response {
  long status = 0;
  Headers headers{};
  std::string body{};  // empty for a 2xx response that was streamed to a sink

  bool ok() const { return status >= 200 && status < 300; }
};

struct StreamOptions {
  // Resets the sink to empty so that a request may be retried after bytes reached it. Without
  // it a request is only retried while the sink has received nothing.
  std::function<Status()> rewind{};
};

// The error for a final non-2xx `response`: "GET /v1/kv/a: 403 Forbidden: <server's text>".
Error status_error(const Request& request, const Response& response);

class Client {
 public:
  static Result<std::unique_ptr<Client>> create(ClientOptions options);
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  ~Client();

  // Sends `request`, retrying transient failures (only those that cannot have applied it twice,
  // see `Request::idempotent`); any final HTTP status is a Response (use `status_error` for
  // non-2xx). Errors are failures to get a response at all.
  Result<Response> send(const Request& request);

  // Like `send`, but a 2xx body goes to `sink` (not finished here); a non-2xx body is captured
  // in the Response as text.
  Result<Response> send_streaming(const Request& request, ByteSink& sink,
                                  const StreamOptions& options = {});

  // Like `send`, and a non-2xx final status is an error.
  Result<Response> send_ok(const Request& request);

  const ClientOptions& options() const { return options_; }
  // The URL a target is sent to, without credentials: for messages.
  std::string url_for(std::string_view target) const;

 private:
  Client(ClientOptions options, void* handle, std::string base_url, std::string connect_to);
  Result<Response> execute(const Request& request, ByteSink* sink, const StreamOptions& stream);

  ClientOptions options_;
  void* handle_;            // CURL*
  std::string base_url_;    // scheme://host[:port] actually put in URLs
  std::string connect_to_;  // CURLOPT_CONNECT_TO entry when tls.server_name is set
};

}  // namespace csnap::http
