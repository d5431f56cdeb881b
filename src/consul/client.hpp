#pragma once
// The Consul HTTP API: KV, transactions, agent, status and ACL token reads. Settings follow the
// Consul CLI's CONSUL_* environment variables; errors name the variable to change.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "consul/kv.hpp"
#include "consul/txn.hpp"
#include "http/client.hpp"
#include "util/result.hpp"
#include "util/secret.hpp"

namespace csnap::consul {

struct Settings {
  std::string address =
      "127.0.0.1:8500";           // CONSUL_HTTP_ADDR: host:port, http://, https://, unix://
  Secret token{};                 // CONSUL_HTTP_TOKEN
  std::string token_file{};       // CONSUL_HTTP_TOKEN_FILE: used when `token` is empty
  Secret http_auth{};             // CONSUL_HTTP_AUTH "user:pass": basic authentication
  std::optional<bool> ssl{};      // CONSUL_HTTP_SSL: https for a host:port address
  bool ssl_verify = true;         // CONSUL_HTTP_SSL_VERIFY
  std::string ca_file{};          // CONSUL_CACERT
  std::string ca_path{};          // CONSUL_CAPATH
  std::string client_cert{};      // CONSUL_CLIENT_CERT
  std::string client_key{};       // CONSUL_CLIENT_KEY
  std::string tls_server_name{};  // CONSUL_TLS_SERVER_NAME
  std::chrono::milliseconds request_timeout{60000};
  int max_attempts = 4;
};

// A JSON answer from Consul: the parsed body (null when empty) and the headers that matter.
struct JsonResponse {
  nlohmann::json body{};
  std::uint64_t index = 0;        // X-Consul-Index
  bool filtered_by_acls = false;  // X-Consul-Results-Filtered-By-Acls
};

struct KvPutOptions {
  std::optional<std::uint64_t> cas{};  // check-and-set against this ModifyIndex
};

struct KvListing {
  std::uint64_t index = 0;        // X-Consul-Index
  bool filtered_by_acls = false;  // X-Consul-Results-Filtered-By-Acls
  std::uint64_t entries = 0;
};

struct SnapshotOptions {
  bool stale = false;  // ?stale: any server may answer, not only the leader
  // Empties the sink, so that the download may start over after bytes reached it; unset: it is
  // retried only while the sink has received nothing.
  std::function<Status()> rewind{};
};

struct SnapshotDownload {
  std::uint64_t index = 0;  // X-Consul-Index: the Raft index the snapshot holds
  std::uint64_t bytes = 0;
};

// How one request differs from the client's settings.
struct RequestOptions {
  std::optional<std::chrono::milliseconds> timeout{};  // per attempt, instead of request_timeout
  std::optional<int> max_attempts{};                   // instead of Settings::max_attempts
  // May it be sent again after it may have reached Consul? Unset: `request_is_idempotent`.
  std::optional<bool> idempotent{};
};

// False for the requests that Consul applies anew each time they arrive, so that a retry after a
// lost answer would act twice: POST, and the PUTs that create an object (/v1/session/create,
// /v1/acl/policy, role, token, auth-method, binding-rule without an ID, token clone, login,
// bootstrap). A PUT to an existing ID, a KV write, a /v1/txn and DELETE are idempotent.
bool request_is_idempotent(std::string_view method, std::string_view target);

// A key that a URL path can carry. Consul's router rewrites a leading '/', "//", "." and ".."
// segments and refuses (400) any character Go's unicode.IsPrint rejects (control characters,
// U+00A0, U+200D...); only printable ASCII is let through here, all else goes by /v1/txn.
bool key_fits_url(std::string_view key);

class Client {
 public:
  // Validates `settings` (address form; files exist and are readable): errors name the variable,
  // e.g. "CONSUL_CACERT /x/ca.pem: No such file or directory".
  static Result<std::unique_ptr<Client>> create(const Settings& settings);

  // Reads every entry under `prefix` and hands each to `on_entry` in key order. The response is
  // spooled to a 0600 temp file in `spool_dir` and parsed as a stream. 404 = no entries.
  Result<KvListing> kv_list(std::string_view prefix, const std::filesystem::path& spool_dir,
                            const std::function<Status(KvEntry&&)>& on_entry);
  // Streams Consul's own snapshot (GET /v1/snapshot: a gzip of a tar, as `consul snapshot save`
  // writes it) into `sink`, byte for byte; `sink` is not finished here. A token without
  // acl = "write" is ErrorKind::permission_denied, and the error says so.
  Result<SnapshotDownload> snapshot_save(ByteSink& sink, const SnapshotOptions& options = {});
  // The entry at `key`, or nothing when it does not exist.
  Result<std::optional<KvEntry>> kv_get(std::string_view key);
  // A plain PUT /v1/kv (for values too big for a transaction); via /v1/txn when `key` does not
  // fit a URL. With `options.cas`, only while the key's ModifyIndex is that (0: only while it does
  // not exist); otherwise a `conflict` error.
  Status kv_put(std::string_view key, std::string_view value, std::uint64_t flags,
                const KvPutOptions& options = {});
  Status kv_delete(std::string_view key, bool recurse);
  // One /v1/txn call; a rollback (409) is a `conflict` error listing each failed op.
  Status txn(std::span<const TxnOp> ops);
  // One /v1/txn call that reports a rollback (409) as the failed ops Consul names.
  Result<TxnOutcome> txn_outcome(std::span<const TxnOp> ops);
  Result<nlohmann::json> agent_self();
  // The leader's address from /v1/status/leader; "" when there is none.
  Result<std::string> leader();
  // /v1/acl/token/self for the token in use.
  Result<nlohmann::json> token_self();
  // Sends `method` `target` with the JSON `body` ("" = none). Any non-2xx answer is an error with
  // Consul's text (401/403 also say how to set a token); a body that is not JSON is `corrupt`.
  Result<JsonResponse> request_json(std::string_view method, std::string target,
                                    std::string body = {}, const RequestOptions& options = {});

  // A TxnBatcher transport that writes through this client.
  TxnTransport txn_transport();
  const std::string& address() const { return settings_.address; }
  const Settings& settings() const { return settings_; }

 private:
  Client(Settings settings, std::unique_ptr<http::Client> http);
  http::Request request(std::string method, std::string target, std::string body = {},
                        const RequestOptions& options = {}) const;
  Error error_for(const http::Request& request, const http::Response& response) const;
  // Sends `request` (a 2xx body to `sink` when given); a failure to get an answer says Consul.
  Result<http::Response> send(const http::Request& request, ByteSink* sink = nullptr,
                              const http::StreamOptions& stream = {});
  Result<http::Response> send_ok(const http::Request& request);
  Result<nlohmann::json> get_json(std::string target);
  Result<nlohmann::json> txn_json(std::span<const TxnOp> ops);
  struct TxnAnswer {
    nlohmann::json body{};               // committed: Consul's answer
    std::vector<TxnFailure> failures{};  // rolled back: the ops it names
  };
  Result<TxnAnswer> send_txn(std::span<const TxnOp> ops);

  Settings settings_;
  std::unique_ptr<http::Client> http_;
};

}  // namespace csnap::consul
