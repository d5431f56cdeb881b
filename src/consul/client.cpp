#include "consul/client.hpp"

#include <atomic>
#include <cctype>
#include <charconv>
#include <optional>

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include "http/url.hpp"
#include "util/base64.hpp"
#include "util/file.hpp"
#include "util/log.hpp"
#include "util/text.hpp"

namespace csnap::consul {
namespace {

constexpr std::string_view kTokenHint =
    "set CONSUL_HTTP_TOKEN or CONSUL_HTTP_TOKEN_FILE to a token with this permission";

// Checks that `path` (named by `variable`) is a readable file, or a directory when `directory`.
Status check_readable(std::string_view variable, const std::string& path, bool directory) {
  if (path.empty())
    return {};
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | (directory ? O_DIRECTORY : 0));
  if (fd < 0) {
    auto error = errno_error(fmt::format("{} {}", variable, path));
    return Error(ErrorKind::invalid_argument, error.message());
  }
  ::close(fd);
  return {};
}

struct ParsedAddress {
  std::string base_url;
  std::string unix_socket;
};

Result<ParsedAddress> parse_address(const Settings& settings) {
  std::string_view address = trim(settings.address);
  auto bad = [&](std::string_view why) {
    return Error(ErrorKind::invalid_argument,
                 fmt::format("CONSUL_HTTP_ADDR {:?}: {} (use host:port, http://host:port, "
                             "https://host:port or unix:///path)",
                             settings.address, why));
  };
  if (address.empty())
    return bad("empty");
  const bool ssl = settings.ssl.value_or(false);
  if (address.starts_with("unix://")) {
    auto path = address.substr(7);
    if (path.empty())
      return bad("no socket path");
    return ParsedAddress{ssl ? "https://localhost" : "http://localhost", std::string(path)};
  }
  auto url = http::parse_url(address, {.default_scheme = ssl ? "https" : "http"});
  if (!url.ok())
    return bad(url.error().message());
  if (url->path != "/" || !url->query.empty() || url->has_fragment || url->has_credentials)
    return bad("only a host and a port are allowed");
  // CONSUL_HTTP_SSL=true upgrades an http:// address, as Consul's own client does.
  if (ssl)
    url->scheme = "https";
  return ParsedAddress{url->origin(), {}};
}

// Streams a response into a spool file; can start over for a retry.
class SpoolSink final : public ByteSink {
 public:
  static Result<SpoolSink> create(const SpoolFile& spool) {
    CSNAP_ASSIGN_OR_RETURN(auto file, spool.rewrite());
    return SpoolSink(spool, std::move(file));
  }
  using ByteSink::write;
  Status write(std::span<const std::byte> data) override { return file_.write(data); }
  Status finish() override { return file_.finish(); }
  Status rewind() {
    CSNAP_ASSIGN_OR_RETURN(file_, spool_->rewrite());
    return {};
  }

 private:
  SpoolSink(const SpoolFile& spool, FileSink file) : spool_(&spool), file_(std::move(file)) {}
  const SpoolFile* spool_;
  FileSink file_;
};

// Once per process (a command makes several clients): what CONSUL_HTTP_SSL_VERIFY=false costs.
void warn_unverified_tls() {
  static std::atomic<bool> warned{false};
  if (warned.exchange(true))
    return;
  log::warn(
      "CONSUL_HTTP_SSL_VERIFY=false: Consul's TLS certificate is not verified, so anyone on the "
      "network path can pose as Consul, read the ACL token and the KV store, and feed this tool "
      "a forged cluster; set CONSUL_CACERT to the CA that signed Consul's certificate instead");
}

std::uint64_t header_number(const http::Headers& headers, std::string_view name) {
  auto text = headers.get(name);
  if (!text)
    return 0;
  std::uint64_t value = 0;
  std::from_chars(text->data(), text->data() + text->size(), value);
  return value;
}

std::string kv_target(std::string_view key) {
  return fmt::format("/v1/kv/{}", http::percent_encode_path(key));
}

std::optional<nlohmann::json> parse_json(const std::string& text) {
  auto json = nlohmann::json::parse(text, nullptr, false);
  if (json.is_discarded())
    return std::nullopt;
  return json;
}

std::uint64_t json_uint(const nlohmann::json& object, const char* name) {
  auto it = object.find(name);
  if (it == object.end() || !it->is_number_unsigned())
    return 0;
  return it->get<std::uint64_t>();
}

}  // namespace

bool request_is_idempotent(std::string_view method, std::string_view target) {
  if (!http::is_idempotent_method(method))
    return false;
  if (method != "PUT")
    return true;
  auto path = target.substr(0, target.find('?'));
  while (path.size() > 1 && path.ends_with('/'))
    path.remove_suffix(1);
  for (std::string_view creates :
       {"/v1/session/create", "/v1/acl/policy", "/v1/acl/role", "/v1/acl/token",
        "/v1/acl/auth-method", "/v1/acl/binding-rule", "/v1/acl/bootstrap", "/v1/acl/login"}) {
    if (path == creates)
      return false;
  }
  return !(path.starts_with("/v1/acl/token/") && path.ends_with("/clone"));
}

bool key_fits_url(std::string_view key) {
  if (key.starts_with('/'))
    return false;
  for (char ch : key) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c >= 0x7F)
      return false;
  }
  std::size_t start = 0;
  while (start <= key.size()) {
    auto end = key.find('/', start);
    if (end == std::string_view::npos)
      end = key.size();
    auto segment = key.substr(start, end - start);
    if (segment == "." || segment == "..")
      return false;
    // An empty segment between two slashes is "//"; a trailing '/' is fine.
    if (segment.empty() && end < key.size() && start > 0)
      return false;
    start = end + 1;
  }
  return true;
}

Result<std::unique_ptr<Client>> Client::create(const Settings& settings) {
  CSNAP_ASSIGN_OR_RETURN(auto address, parse_address(settings));
  CSNAP_TRY(check_readable("CONSUL_CACERT", settings.ca_file, false));
  CSNAP_TRY(check_readable("CONSUL_CAPATH", settings.ca_path, true));
  CSNAP_TRY(check_readable("CONSUL_CLIENT_CERT", settings.client_cert, false));
  CSNAP_TRY(check_readable("CONSUL_CLIENT_KEY", settings.client_key, false));
  if (settings.client_cert.empty() != settings.client_key.empty()) {
    return Error(ErrorKind::invalid_argument,
                 "CONSUL_CLIENT_CERT and CONSUL_CLIENT_KEY must be set together");
  }
  Settings resolved = settings;
  resolved.address = std::string(trim(settings.address));
  if (resolved.token.empty() && !settings.token_file.empty()) {
    CSNAP_TRY(check_readable("CONSUL_HTTP_TOKEN_FILE", settings.token_file, false));
    auto text = read_file(settings.token_file);
    if (!text.ok()) {
      return Error(ErrorKind::invalid_argument,
                   fmt::format("CONSUL_HTTP_TOKEN_FILE {}: {}", settings.token_file,
                               text.error().message()));
    }
    resolved.token = Secret(std::string(trim(*text)));
    if (resolved.token.empty()) {
      return Error(
          ErrorKind::invalid_argument,
          fmt::format("CONSUL_HTTP_TOKEN_FILE {}: the file is empty", settings.token_file));
    }
    // Like the token from the environment (cli/app.cpp): no later log line shows it.
    log::register_secret(resolved.token.reveal());
  }

  if (!settings.ssl_verify)
    warn_unverified_tls();

  http::ClientOptions options;
  options.base_url = address.base_url;
  options.unix_socket_path = address.unix_socket;
  options.tls.verify = settings.ssl_verify;
  options.tls.ca_file = settings.ca_file;
  options.tls.ca_path = settings.ca_path;
  options.tls.client_cert = settings.client_cert;
  options.tls.client_key = settings.client_key;
  options.tls.server_name = settings.tls_server_name;
  options.request_timeout = settings.request_timeout;
  options.basic_auth = settings.http_auth;
  options.retry.max_attempts = std::max(settings.max_attempts, 1);
  options.hints.unreachable =
      fmt::format("is Consul running at {}? CONSUL_HTTP_ADDR sets the address", resolved.address);
  options.hints.tls =
      "set CONSUL_CACERT (or CONSUL_CAPATH) to the CA that signed Consul's certificate, "
      "CONSUL_TLS_SERVER_NAME to the name in it, or CONSUL_HTTP_SSL_VERIFY=false";
  CSNAP_ASSIGN_OR_RETURN(auto http, http::Client::create(std::move(options)));
  return std::unique_ptr<Client>(new Client(std::move(resolved), std::move(http)));
}

Client::Client(Settings settings, std::unique_ptr<http::Client> http)
    : settings_(std::move(settings)), http_(std::move(http)) {}

http::Request Client::request(std::string method, std::string target, std::string body,
                              const RequestOptions& options) const {
  http::Request request;
  request.idempotent = options.idempotent.value_or(request_is_idempotent(method, target));
  request.method = std::move(method);
  request.target = std::move(target);
  request.body = std::move(body);
  request.timeout = options.timeout;
  request.max_attempts = options.max_attempts;
  if (!settings_.token.empty())
    request.secret_headers.emplace_back("X-Consul-Token", settings_.token);
  return request;
}

Error Client::error_for(const http::Request& request, const http::Response& response) const {
  auto error = http::status_error(request, response);
  if (response.status == 401 || response.status == 403) {
    std::string message = error.message();
    message += settings_.token.empty() ? fmt::format(" (no token is set: {})", kTokenHint)
                                       : fmt::format(" ({})", kTokenHint);
    return Error(error.kind(), std::move(message));
  }
  return error;
}

Result<http::Response> Client::send(const http::Request& request, ByteSink* sink,
                                    const http::StreamOptions& stream) {
  auto response =
      sink == nullptr ? http_->send(request) : http_->send_streaming(request, *sink, stream);
  if (!response.ok())
    return std::move(response.error().add_context("talking to Consul"));
  return response;
}

Result<http::Response> Client::send_ok(const http::Request& request) {
  CSNAP_ASSIGN_OR_RETURN(auto response, send(request));
  if (!response.ok())
    return error_for(request, response);
  return response;
}

Result<nlohmann::json> Client::get_json(std::string target) {
  auto req = request("GET", std::move(target));
  CSNAP_ASSIGN_OR_RETURN(auto response, send_ok(req));
  auto json = parse_json(response.body);
  if (!json) {
    return Error(ErrorKind::corrupt, fmt::format("GET {}: the response is not JSON", req.target));
  }
  return std::move(*json);
}

Result<KvListing> Client::kv_list(std::string_view prefix, const std::filesystem::path& spool_dir,
                                  const std::function<Status(KvEntry&&)>& on_entry) {
  CSNAP_ASSIGN_OR_RETURN(auto spool, SpoolFile::create(spool_dir));
  CSNAP_ASSIGN_OR_RETURN(auto sink, SpoolSink::create(spool));
  auto req = request("GET", kv_target(prefix) + "?recurse");
  http::StreamOptions stream{.rewind = [&sink] { return sink.rewind(); }};
  CSNAP_ASSIGN_OR_RETURN(auto response, send(req, &sink, stream));
  CSNAP_TRY(sink.finish());
  KvListing listing;
  listing.index = header_number(response.headers, "X-Consul-Index");
  auto filtered = response.headers.get("X-Consul-Results-Filtered-By-Acls");
  listing.filtered_by_acls = filtered && *filtered == "true";
  if (response.status == 404 && trim(response.body).empty())
    return listing;
  if (!response.ok())
    return error_for(req, response);
  CSNAP_ASSIGN_OR_RETURN(auto source, spool.read());
  CSNAP_ASSIGN_OR_RETURN(listing.entries, parse_kv_entries(source, on_entry));
  return listing;
}

Result<SnapshotDownload> Client::snapshot_save(ByteSink& sink, const SnapshotOptions& options) {
  auto req = request("GET", options.stale ? "/v1/snapshot?stale" : "/v1/snapshot");
  // Counts what reached `sink` in the attempt that succeeded.
  class CountingSink final : public ByteSink {
   public:
    explicit CountingSink(ByteSink& inner) : inner_(inner) {}
    using ByteSink::write;
    Status write(std::span<const std::byte> data) override {
      bytes += data.size();
      return inner_.write(data);
    }
    Status finish() override { return inner_.finish(); }
    std::uint64_t bytes = 0;

   private:
    ByteSink& inner_;
  };
  CountingSink counted(sink);
  http::StreamOptions stream;
  if (options.rewind) {
    stream.rewind = [&]() -> Status {
      counted.bytes = 0;
      return options.rewind();
    };
  }
  CSNAP_ASSIGN_OR_RETURN(auto response, send(req, &counted, stream));
  if (response.status == 403) {
    auto error = error_for(req, response);
    return Error(ErrorKind::permission_denied,
                 fmt::format("{}; a Raft snapshot needs a token whose policy grants "
                             "acl = \"write\" (Consul asks the same for saving and restoring one)",
                             error.message()));
  }
  if (!response.ok())
    return error_for(req, response);
  return SnapshotDownload{.index = header_number(response.headers, "X-Consul-Index"),
                          .bytes = counted.bytes};
}

Result<std::optional<KvEntry>> Client::kv_get(std::string_view key) {
  if (!key_fits_url(key)) {
    TxnOp op{TxnVerb::get, std::string(key), {}, 0};
    auto result = txn_json(std::span(&op, 1));
    if (!result.ok()) {
      if (result.error().kind() == ErrorKind::conflict &&
          result.error().message().find("doesn't exist") != std::string::npos) {
        return std::optional<KvEntry>();
      }
      return std::move(result).error();
    }
    const auto& results = (*result)["Results"];
    if (!results.is_array() || results.empty() || !results[0].contains("KV")) {
      return Error(ErrorKind::corrupt, "txn get: no result");
    }
    const auto& kv = results[0]["KV"];
    KvEntry entry;
    entry.key = kv.value("Key", std::string());
    if (kv.contains("Value") && kv["Value"].is_string()) {
      auto decoded = base64::decode(kv["Value"].get<std::string>());
      if (!decoded)
        return Error(ErrorKind::corrupt, "txn get: Value is not base64");
      entry.value = std::move(*decoded);
    }
    entry.flags = json_uint(kv, "Flags");
    entry.create_index = json_uint(kv, "CreateIndex");
    entry.modify_index = json_uint(kv, "ModifyIndex");
    entry.lock_index = json_uint(kv, "LockIndex");
    entry.session = kv.value("Session", std::string());
    return std::optional<KvEntry>(std::move(entry));
  }
  auto req = request("GET", kv_target(key));
  CSNAP_ASSIGN_OR_RETURN(auto response, send(req));
  if (response.status == 404)
    return std::optional<KvEntry>();
  if (!response.ok())
    return error_for(req, response);
  MemorySource source(response.body);
  std::optional<KvEntry> found;
  CSNAP_TRY(parse_kv_entries(source, [&](KvEntry&& entry) -> Status {
    if (entry.key == key)
      found = std::move(entry);
    return {};
  }));
  return found;
}

Status Client::kv_put(std::string_view key, std::string_view value, std::uint64_t flags,
                      const KvPutOptions& options) {
  if (!key_fits_url(key)) {
    auto op = options.cas ? TxnOp::cas(std::string(key), std::string(value), flags, *options.cas)
                          : TxnOp::set(std::string(key), std::string(value), flags);
    return txn(std::span(&op, 1));
  }
  std::string target = fmt::format("{}?flags={}", kv_target(key), flags);
  if (options.cas)
    target += fmt::format("&cas={}", *options.cas);
  auto req = request("PUT", std::move(target), std::string(value));
  CSNAP_ASSIGN_OR_RETURN(auto response, send_ok(req));
  if (trim(response.body) != "true") {
    if (options.cas) {
      return Error(ErrorKind::conflict,
                   fmt::format("PUT {}: Consul did not write the key: its ModifyIndex is no "
                               "longer {}",
                               req.target, *options.cas));
    }
    return Error(ErrorKind::conflict, fmt::format("PUT {}: Consul did not write the key ({})",
                                                  req.target, trim(response.body)));
  }
  return {};
}

Status Client::kv_delete(std::string_view key, bool recurse) {
  if (!key_fits_url(key)) {
    auto op = recurse ? TxnOp::remove_tree(std::string(key)) : TxnOp::remove(std::string(key));
    return txn(std::span(&op, 1));
  }
  auto req = request("DELETE", kv_target(key) + (recurse ? "?recurse" : ""));
  CSNAP_TRY(send_ok(req));
  return {};
}

Result<Client::TxnAnswer> Client::send_txn(std::span<const TxnOp> ops) {
  for (const auto& op : ops)
    CSNAP_TRY(check_txn_key(op.key));
  auto req = request("PUT", "/v1/txn", txn_body(ops));
  CSNAP_ASSIGN_OR_RETURN(auto response, send(req));
  TxnAnswer answer;
  if (response.status == 409) {
    auto json = parse_json(response.body);
    if (json && json->is_object() && json->contains("Errors") && (*json)["Errors"].is_array()) {
      for (const auto& error : (*json)["Errors"]) {
        if (!error.is_object())
          continue;
        // An index that is not a number names no op (the caller then cannot drop it).
        auto index = error.value("OpIndex", nlohmann::json(0));
        auto what = error.value("What", nlohmann::json());
        answer.failures.push_back(
            {index.is_number_unsigned() ? index.get<std::size_t>() : ops.size(),
             what.is_string() ? what.get<std::string>() : std::string("(no reason given)")});
      }
    }
    if (answer.failures.empty()) {
      return Error(ErrorKind::conflict,
                   fmt::format("PUT /v1/txn: 409 rolled back: {}", trim(response.body)));
    }
    return answer;
  }
  if (!response.ok())
    return error_for(req, response);
  auto json = parse_json(response.body);
  if (!json)
    return Error(ErrorKind::corrupt, "PUT /v1/txn: the response is not JSON");
  answer.body = std::move(*json);
  return answer;
}

Result<nlohmann::json> Client::txn_json(std::span<const TxnOp> ops) {
  CSNAP_ASSIGN_OR_RETURN(auto answer, send_txn(ops));
  if (answer.failures.empty())
    return std::move(answer.body);
  std::string details;
  for (const auto& failure : answer.failures) {
    if (!details.empty())
      details += "; ";
    if (failure.op_index < ops.size()) {
      const auto& op = ops[failure.op_index];
      details += fmt::format("op {} ({} {:?}): {}", failure.op_index,
                             writes_value(op.verb) ? "set" : "on", op.key, failure.what);
    } else {
      details += fmt::format("op {}: {}", failure.op_index, failure.what);
    }
  }
  return Error(ErrorKind::conflict, fmt::format("PUT /v1/txn: 409 rolled back: {}", details));
}

Status Client::txn(std::span<const TxnOp> ops) {
  if (ops.empty())
    return {};
  CSNAP_TRY(txn_json(ops));
  return {};
}

Result<TxnOutcome> Client::txn_outcome(std::span<const TxnOp> ops) {
  if (ops.empty())
    return TxnOutcome{};
  CSNAP_ASSIGN_OR_RETURN(auto answer, send_txn(ops));
  return TxnOutcome{std::move(answer.failures)};
}

Result<nlohmann::json> Client::agent_self() {
  return get_json("/v1/agent/self");
}

Result<std::string> Client::leader() {
  CSNAP_ASSIGN_OR_RETURN(auto json, get_json("/v1/status/leader"));
  if (!json.is_string()) {
    return Error(ErrorKind::corrupt, "GET /v1/status/leader: the response is not a string");
  }
  return json.get<std::string>();
}

Result<nlohmann::json> Client::token_self() {
  return get_json("/v1/acl/token/self");
}

Result<JsonResponse> Client::request_json(std::string_view method, std::string target,
                                          std::string body, const RequestOptions& options) {
  auto req = request(std::string(method), std::move(target), std::move(body), options);
  if (!req.body.empty())
    req.headers.emplace_back("Content-Type", "application/json");
  CSNAP_ASSIGN_OR_RETURN(auto response, send_ok(req));
  JsonResponse result;
  result.index = header_number(response.headers, "X-Consul-Index");
  auto filtered = response.headers.get("X-Consul-Results-Filtered-By-Acls");
  result.filtered_by_acls = filtered && *filtered == "true";
  if (trim(response.body).empty())
    return result;
  auto json = parse_json(response.body);
  if (!json) {
    return Error(ErrorKind::corrupt,
                 fmt::format("{} {}: the response is not JSON", req.method, req.target));
  }
  result.body = std::move(*json);
  return result;
}

TxnTransport Client::txn_transport() {
  return TxnTransport{
      .txn = [this](std::span<const TxnOp> ops) { return txn(ops); },
      .put =
          [this](const TxnOp& op) {
            KvPutOptions options;
            if (checks_index(op.verb))
              options.cas = op.index;
            return kv_put(op.key, op.value, op.flags, options);
          },
  };
}

}  // namespace csnap::consul
