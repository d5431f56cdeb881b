#include "consul/client.hpp"

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>

#include "captured_log.hpp"
#include "util/file.hpp"

namespace csnap::consul {
namespace {

using namespace std::chrono_literals;

TEST(KeyFitsUrl, RefusesWhatConsulsRouterRewrites) {
  for (std::string_view good :
       {"a", "a/b", "a/b/", "a b", "a%b?c#d", "a/.b/c..", "a./b", "~!*'()"}) {
    EXPECT_TRUE(key_fits_url(good)) << good;
  }
  for (std::string_view bad : {"/a", "a//b", "./a", "a/./b", "a/../b", "a/.", "a/..", ".", "..",
                               "a//", "tab\t", "lf\n", "del\x7f", "nbsp\xc2\xa0", "\xe6\x97\xa5"}) {
    EXPECT_FALSE(key_fits_url(bad)) << bad;
  }
}

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "csnap-consul-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

TEST(ConsulClientCreate, ValidatesTheAddress) {
  for (std::string bad : {"", "ftp://x:1", "host:port", "host:0", "host:70000", "unix://",
                          "http://h:1/path", "u:p@h:1"}) {
    auto client = Client::create({.address = bad});
    ASSERT_FALSE(client.ok()) << bad;
    EXPECT_EQ(client.error().kind(), ErrorKind::invalid_argument);
    EXPECT_NE(client.error().message().find("CONSUL_HTTP_ADDR"), std::string::npos);
  }
  for (std::string good : {"127.0.0.1:8500", "localhost:8500", "http://h:1", "https://h:1/",
                           "unix:///tmp/consul.sock", "[::1]:8500", "consul.service"}) {
    EXPECT_TRUE(Client::create({.address = good}).ok()) << good;
  }
}

TEST(ConsulClientCreate, NamesTheVariableOfAMissingFile) {
  auto client = Client::create({.ca_file = "/nonexistent/ca.pem"});
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.error().message(),
            "CONSUL_CACERT /nonexistent/ca.pem: No such file or directory");
  client = Client::create({.ca_path = "/nonexistent"});
  ASSERT_FALSE(client.ok());
  EXPECT_TRUE(client.error().message().starts_with("CONSUL_CAPATH /nonexistent"));
  client = Client::create({.token_file = "/nonexistent/token"});
  ASSERT_FALSE(client.ok());
  EXPECT_TRUE(client.error().message().starts_with("CONSUL_HTTP_TOKEN_FILE /nonexistent/token"));
  TempDir dir;
  auto cert = dir.path() / "cert.pem";
  std::ofstream(cert) << "x";
  client = Client::create({.client_cert = cert.string()});
  ASSERT_FALSE(client.ok());
  EXPECT_NE(client.error().message().find("CONSUL_CLIENT_KEY"), std::string::npos);
  client = Client::create({.client_cert = cert.string(), .client_key = "/nonexistent/key"});
  ASSERT_FALSE(client.ok());
  EXPECT_TRUE(client.error().message().starts_with("CONSUL_CLIENT_KEY /nonexistent/key"));
}

// A fake Consul for request shapes; real behaviour is in tests/integration/consul.
class FakeConsul {
 public:
  FakeConsul() {
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~FakeConsul() {
    server_.stop();
    thread_.join();
  }
  httplib::Server& server() { return server_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  void wait() {
    while (!server_.is_running())
      std::this_thread::sleep_for(1ms);
  }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
};

TEST(ConsulClient, SendsTheTokenFromAFileAsAHeader) {
  TempDir dir;
  auto token_file = dir.path() / "token";
  std::ofstream(token_file) << "  file-token-1234\n";
  FakeConsul consul;
  std::string seen_token, seen_target;
  consul.server().Get(R"(/v1/kv/(.*))", [&](const httplib::Request& req, httplib::Response& res) {
    seen_token = req.get_header_value("X-Consul-Token");
    seen_target = req.target;
    res.status = 404;
  });
  consul.wait();
  auto client = Client::create({.address = consul.address(), .token_file = token_file.string()});
  ASSERT_TRUE(client.ok()) << client.error().message();
  auto entry = (*client)->kv_get("a b/%?#");
  ASSERT_TRUE(entry.ok()) << entry.error().message();
  EXPECT_FALSE(entry->has_value());
  EXPECT_EQ(seen_token, "file-token-1234");
  EXPECT_EQ(seen_target, "/v1/kv/a%20b/%25%3F%23");
}

// The environment's token joins the log's scrubber in cli/app.cpp; the file's joins it where the
// file is read, so a log line that would hold it shows **redacted**.
TEST(ConsulClientCreate, ATokenFromAFileIsScrubbedFromTheLog) {
  TempDir dir;
  auto token_file = dir.path() / "token";
  std::ofstream(token_file) << "token-from-file-5f3a9c\n";
  auto client = Client::create({.address = "127.0.0.1:8500", .token_file = token_file.string()});
  ASSERT_TRUE(client.ok()) << client.error().message();
  test_common::CapturedLog captured;
  log::warn("sent X-Consul-Token: token-from-file-5f3a9c");
  EXPECT_EQ(captured.text().find("token-from-file-5f3a9c"), std::string::npos) << captured.text();
  EXPECT_NE(captured.text().find("X-Consul-Token: **redacted**"), std::string::npos)
      << captured.text();
}

TEST(ConsulClient, PermissionDeniedSaysWhichVariableSetsTheToken) {
  FakeConsul consul;
  consul.server().Get("/v1/acl/token/self", [&](const httplib::Request&, httplib::Response& res) {
    res.status = 403;
    res.set_content("Permission denied: token with AccessorID 'x' lacks permission 'acl:read'",
                    "text/plain");
  });
  consul.wait();
  auto client = Client::create({.address = consul.address(), .token = Secret("tok-abcdef")});
  ASSERT_TRUE(client.ok());
  auto self = (*client)->token_self();
  ASSERT_FALSE(self.ok());
  EXPECT_EQ(self.error().kind(), ErrorKind::permission_denied);
  const auto& message = self.error().message();
  EXPECT_NE(message.find("lacks permission 'acl:read'"), std::string::npos) << message;
  EXPECT_NE(message.find("CONSUL_HTTP_TOKEN or CONSUL_HTTP_TOKEN_FILE"), std::string::npos);
  EXPECT_EQ(message.find("tok-abcdef"), std::string::npos);
}

TEST(ConsulClient, KvListReadsHeadersAndEntries) {
  FakeConsul consul;
  consul.server().Get("/v1/kv/p/", [&](const httplib::Request& req, httplib::Response& res) {
    EXPECT_TRUE(req.has_param("recurse"));
    res.set_header("X-Consul-Index", "77");
    res.set_header("X-Consul-Results-Filtered-By-Acls", "true");
    res.set_content(R"([{"Key":"p/a","Value":"eA==","Flags":1},{"Key":"p/b","Value":null}])",
                    "application/json");
  });
  consul.server().Get("/v1/kv/none",
                      [&](const httplib::Request&, httplib::Response& res) { res.status = 404; });
  consul.wait();
  auto client = Client::create({.address = consul.address()});
  ASSERT_TRUE(client.ok());
  TempDir dir;
  std::vector<KvEntry> entries;
  auto listing = (*client)->kv_list("p/", dir.path(), [&](KvEntry&& entry) -> Status {
    entries.push_back(std::move(entry));
    return {};
  });
  ASSERT_TRUE(listing.ok()) << listing.error().message();
  EXPECT_EQ(listing->index, 77U);
  EXPECT_TRUE(listing->filtered_by_acls);
  EXPECT_EQ(listing->entries, 2U);
  ASSERT_EQ(entries.size(), 2U);
  EXPECT_EQ(entries[0].value, "x");
  EXPECT_EQ(entries[0].flags, 1U);
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));  // the spool file is gone
  auto none = (*client)->kv_list("none", dir.path(), [](KvEntry&&) { return Status(); });
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->entries, 0U);
}

// Every byte value, so that nothing on the way may treat the snapshot as text.
std::string snapshot_bytes() {
  std::string bytes;
  for (int round = 0; round < 64; ++round) {
    for (int value = 0; value < 256; ++value)
      bytes.push_back(static_cast<char>(value));
  }
  return bytes;
}

TEST(ConsulClient, SnapshotSaveStreamsConsulsBytesAsSent) {
  FakeConsul consul;
  const std::string body = snapshot_bytes();
  std::atomic<bool> stale{false};
  consul.server().Get("/v1/snapshot", [&](const httplib::Request& req, httplib::Response& res) {
    stale = req.has_param("stale");
    res.set_header("X-Consul-Index", "4242");
    res.set_content(body, "application/octet-stream");
  });
  consul.wait();
  auto client = Client::create({.address = consul.address()});
  ASSERT_TRUE(client.ok());
  StringSink sink;
  auto download = (*client)->snapshot_save(sink, {.stale = true});
  ASSERT_TRUE(download.ok()) << download.error().message();
  EXPECT_TRUE(stale);
  EXPECT_EQ(download->index, 4242U);
  EXPECT_EQ(download->bytes, body.size());
  EXPECT_EQ(sink.text(), body);
}

TEST(ConsulClient, SnapshotSaveRetriedAfterACutStartsOver) {
  FakeConsul consul;
  const std::string body = snapshot_bytes();
  std::atomic<int> calls{0};
  consul.server().Get("/v1/snapshot", [&](const httplib::Request&, httplib::Response& res) {
    const bool cut = calls++ == 0;
    // The first answer drops the connection halfway through the body.
    const std::size_t end = cut ? body.size() / 2 : body.size();
    res.set_content_provider(body.size(), "application/octet-stream",
                             [&body, end](std::size_t offset, std::size_t, httplib::DataSink& out) {
                               if (offset >= end)
                                 return false;
                               out.write(body.data() + offset, end - offset);
                               return true;
                             });
  });
  consul.wait();
  auto client = Client::create({.address = consul.address(), .max_attempts = 3});
  ASSERT_TRUE(client.ok());
  StringSink sink;
  int rewinds = 0;
  auto download = (*client)->snapshot_save(sink, {.rewind = [&]() -> Status {
                                             ++rewinds;
                                             sink = StringSink();
                                             return {};
                                           }});
  ASSERT_TRUE(download.ok()) << download.error().message();
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(rewinds, 1);
  EXPECT_EQ(download->bytes, body.size());
  EXPECT_EQ(sink.text(), body) << "the bytes of the cut attempt stayed in the sink";
}

TEST(ConsulClient, SnapshotSaveRefusedSaysAclWrite) {
  FakeConsul consul;
  consul.server().Get("/v1/snapshot", [&](const httplib::Request&, httplib::Response& res) {
    res.status = 403;
    res.set_content("Permission denied: token with AccessorID 'x' lacks permission 'acl:write'",
                    "text/plain");
  });
  consul.wait();
  auto client = Client::create({.address = consul.address(), .token = Secret("tok-raft")});
  ASSERT_TRUE(client.ok());
  StringSink sink;
  auto download = (*client)->snapshot_save(sink);
  ASSERT_FALSE(download.ok());
  EXPECT_EQ(download.error().kind(), ErrorKind::permission_denied);
  const auto& message = download.error().message();
  EXPECT_NE(message.find(R"(acl = "write")"), std::string::npos) << message;
  EXPECT_NE(message.find("GET /v1/snapshot: 403"), std::string::npos) << message;
  EXPECT_EQ(message.find("tok-raft"), std::string::npos);
  EXPECT_TRUE(sink.text().empty());
}

TEST(ConsulClient, TxnConflictListsEachError) {
  FakeConsul consul;
  consul.server().Put("/v1/txn", [&](const httplib::Request&, httplib::Response& res) {
    res.status = 409;
    res.set_content(R"({"Results":null,"Errors":[{"OpIndex":1,"What":"failed to lock"}]})",
                    "application/json");
  });
  consul.wait();
  auto client = Client::create({.address = consul.address()});
  ASSERT_TRUE(client.ok());
  std::vector<TxnOp> ops = {TxnOp::set("a", "1"), TxnOp::set("b", "2")};
  auto status = (*client)->txn(ops);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().kind(), ErrorKind::conflict);
  EXPECT_NE(status.error().message().find(R"(op 1 (set "b"): failed to lock)"), std::string::npos)
      << status.error().message();
}

TEST(ConsulRequests, CreatesAreNotIdempotent) {
  for (auto [method, target] : std::initializer_list<std::pair<const char*, const char*>>{
           {"POST", "/v1/query"},
           {"PUT", "/v1/session/create"},
           {"PUT", "/v1/session/create?dc=dc2"},
           {"PUT", "/v1/acl/policy"},
           {"PUT", "/v1/acl/role/"},
           {"PUT", "/v1/acl/token"},
           {"PUT", "/v1/acl/auth-method"},
           {"PUT", "/v1/acl/binding-rule"},
           {"PUT", "/v1/acl/token/6a1253d2-1785-24fd-91c2-f8e78c745511/clone"},
           {"PUT", "/v1/acl/bootstrap"}}) {
    EXPECT_FALSE(request_is_idempotent(method, target)) << method << " " << target;
  }
  for (auto [method, target] : std::initializer_list<std::pair<const char*, const char*>>{
           {"GET", "/v1/query"},
           {"PUT", "/v1/query/8f246b77-f3e1-ff88-5b48-8ec93abf3e05"},
           {"PUT", "/v1/acl/policy/f6b4c1a5-0a8e-4d3c-9d5a-1a2b3c4d5e6f"},
           {"PUT", "/v1/acl/token/6a1253d2-1785-24fd-91c2-f8e78c745511"},
           {"PUT", "/v1/session/renew/abc"},
           {"PUT", "/v1/kv/a?acquire=abc"},
           {"PUT", "/v1/kv/session/create"},
           {"PUT", "/v1/txn"},
           {"DELETE", "/v1/query/8f246b77-f3e1-ff88-5b48-8ec93abf3e05"}}) {
    EXPECT_TRUE(request_is_idempotent(method, target)) << method << " " << target;
  }
}

TEST(ConsulClient, SendsACreateOnceButRetriesAnUpdate) {
  FakeConsul consul;
  std::mutex mutex;
  std::map<std::string, int> calls;
  auto refuse = [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mutex);
    ++calls[req.method + " " + req.path];
    res.status = 500;
    res.set_content("Must provide a Service name to query", "text/plain");
  };
  consul.server().Post("/v1/query", refuse);
  consul.server().Put("/v1/acl/policy", refuse);
  consul.server().Put(R"(/v1/acl/policy/(.+))", refuse);
  consul.wait();
  auto client = Client::create({.address = consul.address(), .max_attempts = 3});
  ASSERT_TRUE(client.ok());
  auto query = (*client)->request_json("POST", "/v1/query", R"({"Name":"q"})");
  ASSERT_FALSE(query.ok());
  EXPECT_NE(query.error().message().find("POST /v1/query: 500"), std::string::npos)
      << query.error().message();
  EXPECT_FALSE((*client)->request_json("PUT", "/v1/acl/policy", "{}").ok());
  EXPECT_FALSE((*client)->request_json("PUT", "/v1/acl/policy/p1", "{}").ok());
  EXPECT_FALSE(
      (*client)->request_json("PUT", "/v1/acl/policy/p2", "{}", {.idempotent = false}).ok());
  EXPECT_EQ(calls["POST /v1/query"], 1);
  EXPECT_EQ(calls["PUT /v1/acl/policy"], 1);
  EXPECT_EQ(calls["PUT /v1/acl/policy/p1"], 3);
  EXPECT_EQ(calls["PUT /v1/acl/policy/p2"], 1);
}

TEST(ConsulClient, APerRequestTimeoutBoundsOneCall) {
  FakeConsul consul;
  std::mutex mutex;
  std::condition_variable released_signal;
  bool released = false;
  std::atomic<int> calls{0};
  consul.server().Put(R"(/v1/session/renew/(.+))",
                      [&](const httplib::Request&, httplib::Response& res) {
                        ++calls;
                        std::unique_lock lock(mutex);
                        released_signal.wait_for(lock, 30s, [&] { return released; });
                        res.set_content("[]", "application/json");
                      });
  consul.wait();
  auto client = Client::create({.address = consul.address()});
  ASSERT_TRUE(client.ok());
  auto start = std::chrono::steady_clock::now();
  auto renewed = (*client)->request_json("PUT", "/v1/session/renew/s1", {},
                                         {.timeout = 300ms, .max_attempts = 1});
  auto elapsed = std::chrono::steady_clock::now() - start;
  {
    std::lock_guard lock(mutex);
    released = true;
  }
  released_signal.notify_all();
  ASSERT_FALSE(renewed.ok());
  EXPECT_NE(renewed.error().message().find("timed out"), std::string::npos)
      << renewed.error().message();
  EXPECT_EQ(calls, 1);
  EXPECT_LT(elapsed, 10s);  // not the client's 60 s request timeout
}

TEST(ConsulClient, WarnsOnceWhenCertificatesAreNotVerified) {
  test_common::CapturedLog log;
  ASSERT_TRUE(Client::create({.address = "https://127.0.0.1:8501"}).ok());
  EXPECT_EQ(log.text().find("CONSUL_HTTP_SSL_VERIFY"), std::string::npos) << log.text();
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(Client::create({.address = "https://127.0.0.1:8501", .ssl_verify = false}).ok());
  auto text = log.text();
  auto first = text.find("CONSUL_HTTP_SSL_VERIFY=false");
  ASSERT_NE(first, std::string::npos) << text;
  EXPECT_EQ(text.find("CONSUL_HTTP_SSL_VERIFY=false", first + 1), std::string::npos) << text;
  EXPECT_NE(text.find("[WARN]"), std::string::npos) << text;
}

}  // namespace
}  // namespace csnap::consul
