#include "http/client.hpp"

#include <algorithm>
#include <cctype>
#include <mutex>
#include <random>
#include <thread>

#include <curl/curl.h>
#include <fmt/format.h>

#include "http/transfer_failure.hpp"
#include "http/url.hpp"
#include "util/log.hpp"
#include "util/text.hpp"

#ifndef CSNAP_VERSION
#define CSNAP_VERSION "0.0.0"
#endif

namespace csnap::http {
namespace {

constexpr std::size_t kMaxErrorBody = std::size_t{64} * 1024;
constexpr std::size_t kMaxErrorText = 2048;

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;

bool append(Slist& list, const std::string& line) {
  curl_slist* grown = curl_slist_append(list.get(), line.c_str());
  if (grown == nullptr)
    return false;
  static_cast<void>(list.release());
  list.reset(grown);
  return true;
}

}  // namespace

std::string default_user_agent() {
  return std::string("consul-snapshot/") + CSNAP_VERSION;
}

void Headers::add(std::string name, std::string value) {
  entries_.emplace_back(std::move(name), std::move(value));
}

std::optional<std::string_view> Headers::get(std::string_view name) const {
  for (auto it = entries_.rbegin(); it != entries_.rend(); ++it) {
    if (iequals(it->first, name))
      return std::string_view(it->second);
  }
  return std::nullopt;
}

Error status_error(const Request& request, const Response& response) {
  std::string text(trim(response.body));
  if (text.size() > kMaxErrorText)
    text = text.substr(0, kMaxErrorText) + "...";
  auto phrase = reason_phrase(response.status);
  std::string message = fmt::format("{} {}: {}", request.method, request.target, response.status);
  if (!phrase.empty())
    message += fmt::format(" {}", phrase);
  if (!text.empty())
    message += fmt::format(": {}", text);
  return Error(error_kind_for_status(response.status), std::move(message));
}

namespace {

// The state of one attempt, shared with libcurl's callbacks.
struct Attempt {
  CURL* handle = nullptr;
  ByteSink* sink = nullptr;
  Response response;
  std::uint64_t bytes_to_sink = 0;
  std::optional<Error> sink_error;
  bool retryable = false;  // a failure worth another attempt (connect, timeout, reset)
  bool unsent = false;     // failed before a connection existed: the server never saw it
};

// What an attempt needs from its client.
struct Target {
  const ClientOptions& options;
  const std::string& base_url;
  const std::string& connect_to;
};

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* response = static_cast<Response*>(user);
  std::string_view line(data, size * count);
  if (line.starts_with("HTTP/")) {
    response->headers.clear();  // a new response: after "100 Continue" or a redirect
    return size * count;
  }
  auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    response->headers.add(std::string(trim(line.substr(0, colon))),
                          std::string(trim(line.substr(colon + 1))));
  }
  return size * count;
}

}  // namespace

Result<std::unique_ptr<Client>> Client::create(ClientOptions options) {
  global_init();
  auto url = parse_url(options.base_url);
  if (!url.ok()) {
    return std::move(url).error().add_context(
        fmt::format("invalid URL {}", redact_url(options.base_url)));
  }
  std::string host = url->host;
  std::string port = url->port_or_default();
  std::string base = url->origin();
  std::string connect_to;
  if (url->scheme == "https" && !options.tls.server_name.empty() &&
      options.unix_socket_path.empty()) {
    // Put the name to verify in the URL (so SNI and host verification use it) and tell libcurl
    // to connect to the real host instead.
    base = fmt::format("https://{}:{}", options.tls.server_name, port);
    connect_to = fmt::format("{}:{}:{}:{}", options.tls.server_name, port, host, port);
  }
  if (!options.sleep)
    options.sleep = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
  if (!options.now)
    options.now = [] { return std::chrono::steady_clock::now(); };
  if (!options.random) {
    options.random = [] {
      thread_local std::mt19937_64 engine{std::random_device{}()};
      return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
    };
  }
  if (options.retry.max_attempts < 1)
    options.retry.max_attempts = 1;
  CURL* handle = curl_easy_init();
  if (handle == nullptr)
    return Error(ErrorKind::internal, "curl_easy_init failed");
  return std::unique_ptr<Client>(
      new Client(std::move(options), handle, std::move(base), std::move(connect_to)));
}

Client::Client(ClientOptions options, void* handle, std::string base_url, std::string connect_to)
    : options_(std::move(options)),
      handle_(handle),
      base_url_(std::move(base_url)),
      connect_to_(std::move(connect_to)) {}

Client::~Client() {
  curl_easy_cleanup(static_cast<CURL*>(handle_));
}

std::string Client::url_for(std::string_view target) const {
  return redact_url(base_url_ + std::string(target));
}

Result<Response> Client::send(const Request& request) {
  return execute(request, nullptr, StreamOptions{});
}

Result<Response> Client::send_streaming(const Request& request, ByteSink& sink,
                                        const StreamOptions& options) {
  return execute(request, &sink, options);
}

Result<Response> Client::send_ok(const Request& request) {
  CSNAP_ASSIGN_OR_RETURN(auto response, send(request));
  if (!response.ok())
    return status_error(request, response);
  return response;
}

namespace {

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* attempt = static_cast<Attempt*>(user);
  std::size_t total = size * count;
  if (attempt->sink != nullptr) {
    long status = 0;
    curl_easy_getinfo(attempt->handle, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 200 && status < 300) {
      auto written = attempt->sink->write(std::as_bytes(std::span<const char>(data, total)));
      if (!written.ok()) {
        attempt->sink_error = std::move(written).error();
        return 0;  // aborts the transfer with CURLE_WRITE_ERROR
      }
      attempt->bytes_to_sink += total;
      return total;
    }
  }
  auto& body = attempt->response.body;
  if (attempt->sink == nullptr || body.size() < kMaxErrorBody)
    body.append(data, total);
  return total;
}

// Sets on `h` how to reach the server: timeouts, the socket, TLS, authentication. `connect_to_list`
// must outlive the transfer.
Status set_connection_options(CURL* h, const Target& target, std::chrono::milliseconds timeout,
                              Slist& connect_to_list) {
  const ClientOptions& options = target.options;
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(options.connect_timeout.count()));
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  if (options.stall_timeout.count() > 0) {
    auto seconds = std::max<long>(
        1,
        static_cast<long>(std::chrono::ceil<std::chrono::seconds>(options.stall_timeout).count()));
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, seconds);
  }
  curl_easy_setopt(h, CURLOPT_USERAGENT, options.user_agent.c_str());
  if (!options.unix_socket_path.empty()) {
    curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, options.unix_socket_path.c_str());
  }
  if (!target.connect_to.empty()) {
    if (!append(connect_to_list, target.connect_to))
      return Error(ErrorKind::internal, "out of memory");
    curl_easy_setopt(h, CURLOPT_CONNECT_TO, connect_to_list.get());
  }
  const auto& tls = options.tls;
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, tls.verify ? 1L : 0L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, tls.verify ? 2L : 0L);
  if (!tls.ca_file.empty())
    curl_easy_setopt(h, CURLOPT_CAINFO, tls.ca_file.c_str());
  if (!tls.ca_path.empty())
    curl_easy_setopt(h, CURLOPT_CAPATH, tls.ca_path.c_str());
  if (!tls.client_cert.empty())
    curl_easy_setopt(h, CURLOPT_SSLCERT, tls.client_cert.c_str());
  if (!tls.client_key.empty())
    curl_easy_setopt(h, CURLOPT_SSLKEY, tls.client_key.c_str());
  if (!options.basic_auth.empty()) {
    curl_easy_setopt(h, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
    curl_easy_setopt(h, CURLOPT_USERPWD, options.basic_auth.reveal().c_str());
  }
  return {};
}

// Sets on `h` what to send and where the answer goes (`attempt`). `headers` must outlive the
// transfer.
Status set_request_options(CURL* h, const Request& request, Attempt& attempt, Slist& headers) {
  bool appended = append(headers, "Expect:");  // no "100-continue" round trip
  for (const auto& [name, value] : request.headers) {
    appended = appended && append(headers, fmt::format("{}: {}", name, value));
  }
  for (const auto& [name, value] : request.secret_headers) {
    appended = appended && append(headers, fmt::format("{}: {}", name, value.reveal()));
  }
  if (!appended)
    return Error(ErrorKind::internal, "out of memory");
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());

  const bool has_body = !request.body.empty() || request.method == "PUT" ||
                        request.method == "POST" || request.method == "PATCH";
  if (request.method == "GET" && !has_body) {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  } else if (request.method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  if (has_body) {
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.data());
  }
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &attempt);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &attempt.response);
  return {};
}

Result<Response> attempt_once(const Target& target, const Request& request, Attempt& attempt) {
  CURL* h = attempt.handle;
  curl_easy_reset(h);  // keeps live connections for keep-alive
  char error_buffer[CURL_ERROR_SIZE] = {0};
  std::string url = target.base_url + request.target;
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error_buffer);
  Slist connect_to_list;
  Slist headers;
  auto timeout = request.timeout.value_or(target.options.request_timeout);
  Status prepared = set_connection_options(h, target, timeout, connect_to_list);
  if (prepared.ok())
    prepared = set_request_options(h, request, attempt, headers);
  CURLcode code = prepared.ok() ? curl_easy_perform(h) : CURLE_OK;
  // The handle keeps pointers to these locals: drop them before they go away.
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, nullptr);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(h, CURLOPT_CONNECT_TO, nullptr);
  if (!prepared.ok())
    return std::move(prepared).error();

  if (code == CURLE_OK) {
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &attempt.response.status);
    return std::move(attempt.response);
  }
  if (attempt.sink_error) {
    return std::move(attempt.sink_error->add_context(
        fmt::format("{} {}: writing the response", request.method, request.target)));
  }
  curl_off_t connect_time = 0;
  curl_easy_getinfo(h, CURLINFO_CONNECT_TIME_T, &connect_time);
  const auto& options = target.options;
  auto failure = classify_transfer_failure(
      {.code = code,
       .connected = connect_time != 0,
       .detail = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(code),
       .request = fmt::format("{} {}", request.method, request.target),
       .where =
           redact_url(options.unix_socket_path.empty() ? target.base_url
                                                       : "unix://" + options.unix_socket_path)},
      options.hints);
  attempt.retryable = failure.retryable;
  attempt.unsent = failure.unsent;
  return std::move(failure.error);
}

}  // namespace

Result<Response> Client::execute(const Request& request, ByteSink* sink,
                                 const StreamOptions& stream) {
  const auto start = options_.now();
  const auto& retry = options_.retry;
  const int max_attempts = std::max(1, request.max_attempts.value_or(retry.max_attempts));
  const bool idempotent = request.idempotent.value_or(is_idempotent_method(request.method));
  for (int attempt_number = 1;; ++attempt_number) {
    Attempt attempt;
    attempt.handle = static_cast<CURL*>(handle_);
    attempt.sink = sink;
    const auto attempt_start = options_.now();
    auto result = attempt_once(Target{options_, base_url_, connect_to_}, request, attempt);
    auto elapsed =
        std::chrono::duration_cast<std::chrono::milliseconds>(options_.now() - attempt_start);
    bool retryable = false;
    if (result.ok()) {
      log::debug("http: {} {} -> {} in {} ms (attempt {})", request.method, request.target,
                 result->status, elapsed.count(), attempt_number);
      // A 429 says the request was refused unread; any other status may follow its effect.
      retryable = is_retryable_status(result->status) && (idempotent || result->status == 429);
    } else {
      log::debug("http: {} {} failed in {} ms (attempt {}): {}", request.method, request.target,
                 elapsed.count(), attempt_number, result.error().message());
      retryable = attempt.retryable && (idempotent || attempt.unsent);
    }
    if (!retryable && !idempotent && attempt_number < max_attempts &&
        (result.ok() ? is_retryable_status(result->status) : attempt.retryable)) {
      log::debug("http: not retrying {} {}: it may have been applied and is not idempotent",
                 request.method, request.target);
    }
    if (!retryable || attempt_number >= max_attempts)
      return result;
    if (attempt.bytes_to_sink > 0) {
      if (!stream.rewind)
        return result;
      CSNAP_TRY_CONTEXT(stream.rewind(), fmt::format("{} {}: rewinding for a retry", request.method,
                                                     request.target));
    }
    auto delay = backoff_delay(retry, attempt_number, options_.random());
    if (options_.now() - start + delay > retry.max_total)
      return result;
    log::debug("http: retrying {} {} in {} ms", request.method, request.target, delay.count());
    options_.sleep(delay);
  }
}

}  // namespace csnap::http
