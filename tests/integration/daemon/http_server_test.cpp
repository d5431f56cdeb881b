// The daemon's HTTP server on a real socket, checked from outside with the curl CLI, promtool and
// a real Prometheus server that scrapes it. Waits poll with deadlines; nothing sleeps to
// synchronise.

#include "daemon/http_server.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <thread>

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <spawn.h>
#include <sys/socket.h>
#include <unistd.h>

#include "consul_agent.hpp"  // run_process, curl, free_port, stop_process, running_in_ci
#include "polling.hpp"

namespace csnap::daemon {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using csnap::testing::curl;
using csnap::testing::run_process;

using testing::eventually;

std::optional<fs::path> find_in_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string_view rest = path ? path : "/usr/local/bin:/usr/bin:/bin";
  while (!rest.empty()) {
    auto colon = rest.find(':');
    fs::path candidate = fs::path(std::string(rest.substr(0, colon))) / name;
    if (::access(candidate.c_str(), X_OK) == 0)
      return candidate;
    if (colon == std::string_view::npos)
      break;
    rest.remove_prefix(colon + 1);
  }
  return std::nullopt;
}

// Puts the path of `tool` into `variable`; fails under CI=true, else skips, when it is missing.
#define REQUIRE_PROMETHEUS_TOOL(variable, tool)                                             \
  std::optional<fs::path> variable = find_in_path(tool);                                    \
  if (!(variable)) {                                                                        \
    if (::csnap::testing::running_in_ci())                                                  \
      FAIL() << (tool) << " not found (CI=true): install with: apt-get install prometheus"; \
    GTEST_SKIP() << (tool) << " not found: install with: apt-get install prometheus";       \
  }

std::unique_ptr<HttpServer> start_server(const State& state, HttpServerOptions options = {},
                                         std::string_view address = "127.0.0.1:0") {
  auto server = HttpServer::start(address, state, std::move(options));
  EXPECT_TRUE(server.ok()) << server.error().message();
  return server.ok() ? std::move(server).value() : nullptr;
}

std::string url(const HttpServer& server, std::string_view path) {
  return fmt::format("http://127.0.0.1:{}{}", server.port(), path);
}

// The response headers of `method url`, lower-cased names, as one string.
std::string headers_of(const std::string& method, const std::string& target) {
  auto result = run_process({"curl", "-sS", "-o", "/dev/null", "-D", "-", "-X", method, target});
  EXPECT_TRUE(result.ok() && result->exit_code == 0);
  std::string text = result.ok() ? result->out : "";
  for (char& c : text)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

BackupOutcome outcome(Clock::time_point finished, std::uint64_t size) {
  BackupOutcome result;
  result.started = finished - 2s;
  result.finished = finished;
  result.key = "backups/2027/1/15/host.consul.snapshot.1.tar.zst";
  result.size_bytes = size;
  result.entries = {{"kv", 1234}, {"acl_tokens", 5}};
  return result;
}

int thread_count() {
  int count = 0;
  if (DIR* tasks = ::opendir("/proc/self/task")) {
    while (dirent* entry = ::readdir(tasks))
      count += entry->d_name[0] != '.';
    ::closedir(tasks);
  }
  return count;
}

// This process's resident set size in KiB (VmRSS of /proc/self/status).
long resident_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0)
      return std::stol(line.substr(6));
  return -1;
}

bool ipv6_loopback_available() {
  std::ifstream interfaces("/proc/net/if_inet6");
  std::string line;
  while (std::getline(interfaces, line))
    if (line.rfind("00000000000000000000000000000001", 0) == 0)
      return true;
  return false;
}

TEST(DaemonHttp, HealthFollowsTheState) {
  State state("0.1.0", true);
  auto server = start_server(state, {.health_max_age = 60s, .list_backups = {}});
  ASSERT_TRUE(server);

  // Startup grace: nothing has failed and the daemon is younger than the maximum age.
  auto health = curl({url(*server, "/health")});
  ASSERT_TRUE(health.ok()) << health.error().message();
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(health->body.rfind("No backup yet; started ", 0), 0u) << health->body;

  state.attempt_started(Clock::now());
  state.failed("consul", "reading the KV store: connection refused", 1s);
  health = curl({url(*server, "/health")});
  ASSERT_TRUE(health.ok());
  EXPECT_EQ(health->status, 500);
  EXPECT_EQ(health->body, "No backup yet; last error: reading the KV store: connection refused");

  // A backup that finished two minutes ago is older than the maximum age of 60 s.
  state.succeeded(outcome(Clock::now() - 120s, 100));
  health = curl({url(*server, "/health")});
  ASSERT_TRUE(health.ok());
  EXPECT_EQ(health->status, 500);
  EXPECT_NE(health->body.find(" seconds ago, older than the maximum age of 60 seconds"),
            std::string::npos)
      << health->body;

  // Another replica's backup, through the lastbackup key, makes this one healthy too.
  (void)state.offer_cluster_last_backup(Clock::now(), Clock::now());
  health = curl({url(*server, "/health")});
  ASSERT_TRUE(health.ok());
  EXPECT_EQ(health->status, 200);
  EXPECT_TRUE(health->body == "Last backup 0 seconds ago" ||
              health->body == "Last backup 1 seconds ago")
      << health->body;

  EXPECT_NE(headers_of("GET", url(*server, "/health")).find("content-type: text/plain"),
            std::string::npos);
}

TEST(DaemonHttp, MetricsAndStatus) {
  State state("0.1.0", true);
  state.set_leader(true);
  state.attempt_started(Clock::now());
  state.succeeded(outcome(Clock::now(), 424242));
  state.failed("storage", "uploading: 503 Slow Down", 1500ms);
  auto server = start_server(state);
  ASSERT_TRUE(server);

  auto metrics = curl({url(*server, "/metrics")});
  ASSERT_TRUE(metrics.ok()) << metrics.error().message();
  EXPECT_EQ(metrics->status, 200);
  EXPECT_NE(metrics->body.find("\nconsul_snapshot_last_size_bytes 424242\n"), std::string::npos)
      << metrics->body;
  EXPECT_NE(metrics->body.find("\nconsul_snapshot_backup_failures_total{cause=\"storage\"} 1\n"),
            std::string::npos)
      << metrics->body;
  EXPECT_NE(metrics->body.find("\nconsul_snapshot_is_leader 1\n"), std::string::npos);
  EXPECT_NE(headers_of("GET", url(*server, "/metrics"))
                .find("content-type: text/plain; version=0.0.4; charset=utf-8"),
            std::string::npos);

  auto status = curl({url(*server, "/v1/status")});
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->status, 200);
  auto json = nlohmann::json::parse(status->body);
  EXPECT_EQ(json["leader"], true);
  EXPECT_EQ(json["version"], "0.1.0");
  EXPECT_EQ(json["last_success"]["size_bytes"], 424242);
  EXPECT_EQ(json["last_success"]["entries"]["kv"], 1234);
  EXPECT_EQ(json["last_error"], "uploading: 503 Slow Down");
  EXPECT_EQ(json["failures"]["storage"], 1);
  EXPECT_EQ(json["successes"], 1);
  EXPECT_EQ(json["health"]["status"], 200);
  EXPECT_EQ(json["last_duration_seconds"], 1.5);
  EXPECT_EQ(json["last_success"]["partial"], false);
  ASSERT_EQ(json["history"].size(), 2u);
  EXPECT_EQ(json["history"][0]["succeeded"], true);
  EXPECT_EQ(json["history"][0]["size_bytes"], 424242);
  EXPECT_EQ(json["history"][1]["succeeded"], false);
  EXPECT_EQ(json["history"][1]["cause"], "storage");
  EXPECT_NE(headers_of("GET", url(*server, "/v1/status")).find("content-type: application/json"),
            std::string::npos);
}

TEST(DaemonHttp, UnknownPathsAndMethods) {
  State state("0.1.0", false);
  auto server = start_server(state);
  ASSERT_TRUE(server);

  for (const char* path : {"/nope", "/index.html", "/health/x", "/v1/backups", "/metricsx"}) {
    auto answer = curl({url(*server, path)});
    ASSERT_TRUE(answer.ok());
    EXPECT_EQ(answer->status, 404) << path;
  }
  for (const char* method : {"POST", "PUT", "DELETE", "PATCH", "OPTIONS"}) {
    auto answer = curl({"-X", method, url(*server, "/health")});
    ASSERT_TRUE(answer.ok());
    EXPECT_EQ(answer->status, 405) << method;
    EXPECT_NE(headers_of(method, url(*server, "/metrics")).find("allow: get, head"),
              std::string::npos)
        << method;
  }
  auto head = run_process(
      {"curl", "-sS", "-I", "-o", "/dev/null", "-w", "%{http_code}", url(*server, "/health")});
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->out, "200");
  auto query = curl({url(*server, "/health?verbose=1")});
  ASSERT_TRUE(query.ok());
  EXPECT_EQ(query->status, 200);
}

TEST(DaemonHttp, BackupsListWhenTheDaemonProvidesIt) {
  State state("0.1.0", false);
  std::atomic<bool> fail = false;  // read on a server thread
  HttpServerOptions options;
  options.list_backups = [&fail]() -> Result<BackupListing> {
    if (fail)
      return Error(ErrorKind::transient, "listing backups/: 503 Slow Down");
    return BackupListing{.storage = "file:///b", .backups = {{.key = "backups/a.tar.zst"}}};
  };
  auto server = start_server(state, std::move(options));
  ASSERT_TRUE(server);

  auto answer = curl({url(*server, "/v1/backups")});
  ASSERT_TRUE(answer.ok());
  EXPECT_EQ(answer->status, 200);
  EXPECT_EQ(nlohmann::json::parse(answer->body)["backups"][0]["key"], "backups/a.tar.zst");

  fail = true;
  answer = curl({url(*server, "/v1/backups")});
  ASSERT_TRUE(answer.ok());
  EXPECT_EQ(answer->status, 500);
  EXPECT_EQ(nlohmann::json::parse(answer->body)["error"], "listing backups/: 503 Slow Down");
}

TEST(DaemonHttp, AddressForms) {
  State state("0.1.0", false);

  auto any = start_server(state, {}, ":0");
  ASSERT_TRUE(any);
  auto answer = curl({fmt::format("http://127.0.0.1:{}/health", any->port())});
  ASSERT_TRUE(answer.ok()) << answer.error().message();
  EXPECT_EQ(answer->status, 200);
  if (ipv6_loopback_available()) {
    EXPECT_EQ(any->address(), fmt::format("[::]:{}", any->port()));
    answer = curl({"-g", fmt::format("http://[::1]:{}/health", any->port())});
    ASSERT_TRUE(answer.ok()) << answer.error().message();
    EXPECT_EQ(answer->status, 200);

    auto v6 = start_server(state, {}, "[::1]:0");
    ASSERT_TRUE(v6);
    EXPECT_EQ(v6->address(), fmt::format("[::1]:{}", v6->port()));
    answer = curl({"-g", fmt::format("http://[::1]:{}/health", v6->port())});
    ASSERT_TRUE(answer.ok()) << answer.error().message();
    EXPECT_EQ(answer->status, 200);
    // Loopback IPv6 only: IPv4 is refused.
    auto refused = run_process({"curl", "-sS", fmt::format("http://127.0.0.1:{}/", v6->port())});
    ASSERT_TRUE(refused.ok());
    EXPECT_EQ(refused->exit_code, 7) << refused->err;
  } else {
    EXPECT_EQ(any->address(), fmt::format("0.0.0.0:{}", any->port()));
  }

  auto port = csnap::testing::free_port();
  ASSERT_TRUE(port.ok());
  auto fixed = start_server(state, {}, fmt::format("127.0.0.1:{}", *port));
  ASSERT_TRUE(fixed);
  EXPECT_EQ(fixed->port(), *port);
  EXPECT_EQ(fixed->address(), fmt::format("127.0.0.1:{}", *port));
}

TEST(DaemonHttp, ABusyPortIsAClearError) {
  State state("0.1.0", false);
  auto first = start_server(state);
  ASSERT_TRUE(first);
  std::string address = fmt::format("127.0.0.1:{}", first->port());

  auto second = HttpServer::start(address, state);
  ASSERT_FALSE(second.ok()) << "a second server bound " << address;
  EXPECT_EQ(second.error().kind(), ErrorKind::unavailable);
  EXPECT_NE(second.error().message().find("--http-addr " + address), std::string::npos)
      << second.error().message();
  EXPECT_NE(second.error().message().find("in use"), std::string::npos) << second.error().message();

  // ":port" (every interface) conflicts with it too.
  auto wildcard = HttpServer::start(fmt::format(":{}", first->port()), state);
  EXPECT_FALSE(wildcard.ok());

  // The first server still answers.
  auto answer = curl({url(*first, "/health")});
  ASSERT_TRUE(answer.ok());
  EXPECT_EQ(answer->status, 200);

  auto not_local = HttpServer::start("192.0.2.1:5001", state);  // TEST-NET-1
  ASSERT_FALSE(not_local.ok());
  EXPECT_NE(not_local.error().message().find("--http-addr 192.0.2.1:5001: cannot listen"),
            std::string::npos)
      << not_local.error().message();

  auto malformed = HttpServer::start("5001", state);
  ASSERT_FALSE(malformed.ok());
  EXPECT_EQ(malformed.error().kind(), ErrorKind::invalid_argument);
}

TEST(DaemonHttp, StopsCleanlyAndUsesFewThreads) {
  State state("0.1.0", false);
  int before = thread_count();
  long rss_before = resident_kib();
  auto server = start_server(state);
  ASSERT_TRUE(server);
  EXPECT_LE(thread_count() - before, 3) << "a listener and two workers at most";
  // Several requests on one keep-alive connection.
  for (int i = 0; i < 20; ++i) {
    auto answer =
        curl({url(*server, "/health"), url(*server, "/metrics"), url(*server, "/v1/status")});
    ASSERT_TRUE(answer.ok());
  }
  // The server's share of an idle daemon's memory: its threads' stacks as touched, its buffers.
  // (AddressSanitizer's shadow memory and quarantine make the number meaningless there.)
  long growth = resident_kib() - rss_before;
#ifndef __SANITIZE_ADDRESS__
  EXPECT_LT(growth, 4 * 1024) << "the server grew the process by " << growth << " KiB";
#endif
  RecordProperty("rss_growth_kib", static_cast<int>(growth));
  std::string target = url(*server, "/health");
  server->stop();
  server->stop();  // idempotent
  EXPECT_EQ(thread_count(), before);
  auto refused = run_process({"curl", "-sS", target});
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->exit_code, 7) << "still listening after stop(): " << refused->out;

  // Start and stop at once, many times: stop() never hangs on a listener that has not started.
  for (int i = 0; i < 50; ++i) {
    auto quick = HttpServer::start("127.0.0.1:0", state);
    ASSERT_TRUE(quick.ok()) << quick.error().message();
  }
  EXPECT_EQ(thread_count(), before);
}

// Clients that connect and send nothing (a port scan, a stuck proxy, a slowloris): /health and
// /metrics still answer at once. With a fixed pool of two workers, each waiting out a 5 s
// keep-alive per idle connection, 24 of them held /health back for a minute, and Consul's check
// timed out first. The 4 s bound is for a request that hangs, not a speed requirement.
TEST(DaemonHttp, IdleConnectionsDoNotHoldUpHealthOrMetrics) {
  State state("0.1.0", false);
  auto server = start_server(state);
  ASSERT_TRUE(server);
  std::vector<int> idle;
  for (int i = 0; i < 24; ++i) {
    int socket = ::socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(socket, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(server->port()));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(socket, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    idle.push_back(socket);
  }
  for (const char* path : {"/health", "/metrics", "/v1/status", "/health"}) {
    auto answer = curl({"--max-time", "4", url(*server, path)});
    ASSERT_TRUE(answer.ok()) << path << ": " << answer.error().message();
    EXPECT_EQ(answer->status, 200) << path << " with 24 idle connections open";
  }
  for (int socket : idle)
    ::close(socket);
  server->stop();
}

TEST(DaemonHttp, PromtoolAcceptsTheMetrics) {
  REQUIRE_PROMETHEUS_TOOL(promtool, "promtool");
  State fresh("0.1.0", true);
  State busy("0.1.0", true);
  busy.set_leader(true);
  busy.attempt_started(Clock::now());
  BackupOutcome partial = outcome(Clock::now(), 4096);
  partial.partial = true;
  busy.succeeded(partial);
  busy.failed("consul", "connection refused", 2s);
  busy.failed("storage", "503", 2s);

  for (const State* state : {&fresh, &busy}) {
    auto server = start_server(*state);
    ASSERT_TRUE(server);
    auto check =
        run_process({"bash", "-c",
                     fmt::format("set -o pipefail; curl -sS --fail '{}' | '{}' check metrics 2>&1",
                                 url(*server, "/metrics"), promtool->string())});
    ASSERT_TRUE(check.ok()) << check.error().message();
    EXPECT_EQ(check->exit_code, 0) << check->out << check->err;
    EXPECT_EQ(check->out, "") << "promtool complained";
    EXPECT_EQ(check->err, "");
  }
}

// A python3 for checks with its standard library: $CSNAP_PYTHON or python3 on the PATH.
std::optional<fs::path> find_python() {
  if (const char* explicit_python = std::getenv("CSNAP_PYTHON"); explicit_python != nullptr)
    return fs::path(explicit_python);
  return find_in_path("python3");
}

#define REQUIRE_PYTHON(variable)                                                      \
  std::optional<fs::path> variable = find_python();                                   \
  if (!(variable)) {                                                                  \
    if (::csnap::testing::running_in_ci())                                            \
      FAIL() << "python3 not found (CI=true): install with: apt-get install python3"; \
    GTEST_SKIP() << "python3 not found: install with: apt-get install python3";       \
  }

// Parses the page in the file argv[1] as XML (the page is well-formed: a stray '<' or '&' from an
// unescaped string breaks it) and prints what a reader sees, as JSON.
constexpr const char* kPageReader = R"(
import json, sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
svg = '{http://www.w3.org/2000/svg}'
def texts(tag):
    return [''.join(e.itertext()) for e in root.iter(tag)]
def circles(cls):
    return len([c for c in root.iter(svg + 'circle') if c.get('class') == cls])
health = [e for e in root.iter('p') if e.get('id') == 'health']
print(json.dumps({
    'title': texts('title')[0],
    'health': ''.join(health[0].itertext()) if health else None,
    'health_class': health[0].get('class') if health else None,
    'codes': texts('code'),
    'cells': texts('td'),
    'size_points': circles('size-point'),
    'duration_points': circles('duration-point'),
    'failed_points': circles('duration-point failed'),
    'scripts': len(list(root.iter('script'))),
}))
)";

TEST(DaemonHttp, WebPage) {
  REQUIRE_PYTHON(python);
  State state("0.1.0", true);
  state.set_leader(true);
  state.attempt_started(Clock::now());
  BackupOutcome first = outcome(Clock::now() - 120s, 5000);
  first.key = "backups/2027/1/15/host.consul.snapshot.1.tar.zst";
  state.succeeded(first);
  state.failed("storage", "uploading <backups/x>: 503 Slow Down & more", 1500ms);
  BackupOutcome second = outcome(Clock::now() - 100s, 424242);
  second.key = "backups/2027/1/15/host.consul.snapshot.2.tar.zst";
  second.partial = true;
  state.succeeded(second);

  HttpServerOptions options;
  options.health_max_age = 3600s;
  options.list_backups = [&]() -> Result<BackupListing> {
    return BackupListing{
        .storage = "s3://bucket/<prefix>",
        .backups = {
            {.key = second.key, .size_bytes = 424242, .time = Clock::time_point(1800000000s)},
            {.key = "backups/<script>alert(1)</script>.tar.zst",
             .size_bytes = 7,
             .time = Clock::time_point(1s)}}};
  };
  auto server = start_server(state, std::move(options));
  ASSERT_TRUE(server);

  auto headers = headers_of("GET", url(*server, "/"));
  EXPECT_NE(headers.find("http/1.1 200"), std::string::npos) << headers;
  EXPECT_NE(headers.find("content-type: text/html; charset=utf-8"), std::string::npos) << headers;

  auto answer = curl({url(*server, "/")});
  ASSERT_TRUE(answer.ok()) << answer.error().message();
  EXPECT_EQ(answer->status, 200);
  EXPECT_NE(answer->body.find("<p id=\"health\" class=\"health ok\">Last backup 10"),
            std::string::npos)
      << answer->body;
  EXPECT_NE(answer->body.find(second.key), std::string::npos);
  EXPECT_EQ(answer->body.find("<script"), std::string::npos);
  EXPECT_NE(answer->body.find("backups/&lt;script&gt;alert(1)&lt;/script&gt;.tar.zst"),
            std::string::npos);

  // What a reader sees, parsed by Python's XML parser rather than by our own code.
  std::string file = (fs::temp_directory_path() / fmt::format("csnap-page-{}.html", ::getpid()));
  auto saved = run_process({"curl", "-sS", "--fail", "-o", file, url(*server, "/")});
  ASSERT_TRUE(saved.ok() && saved->exit_code == 0) << (saved.ok() ? saved->err : "");
  auto parsed = run_process({python->string(), "-c", kPageReader, file});
  fs::remove(file);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  ASSERT_EQ(parsed->exit_code, 0) << "the page is not well-formed: " << parsed->err;
  auto page = nlohmann::json::parse(parsed->out);
  EXPECT_EQ(page["title"], "consul-snapshot: healthy");
  EXPECT_EQ(page["health_class"], "health ok");
  std::string health = page["health"];
  EXPECT_EQ(health.rfind("Last backup 10", 0), 0u) << health;
  EXPECT_NE(health.find(" seconds ago (GET /health: 200"), std::string::npos) << health;
  EXPECT_EQ(page["scripts"], 0);
  EXPECT_EQ(page["size_points"], 2);
  EXPECT_EQ(page["duration_points"], 2);
  EXPECT_EQ(page["failed_points"], 1);
  auto codes = page["codes"];
  EXPECT_NE(std::find(codes.begin(), codes.end(), second.key), codes.end()) << codes;
  EXPECT_NE(std::find(codes.begin(), codes.end(), "s3://bucket/<prefix>"), codes.end()) << codes;
  EXPECT_NE(std::find(codes.begin(), codes.end(), "backups/<script>alert(1)</script>.tar.zst"),
            codes.end())
      << codes;
  auto cells = page["cells"];
  EXPECT_NE(std::find(cells.begin(), cells.end(), "uploading <backups/x>: 503 Slow Down & more"),
            cells.end())
      << cells;
  EXPECT_NE(std::find(cells.begin(), cells.end(),
                      "yes: entries the token could not read were left out (--allow-partial)"),
            cells.end())
      << cells;

  // HEAD answers like GET, without a body.
  auto head = run_process(
      {"curl", "-sS", "-I", "-o", "/dev/null", "-w", "%{http_code}", url(*server, "/")});
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->out, "200");

  auto metrics = curl({url(*server, "/metrics")});
  ASSERT_TRUE(metrics.ok());
  EXPECT_NE(metrics->body.find("\nconsul_snapshot_last_backup_partial 1\n"), std::string::npos)
      << metrics->body;
}

TEST(DaemonHttp, WebPageWhenListingFails) {
  State state("0.1.0", false);
  HttpServerOptions options;
  options.list_backups = []() -> Result<BackupListing> {
    return Error(ErrorKind::transient, "listing backups/: 503 Slow Down");
  };
  auto server = start_server(state, std::move(options));
  ASSERT_TRUE(server);
  auto answer = curl({url(*server, "/")});
  ASSERT_TRUE(answer.ok()) << answer.error().message();
  EXPECT_EQ(answer->status, 200) << "the page still shows the status";
  EXPECT_NE(answer->body.find("Listing the backups failed: listing backups/: 503 Slow Down"),
            std::string::npos)
      << answer->body;
  EXPECT_NE(answer->body.find("No backup yet; started "), std::string::npos);

  // Without a listing callback the page has no backups section.
  auto bare = start_server(state);
  ASSERT_TRUE(bare);
  answer = curl({url(*bare, "/")});
  ASSERT_TRUE(answer.ok());
  EXPECT_EQ(answer->status, 200);
  EXPECT_EQ(answer->body.find("Backups"), std::string::npos);
}

// A Prometheus server in its own folder, stopped and removed in the destructor.
class PrometheusServer {
 public:
  PrometheusServer(const fs::path& binary, int target_port) {
    std::string pattern = (fs::temp_directory_path() / "csnap-prometheus-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr)
      return;
    directory_ = pattern;
    auto port = csnap::testing::free_port();
    if (!port.ok())
      return;
    port_ = *port;
    std::ofstream(directory_ / "prometheus.yml") << fmt::format(
        "global:\n"
        "  scrape_interval: 1s\n"
        "  scrape_timeout: 1s\n"
        "scrape_configs:\n"
        "  - job_name: consul_snapshot\n"
        "    static_configs:\n"
        "      - targets: ['127.0.0.1:{}']\n",
        target_port);
    std::vector<std::string> args = {
        binary.string(), "--config.file=" + (directory_ / "prometheus.yml").string(),
        "--storage.tsdb.path=" + (directory_ / "data").string(),
        fmt::format("--web.listen-address=127.0.0.1:{}", port_), "--log.level=warn"};
    std::vector<char*> argv;
    argv.reserve(args.size() + 1);
    for (auto& arg : args)
      argv.push_back(arg.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, (directory_ / "log").c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    if (posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ) != 0)
      pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
  }
  ~PrometheusServer() {
    if (pid_ > 0)
      csnap::testing::stop_process(pid_, 10s);
    if (!directory_.empty()) {
      std::error_code ignored;
      fs::remove_all(directory_, ignored);
    }
  }
  PrometheusServer(const PrometheusServer&) = delete;
  PrometheusServer& operator=(const PrometheusServer&) = delete;

  bool started() const { return pid_ > 0; }
  int port() const { return port_; }
  std::string log() const {
    std::ifstream in(directory_ / "log");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  // The value of the instant query `query` as text, if it has exactly one sample.
  std::optional<std::string> query(const std::string& query) const {
    auto answer = curl({"-G", fmt::format("http://127.0.0.1:{}/api/v1/query", port_),
                        "--data-urlencode", "query=" + query});
    if (!answer.ok() || answer->status != 200)
      return std::nullopt;
    auto json = nlohmann::json::parse(answer->body, nullptr, false);
    if (json.is_discarded() || json["status"] != "success" || json["data"]["result"].size() != 1)
      return std::nullopt;
    return json["data"]["result"][0]["value"][1].get<std::string>();
  }

 private:
  fs::path directory_;
  int port_ = 0;
  pid_t pid_ = -1;
};

TEST(DaemonHttp, PrometheusScrapesTheServer) {
  REQUIRE_PROMETHEUS_TOOL(prometheus_binary, "prometheus");
  State state("0.1.0", true);
  state.set_leader(true);
  state.attempt_started(Clock::now());
  state.succeeded(outcome(Clock::now(), 987654));
  state.failed("lock", "session invalidated", 1s);
  auto server = start_server(state);
  ASSERT_TRUE(server);

  PrometheusServer prometheus(*prometheus_binary, server->port());
  ASSERT_TRUE(prometheus.started());
  std::optional<std::string> size;
  EXPECT_TRUE(eventually(60s,
                         [&] {
                           size = prometheus.query(
                               "consul_snapshot_last_size_bytes{job=\"consul_snapshot\"}");
                           return size.has_value();
                         }))
      << "Prometheus never scraped the server; its log:\n"
      << prometheus.log();
  EXPECT_EQ(size.value_or(""), "987654");
  EXPECT_EQ(prometheus.query("consul_snapshot_backup_failures_total{cause=\"lock\"}"), "1");
  EXPECT_EQ(prometheus.query("up{job=\"consul_snapshot\"}"), "1");

  // A change in the state reaches Prometheus on a later scrape.
  state.succeeded(outcome(Clock::now(), 55));
  EXPECT_TRUE(eventually(30s, [&] {
    return prometheus.query("consul_snapshot_last_size_bytes") == std::optional<std::string>("55");
  })) << prometheus.log();
}

}  // namespace
}  // namespace csnap::daemon
