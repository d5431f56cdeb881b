#include "http/client.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "captured_log.hpp"
#include "fake_http.hpp"
#include "raw_server.hpp"
#include "util/log.hpp"

namespace csnap::http {
namespace {

using namespace std::chrono_literals;
using testing::FakeHttp;
using testing::http_reply;
using testing::RawReply;
using testing::RawServer;

// Options that record waits instead of sleeping.
struct Recorded {
  std::vector<std::chrono::milliseconds> sleeps;
};

ClientOptions fast_options(const std::string& url, Recorded& recorded) {
  ClientOptions options;
  options.base_url = url;
  options.connect_timeout = 2s;
  options.request_timeout = 5s;
  options.sleep = [&recorded](std::chrono::milliseconds delay) {
    recorded.sleeps.push_back(delay);
  };
  options.random = [] { return 0.5; };
  return options;
}

std::unique_ptr<Client> make_client(ClientOptions options) {
  auto client = Client::create(std::move(options));
  EXPECT_TRUE(client.ok()) << client.error().message();
  return std::move(client).value();
}

using test_common::CapturedLog;

TEST(HttpClient, RetriesA503ThenSucceeds) {
  FakeHttp fake;
  std::atomic<int> calls{0};
  fake.server().Get("/v1/x", [&](const httplib::Request&, httplib::Response& res) {
    if (calls++ == 0) {
      res.status = 503;
      res.set_content("busy", "text/plain");
    } else {
      res.set_content("hello", "text/plain");
    }
  });
  Recorded recorded;
  auto client = make_client(fast_options(fake.start(), recorded));
  auto response = client->send({.method = "GET", .target = "/v1/x"});
  ASSERT_TRUE(response.ok()) << response.error().message();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "hello");
  EXPECT_EQ(calls, 2);
  ASSERT_EQ(recorded.sleeps.size(), 1U);
  EXPECT_LE(recorded.sleeps[0], client->options().retry.initial_backoff);
}

TEST(HttpClient, GivesUpAfterMaxAttemptsWithATransientError) {
  FakeHttp fake;
  std::atomic<int> calls{0};
  fake.server().Get("/v1/x", [&](const httplib::Request&, httplib::Response& res) {
    ++calls;
    res.status = 502;
    res.set_content("  upstream down \n", "text/plain");
  });
  Recorded recorded;
  auto options = fast_options(fake.start(), recorded);
  options.retry.max_attempts = 3;
  auto client = make_client(options);
  auto response = client->send_ok({.method = "GET", .target = "/v1/x"});
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(recorded.sleeps.size(), 2U);
  EXPECT_EQ(response.error().kind(), ErrorKind::transient);
  EXPECT_EQ(response.error().message(), "GET /v1/x: 502 Bad Gateway: upstream down");
}

TEST(HttpClient, Retries429) {
  FakeHttp fake;
  std::atomic<int> calls{0};
  fake.server().Get("/x", [&](const httplib::Request&, httplib::Response& res) {
    res.status = calls++ == 0 ? 429 : 200;
  });
  Recorded recorded;
  auto client = make_client(fast_options(fake.start(), recorded));
  auto response = client->send({.target = "/x"});
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(calls, 2);
}

TEST(HttpClient, NeverRetriesOther4xx) {
  FakeHttp fake;
  std::atomic<int> calls{0};
  std::map<std::string, int> statuses = {{"/400", 400}, {"/401", 401}, {"/403", 403},
                                         {"/404", 404}, {"/409", 409}, {"/413", 413}};
  for (const auto& [path, status] : statuses) {
    int code = status;
    fake.server().Get(path, [&calls, code](const httplib::Request&, httplib::Response& res) {
      ++calls;
      res.status = code;
      res.set_content("nope", "text/plain");
    });
  }
  Recorded recorded;
  auto client = make_client(fast_options(fake.start(), recorded));
  std::map<int, ErrorKind> kinds = {
      {400, ErrorKind::invalid_argument},  {401, ErrorKind::unauthenticated},
      {403, ErrorKind::permission_denied}, {404, ErrorKind::not_found},
      {409, ErrorKind::conflict},          {413, ErrorKind::invalid_argument}};
  for (const auto& [path, status] : statuses) {
    auto response = client->send_ok({.target = path});
    ASSERT_FALSE(response.ok());
    EXPECT_EQ(response.error().kind(), kinds[status]) << path;
    EXPECT_NE(response.error().message().find("GET " + path + ": " + std::to_string(status)),
              std::string::npos);
    EXPECT_NE(response.error().message().find("nope"), std::string::npos);
  }
  EXPECT_EQ(calls, static_cast<int>(statuses.size()));
  EXPECT_TRUE(recorded.sleeps.empty());
}

TEST(HttpClient, TotalTimeBoundStopsRetries) {
  FakeHttp fake;
  std::atomic<int> calls{0};
  fake.server().Get("/x", [&](const httplib::Request&, httplib::Response& res) {
    ++calls;
    res.status = 503;
  });
  Recorded recorded;
  auto options = fast_options(fake.start(), recorded);
  options.retry.max_attempts = 100;
  options.retry.max_total = 1000ms;
  // A fake clock that moves 400 ms per reading.
  auto now = std::make_shared<std::chrono::steady_clock::time_point>();
  options.now = [now] { return *now += 400ms; };
  options.random = [] { return 0.0; };
  auto client = make_client(options);
  auto response = client->send({.target = "/x"});
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->status, 503);
  EXPECT_LT(calls, 5);
}

TEST(HttpClient, TimesOutASlowResponse) {
  FakeHttp fake;
  fake.server().Get("/slow", [&](const httplib::Request&, httplib::Response& res) {
    std::this_thread::sleep_for(1500ms);
    res.set_content("late", "text/plain");
  });
  Recorded recorded;
  auto options = fast_options(fake.start(), recorded);
  options.request_timeout = 200ms;
  options.retry.max_attempts = 2;
  auto client = make_client(options);
  auto start = std::chrono::steady_clock::now();
  auto response = client->send({.target = "/slow"});
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().kind(), ErrorKind::transient);
  EXPECT_NE(response.error().message().find("timed out"), std::string::npos);
  EXPECT_EQ(recorded.sleeps.size(), 1U);  // a timeout is retried
  EXPECT_LT(elapsed, 1200ms);
}

TEST(HttpClient, RetriesAResetConnection) {
  auto server = RawServer::tcp([](int n, const std::string&) {
    if (n == 0)
      return RawReply{"", true};
    return RawReply{http_reply(200, "ok")};
  });
  Recorded recorded;
  auto client =
      make_client(fast_options("http://127.0.0.1:" + std::to_string(server->port()), recorded));
  auto response = client->send({.target = "/x"});
  ASSERT_TRUE(response.ok()) << response.error().message();
  EXPECT_EQ(response->body, "ok");
  EXPECT_EQ(server->connections(), 2);
}

TEST(HttpClient, ConnectionRefusedIsUnavailableAndNamesTheAddress) {
  int port = 0;
  {
    auto server = RawServer::tcp([](int, const std::string&) { return RawReply{}; });
    port = server->port();
  }
  Recorded recorded;
  auto options = fast_options("http://127.0.0.1:" + std::to_string(port), recorded);
  options.hints.unreachable = "set THE_ADDR";
  auto client = make_client(options);
  auto response = client->send({.target = "/v1/status/leader"});
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().kind(), ErrorKind::unavailable);
  const auto& message = response.error().message();
  EXPECT_NE(message.find("GET /v1/status/leader"), std::string::npos) << message;
  EXPECT_NE(message.find("127.0.0.1:" + std::to_string(port)), std::string::npos) << message;
  EXPECT_NE(message.find("set THE_ADDR"), std::string::npos) << message;
  EXPECT_EQ(recorded.sleeps.size(), 3U);  // connect failures are retried
}

TEST(HttpClient, SendsMethodBodyHeadersAndUserAgent) {
  FakeHttp fake;
  std::string seen_body, seen_token, seen_agent, seen_plain, seen_query;
  fake.server().Put("/v1/put", [&](const httplib::Request& req, httplib::Response& res) {
    seen_body = req.body;
    seen_token = req.get_header_value("X-Consul-Token");
    seen_agent = req.get_header_value("User-Agent");
    seen_plain = req.get_header_value("X-Plain");
    seen_query = req.get_param_value("flags");
    res.set_header("X-Consul-Index", "42");
    res.set_content("true", "application/json");
  });
  Recorded recorded;
  auto client = make_client(fast_options(fake.start(), recorded));
  std::string body;
  for (int i = 0; i < 256; ++i)
    body.push_back(static_cast<char>(i));
  Request request{.method = "PUT", .target = "/v1/put?flags=7", .body = body};
  request.headers.emplace_back("X-Plain", "plain");
  request.secret_headers.emplace_back("X-Consul-Token", Secret("s3cr3t-token-value"));
  auto response = client->send_ok(request);
  ASSERT_TRUE(response.ok()) << response.error().message();
  EXPECT_EQ(seen_body, body);
  EXPECT_EQ(seen_token, "s3cr3t-token-value");
  EXPECT_EQ(seen_plain, "plain");
  EXPECT_EQ(seen_query, "7");
  EXPECT_EQ(seen_agent, default_user_agent());
  EXPECT_TRUE(seen_agent.starts_with("consul-snapshot/"));
  EXPECT_EQ(response->headers.get("x-consul-index"), "42");
  EXPECT_EQ(response->headers.get("X-CONSUL-INDEX"), "42");
  EXPECT_FALSE(response->headers.get("X-Missing"));
}

TEST(HttpClient, DebugLogNamesTheRequestButNeverTheSecret) {
  FakeHttp fake;
  fake.server().Get("/v1/kv/a", [&](const httplib::Request&, httplib::Response& res) {
    res.status = 403;
    res.set_content("Permission denied", "text/plain");
  });
  Recorded recorded;
  auto options = fast_options(fake.start(), recorded);
  options.basic_auth = Secret("user:basic-password-xyz");
  auto client = make_client(options);
  CapturedLog log;
  Request request{.target = "/v1/kv/a"};
  request.secret_headers.emplace_back("X-Consul-Token", Secret("token-0123456789"));
  auto response = client->send_ok(request);
  ASSERT_FALSE(response.ok());
  auto text = log.text();
  EXPECT_NE(text.find("GET /v1/kv/a -> 403"), std::string::npos) << text;
  EXPECT_EQ(text.find("token-0123456789"), std::string::npos) << text;
  EXPECT_EQ(text.find("basic-password-xyz"), std::string::npos) << text;
  EXPECT_EQ(response.error().message().find("token-0123456789"), std::string::npos);
}

TEST(HttpClient, StreamsA2xxBodyToTheSink) {
  FakeHttp fake;
  std::string big(1 << 20, 'z');
  fake.server().Get("/big", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(big, "application/octet-stream");
  });
  fake.server().Get("/err", [&](const httplib::Request&, httplib::Response& res) {
    res.status = 500;
    res.set_content("server broke", "text/plain");
  });
  Recorded recorded;
  auto options = fast_options(fake.start(), recorded);
  options.retry.max_attempts = 1;
  auto client = make_client(options);
  StringSink sink;
  auto response = client->send_streaming({.target = "/big"}, sink);
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->status, 200);
  EXPECT_TRUE(response->body.empty());
  EXPECT_EQ(sink.text(), big);

  StringSink error_sink;
  auto failed = client->send_streaming({.target = "/err"}, error_sink);
  ASSERT_TRUE(failed.ok());
  EXPECT_EQ(failed->status, 500);
  EXPECT_EQ(failed->body, "server broke");
  EXPECT_TRUE(error_sink.text().empty());
}

TEST(HttpClient, StreamRetriesOnlyWhenNothingReachedTheSinkOrItCanRewind) {
  auto script = [](int n, const std::string&) {
    if (n == 0) {  // promises 20 bytes, sends 10, then resets
      return RawReply{"HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n0123456789", true};
    }
    return RawReply{http_reply(200, "abcdefghijklmnopqrst")};
  };
  {
    auto server = RawServer::tcp(script);
    Recorded recorded;
    auto client =
        make_client(fast_options("http://127.0.0.1:" + std::to_string(server->port()), recorded));
    StringSink sink;
    auto response = client->send_streaming({.target = "/x"}, sink);
    ASSERT_FALSE(response.ok());
    EXPECT_EQ(response.error().kind(), ErrorKind::transient);
    EXPECT_EQ(server->connections(), 1);
  }
  {
    auto server = RawServer::tcp(script);
    Recorded recorded;
    auto client =
        make_client(fast_options("http://127.0.0.1:" + std::to_string(server->port()), recorded));
    StringSink sink;
    int rewinds = 0;
    StreamOptions stream{.rewind = [&] {
      ++rewinds;
      sink = StringSink();
      return Status();
    }};
    auto response = client->send_streaming({.target = "/x"}, sink, stream);
    ASSERT_TRUE(response.ok()) << response.error().message();
    EXPECT_EQ(sink.text(), "abcdefghijklmnopqrst");
    EXPECT_EQ(rewinds, 1);
    EXPECT_EQ(server->connections(), 2);
  }
}

TEST(HttpClient, SinkErrorsStopTheTransferAndAreNotRetried) {
  class FailingSink final : public ByteSink {
   public:
    using ByteSink::write;
    Status write(std::span<const std::byte>) override { return Error(ErrorKind::io, "disk full"); }
    Status finish() override { return {}; }
  };
  FakeHttp fake;
  std::atomic<int> calls{0};
  fake.server().Get("/x", [&](const httplib::Request&, httplib::Response& res) {
    ++calls;
    res.set_content("data", "text/plain");
  });
  Recorded recorded;
  auto client = make_client(fast_options(fake.start(), recorded));
  FailingSink sink;
  auto response = client->send_streaming({.target = "/x"}, sink);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().kind(), ErrorKind::io);
  EXPECT_NE(response.error().message().find("disk full"), std::string::npos);
  EXPECT_EQ(calls, 1);
}

TEST(HttpClient, TalksOverAUnixSocket) {
  auto path = std::filesystem::temp_directory_path() /
              ("csnap-http-" + std::to_string(::getpid()) + ".sock");
  std::filesystem::remove(path);
  std::string seen;
  auto server = RawServer::unix_socket(path, [&](int, const std::string& request) {
    seen = request;
    return RawReply{http_reply(200, "\"leader\"")};
  });
  Recorded recorded;
  auto options = fast_options("http://localhost", recorded);
  options.unix_socket_path = path.string();
  auto client = make_client(options);
  auto response = client->send_ok({.target = "/v1/status/leader"});
  ASSERT_TRUE(response.ok()) << response.error().message();
  EXPECT_EQ(response->body, "\"leader\"");
  EXPECT_TRUE(seen.starts_with("GET /v1/status/leader HTTP/1.1")) << seen;
  std::filesystem::remove(path);
}

TEST(HttpClient, NeverResendsAPostThatMayHaveApplied) {
  // A deterministic 500 (Consul refusing a prepared query) must not be sent four times.
  FakeHttp fake;
  std::atomic<int> calls{0};
  fake.server().Post("/v1/query", [&](const httplib::Request&, httplib::Response& res) {
    ++calls;
    res.status = 500;
    res.set_content("Must provide a Service name to query", "text/plain");
  });
  Recorded recorded;
  auto client = make_client(fast_options(fake.start(), recorded));
  auto response = client->send({.method = "POST", .target = "/v1/query", .body = "{}"});
  ASSERT_TRUE(response.ok()) << response.error().message();
  EXPECT_EQ(response->status, 500);
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(recorded.sleeps.empty());

  // A connection reset after the request went out: it may have been applied.
  auto server = RawServer::tcp([](int n, const std::string&) {
    return n == 0 ? RawReply{"", true} : RawReply{http_reply(200, "{}")};
  });
  auto reset_client =
      make_client(fast_options("http://127.0.0.1:" + std::to_string(server->port()), recorded));
  auto reset = reset_client->send({.method = "POST", .target = "/v1/query", .body = "{}"});
  ASSERT_FALSE(reset.ok());
  EXPECT_EQ(reset.error().kind(), ErrorKind::transient);
  EXPECT_EQ(server->connections(), 1);
}

TEST(HttpClient, RetriesAPostThatCannotHaveReachedTheServerOrWasRefusedUnread) {
  int port = 0;
  {
    auto server = RawServer::tcp([](int, const std::string&) { return RawReply{}; });
    port = server->port();
  }
  Recorded recorded;
  auto client = make_client(fast_options("http://127.0.0.1:" + std::to_string(port), recorded));
  auto refused = client->send({.method = "POST", .target = "/x", .body = "{}"});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind(), ErrorKind::unavailable);
  EXPECT_EQ(recorded.sleeps.size(), 3U);

  FakeHttp fake;
  std::atomic<int> calls{0};
  fake.server().Post("/x", [&](const httplib::Request&, httplib::Response& res) {
    res.status = calls++ == 0 ? 429 : 200;
  });
  auto limited_client = make_client(fast_options(fake.start(), recorded));
  auto limited = limited_client->send({.method = "POST", .target = "/x", .body = "{}"});
  ASSERT_TRUE(limited.ok());
  EXPECT_EQ(limited->status, 200);
  EXPECT_EQ(calls, 2);
}

TEST(HttpClient, RetriesIdempotentMethodsAndHonoursTheRequestsOverride) {
  FakeHttp fake;
  std::map<std::string, int> calls;
  std::mutex mutex;
  auto failing = [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mutex);
    ++calls[req.method + " " + req.path];
    res.status = 503;
  };
  fake.server().Get("/r", failing);
  fake.server().Put("/r", failing);
  fake.server().Delete("/r", failing);
  fake.server().Post("/r", failing);
  Recorded recorded;
  auto client = make_client(fast_options(fake.start(), recorded));
  for (std::string method : {"GET", "HEAD", "PUT", "DELETE"}) {
    auto response = client->send({.method = method, .target = "/r"});
    ASSERT_TRUE(response.ok()) << method << ": " << response.error().message();
    EXPECT_EQ(response->status, 503);
  }
  // A PUT that creates a new object each time (Consul's session create), and a POST the caller
  // knows to be safe (STS AssumeRoleWithWebIdentity).
  ASSERT_TRUE(client->send({.method = "PUT", .target = "/r", .idempotent = false}).ok());
  ASSERT_TRUE(client->send({.method = "POST", .target = "/r", .idempotent = true}).ok());
  // One attempt only, for a request that must answer quickly or not at all.
  ASSERT_TRUE(client->send({.method = "DELETE", .target = "/r", .max_attempts = 1}).ok());
  EXPECT_EQ(calls["GET /r"], 4);
  EXPECT_EQ(calls["HEAD /r"], 4);  // served by the GET handler
  EXPECT_EQ(calls["PUT /r"], 4 + 1);
  EXPECT_EQ(calls["DELETE /r"], 4 + 1);
  EXPECT_EQ(calls["POST /r"], 4);
}

TEST(HttpClient, AStalledServerFailsOnTheStallTimeout) {
  // The server reads the request and then sends nothing, as a connection through a proxy that
  // stopped forwarding does; without a total timeout only the stall check ends the wait.
  std::mutex mutex;
  std::condition_variable released_signal;
  bool released = false;
  auto server = RawServer::tcp([&](int, const std::string&) {
    std::unique_lock lock(mutex);
    released_signal.wait_for(lock, 60s, [&] { return released; });
    return RawReply{http_reply(200, "late")};
  });
  Recorded recorded;
  auto options = fast_options("http://127.0.0.1:" + std::to_string(server->port()), recorded);
  options.request_timeout = 0ms;
  options.stall_timeout = 1s;
  options.retry.max_attempts = 1;
  auto client = make_client(options);
  auto start = std::chrono::steady_clock::now();
  auto response = client->send({.target = "/x"});
  auto elapsed = std::chrono::steady_clock::now() - start;
  {
    std::lock_guard lock(mutex);
    released = true;
  }
  released_signal.notify_all();
  ASSERT_FALSE(response.ok()) << response->status;
  EXPECT_EQ(response.error().kind(), ErrorKind::transient);
  EXPECT_NE(response.error().message().find("timed out"), std::string::npos)
      << response.error().message();
  EXPECT_LT(elapsed, 30s);  // a hang is the bug; the stall check fires after about a second
}

TEST(HttpClient, RejectsBadBaseUrls) {
  EXPECT_FALSE(Client::create({.base_url = "ftp://host"}).ok());
  EXPECT_FALSE(Client::create({.base_url = "::::"}).ok());
  auto bad = Client::create({.base_url = "gopher://user:pw@host"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message().find("pw"), std::string::npos) << bad.error().message();
}

}  // namespace
}  // namespace csnap::http
