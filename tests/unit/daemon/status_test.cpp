// render_status (GET /v1/status) and parse_listen_address (--http-addr).

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "daemon/http_server.hpp"

namespace csnap::daemon {
namespace {

using namespace std::chrono_literals;

constexpr Clock::time_point kNow = Clock::time_point(1'800'000'000s);  // 2027-01-15T08:00:00Z

TEST(Status, ABusyDaemon) {
  Snapshot snapshot;
  snapshot.version = "0.1.0";
  snapshot.is_leader = true;
  snapshot.lock_enabled = true;
  snapshot.started = kNow - 3600s;
  BackupOutcome success;
  success.started = kNow - 62s;
  success.finished = kNow - 60s;
  success.key = "backups/2027/1/15/host.consul.snapshot.1799999938.tar.zst";
  success.size_bytes = 4096;
  success.entries = {{"kv", 12}, {"acl_tokens", 3}};
  snapshot.last_success = success;
  snapshot.cluster_last_backup = kNow - 60s;
  snapshot.last_attempt = kNow - 10s;
  snapshot.last_duration = std::chrono::duration<double>(0.25);
  snapshot.last_error = "writing backups/x: 503 Slow Down";
  snapshot.successes = 59;
  snapshot.failures = {{"storage", 2}, {"consul", 1}};
  snapshot.failures_in_a_row = 1;
  auto health = evaluate_health(snapshot, kNow, 3600s);

  auto status = nlohmann::json::parse(render_status(snapshot, health, 3600s, kNow));
  EXPECT_EQ(status["version"], "0.1.0");
  EXPECT_EQ(status["started"], "2027-01-15T07:00:00Z");
  EXPECT_EQ(status["uptime_seconds"], 3600);
  EXPECT_EQ(status["leader"], true);
  EXPECT_EQ(status["lock_enabled"], true);
  EXPECT_EQ(status["health"]["status"], 200);
  EXPECT_EQ(status["health"]["healthy"], true);
  EXPECT_EQ(status["health"]["message"], "Last backup 60 seconds ago");
  EXPECT_EQ(status["health"]["max_age_seconds"], 3600);
  EXPECT_EQ(status["health"]["last_backup"], "2027-01-15T07:59:00Z");
  EXPECT_EQ(status["last_success"]["key"], success.key);
  EXPECT_EQ(status["last_success"]["size_bytes"], 4096);
  EXPECT_EQ(status["last_success"]["entries"], (nlohmann::json{{"kv", 12}, {"acl_tokens", 3}}));
  EXPECT_EQ(status["last_success"]["started"], "2027-01-15T07:58:58Z");
  EXPECT_EQ(status["last_success"]["finished"], "2027-01-15T07:59:00Z");
  EXPECT_EQ(status["last_success"]["duration_seconds"], 2.0);
  EXPECT_EQ(status["last_success"]["partial"], false);
  EXPECT_EQ(status["cluster_last_backup"], "2027-01-15T07:59:00Z");
  EXPECT_EQ(status["last_attempt"], "2027-01-15T07:59:50Z");
  EXPECT_EQ(status["last_duration_seconds"], 0.25);
  EXPECT_EQ(status["last_error"], "writing backups/x: 503 Slow Down");
  EXPECT_EQ(status["successes"], 59);
  EXPECT_EQ(status["failures"], (nlohmann::json{{"storage", 2}, {"consul", 1}}));
  EXPECT_EQ(status["failures_total"], 3);
  EXPECT_EQ(status["failures_in_a_row"], 1);
  EXPECT_EQ(status["history"], nlohmann::json::array());
}

TEST(Status, PartialAndHistory) {
  Snapshot snapshot;
  snapshot.started = kNow - 3600s;
  BackupOutcome success;
  success.started = kNow - 62s;
  success.finished = kNow - 60s;
  success.key = "backups/a.tar.zst";
  success.size_bytes = 4096;
  success.entries = {{"kv", 12}};
  success.partial = true;
  snapshot.last_success = success;

  Attempt failure;
  failure.started = kNow - 120s;
  failure.duration = std::chrono::duration<double>(0.5);
  failure.cause = "storage";
  failure.error = "uploading: 503 Slow Down";
  Attempt done;
  done.started = success.started;
  done.duration = std::chrono::duration<double>(2.0);
  done.succeeded = true;
  done.key = success.key;
  done.size_bytes = success.size_bytes;
  done.entries = success.entries;
  done.partial = true;
  snapshot.history = {failure, done};

  auto status = nlohmann::json::parse(
      render_status(snapshot, evaluate_health(snapshot, kNow, 3600s), 3600s, kNow));
  EXPECT_EQ(status["last_success"]["partial"], true);
  ASSERT_EQ(status["history"].size(), 2u);
  EXPECT_EQ(status["history"][0], (nlohmann::json{{"started", "2027-01-15T07:58:00Z"},
                                                  {"duration_seconds", 0.5},
                                                  {"succeeded", false},
                                                  {"key", nullptr},
                                                  {"size_bytes", nullptr},
                                                  {"entries", nullptr},
                                                  {"partial", nullptr},
                                                  {"cause", "storage"},
                                                  {"error", "uploading: 503 Slow Down"}}));
  EXPECT_EQ(status["history"][1], (nlohmann::json{{"started", "2027-01-15T07:58:58Z"},
                                                  {"duration_seconds", 2.0},
                                                  {"succeeded", true},
                                                  {"key", "backups/a.tar.zst"},
                                                  {"size_bytes", 4096},
                                                  {"entries", {{"kv", 12}}},
                                                  {"partial", true},
                                                  {"cause", nullptr},
                                                  {"error", nullptr}}));
}

TEST(Status, BeforeTheFirstBackupUnknownsAreNull) {
  Snapshot snapshot;
  snapshot.version = "0.1.0";
  snapshot.started = kNow - 5s;
  snapshot.lock_enabled = false;
  auto health = evaluate_health(snapshot, kNow, 3600s);
  auto status = nlohmann::json::parse(render_status(snapshot, health, 3600s, kNow));
  EXPECT_TRUE(status["last_success"].is_null());
  EXPECT_TRUE(status["cluster_last_backup"].is_null());
  EXPECT_TRUE(status["last_attempt"].is_null());
  EXPECT_TRUE(status["last_duration_seconds"].is_null());
  EXPECT_TRUE(status["last_error"].is_null());
  EXPECT_TRUE(status["health"]["last_backup"].is_null());
  EXPECT_EQ(status["failures"], nlohmann::json::object());
  EXPECT_EQ(status["failures_total"], 0);
  EXPECT_EQ(status["uptime_seconds"], 5);
  EXPECT_EQ(status["lock_enabled"], false);
}

TEST(Status, InvalidUtf8InAnErrorStillGivesValidJson) {
  Snapshot snapshot;
  snapshot.started = kNow;
  snapshot.last_error = "bad byte \xff here";
  auto text = render_status(snapshot, evaluate_health(snapshot, kNow, 60s), 60s, kNow);
  auto status = nlohmann::json::parse(text);
  EXPECT_EQ(status["last_error"], "bad byte \xEF\xBF\xBD here");
}

struct AddressCase {
  const char* text;
  std::string host;
  int port;
};

TEST(ListenAddress, AcceptedForms) {
  for (const AddressCase& c :
       {AddressCase{":5001", "", 5001}, AddressCase{":0", "", 0},
        AddressCase{"127.0.0.1:5001", "127.0.0.1", 5001}, AddressCase{"0.0.0.0:80", "0.0.0.0", 80},
        AddressCase{"[::1]:5001", "::1", 5001}, AddressCase{"[::]:65535", "::", 65535},
        AddressCase{"localhost:5001", "localhost", 5001}}) {
    auto address = parse_listen_address(c.text);
    ASSERT_TRUE(address.ok()) << c.text << ": " << address.error().message();
    EXPECT_EQ(address->host, c.host) << c.text;
    EXPECT_EQ(address->port, c.port) << c.text;
  }
}

TEST(ListenAddress, RejectedFormsNameTheOption) {
  for (const char* text :
       {"", "5001", "127.0.0.1", ":", ":65536", ":-1", ":50x1", "::1:5001", "[::1]", "[]:5001",
        "[127.0.0.1]:5001", "http://127.0.0.1:5001", "127.0.0.1:5001 "}) {
    auto address = parse_listen_address(text);
    ASSERT_FALSE(address.ok()) << "accepted \"" << text << "\"";
    EXPECT_EQ(address.error().kind(), ErrorKind::invalid_argument) << text;
    EXPECT_NE(address.error().message().find("--http-addr"), std::string::npos)
        << address.error().message();
    EXPECT_NE(address.error().message().find(":5001"), std::string::npos)
        << address.error().message();
  }
}

}  // namespace
}  // namespace csnap::daemon
