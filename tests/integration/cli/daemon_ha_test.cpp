// The daemon against a real Consul: the leader lock with two daemons (and a takeover after
// kill -9, and after the leader is cut off from Consul by a fault proxy), /health and /metrics
// through a Consul outage, --register-service with the agent's own check, and SIGTERM during a
// large backup. Everything is checked from outside: curl against
// Consul and against the daemon's HTTP server, the files in the backup folder, the process exit.

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>

#include "cli_test.hpp"
#include "daemon_process.hpp"
#include "test_data.hpp"
#include "toxiproxy.hpp"
#include "util/base64.hpp"

namespace csnap::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;

// How the fault proxy cuts the leader off from Consul.
enum class Cut {
  stall,    // Toxiproxy's `timeout` toxic both ways: nothing gets through, connections stay open
  latency,  // answers arrive 15 s late: longer than the TTL, so no renewal is ever confirmed
};

class DaemonHaTest : public CliTest {
 protected:
  // Two daemons against one Consul, alpha through a Toxiproxy proxy. Alpha leads; then the proxy
  // cuts it off (`cut`). What must hold:
  //  - alpha stops leading on its own (is_leader 0) before Consul releases its lock key;
  //  - no backup of alpha is committed after the moment the test first sees the key no longer
  //    held by alpha's session (Consul then holds the key back for the lock-delay, 1 s here, and
  //    the test polls every 50 ms, so this also puts every alpha commit before beta's
  //    acquisition);
  //  - beta takes over and backs up;
  //  - alpha keeps running, counts its failures, and its /health (max age 20 s) tells the truth:
  //    500 while it sees no recent backup, 200 again once the toxic is gone and it reads beta's;
  //  - once beta stops, alpha leads and backs up again.
  void cut_off_leader(Cut cut);

  // The daemon's HTTP base URL, from its log line "Serving ... on http://127.0.0.1:PORT".
  std::string http_url(const Daemon& daemon) {
    static const std::regex served(R"(Serving /, /health\S*.* on (http://127\.0\.0\.1:\d+))");
    std::string url;
    eventually(30s, [&] {
      std::smatch match;
      auto log = daemon.log();
      if (std::regex_search(log, match, served))
        url = match[1];
      return !url.empty();
    });
    EXPECT_FALSE(url.empty()) << "no 'Serving' line in the log:\n" << daemon.log();
    return url;
  }

  CurlResult get(const std::string& url) {
    auto result = curl({url});
    if (!result.ok())
      return {};
    return *result;
  }

  std::string consul_url(const std::string& path) const {
    return "http://" + agent_->http_address() + path;
  }

  // Host names (the part before ".consul.snapshot.") of the backups in the folder.
  std::multiset<std::string> backup_hosts() const {
    std::multiset<std::string> hosts;
    for (const auto& file : backup_files()) {
      auto name = file.filename().string();
      hosts.insert(name.substr(0, name.find(".consul.snapshot.")));
    }
    return hosts;
  }

  // The value of a metric line that starts with `name` (labels included), if present.
  static std::optional<double> metric(const std::string& text, const std::string& name) {
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
      if (line.rfind(name + " ", 0) == 0)
        return std::stod(line.substr(name.size() + 1));
    }
    return std::nullopt;
  }

  // The session holding the leader lock and the host named in its value, asked of Consul
  // directly; empty strings when the key is free, nullopt when Consul did not answer.
  std::optional<std::pair<std::string, std::string>> lock_holder() {
    auto lock = get(consul_url("/v1/kv/service/consul-snapshot/leader"));
    if (lock.status == 404)
      return std::pair<std::string, std::string>{};
    auto entry = json::parse(lock.body, nullptr, false);
    if (lock.status != 200 || !entry.is_array() || entry.empty())
      return std::nullopt;
    std::string session = entry[0].value("Session", "");
    std::string host;
    if (auto value = base64::decode(entry[0].value("Value", "")); value && !session.empty()) {
      auto holder = json::parse(*value, nullptr, false);
      if (holder.is_object())
        host = holder.value("host", "");
    }
    return std::pair{session, host};
  }

  // When each backup of `host` was committed: the change time of its file, which the rename that
  // publishes it sets.
  std::vector<std::chrono::system_clock::time_point> commit_times(const std::string& host) const {
    std::vector<std::chrono::system_clock::time_point> times;
    for (const auto& file : backup_files()) {
      if (file.filename().string().rfind(host + ".consul.snapshot.", 0) != 0)
        continue;
      struct stat info {};
      if (::stat(file.c_str(), &info) != 0)
        continue;
      times.emplace_back(std::chrono::seconds(info.st_ctim.tv_sec) +
                         std::chrono::nanoseconds(info.st_ctim.tv_nsec));
    }
    return times;
  }

  // The sum of every sample of metric family `name` (any labels).
  static double metric_sum(const std::string& text, const std::string& name) {
    std::istringstream lines(text);
    std::string line;
    double sum = 0;
    while (std::getline(lines, line)) {
      if (line.rfind(name + "{", 0) == 0 || line.rfind(name + " ", 0) == 0)
        sum += std::stod(line.substr(line.rfind(' ') + 1));
    }
    return sum;
  }
};

void DaemonHaTest::cut_off_leader(Cut cut) {
  CSNAP_REQUIRE_CONSUL(agent, ConsulAgentOptions{});
  CSNAP_REQUIRE_TOXIPROXY(proxy);
  adopt(std::move(agent));
  ASSERT_TRUE(agent_->run_cli({"kv", "put", "app/key", "value"}).ok());
  const std::string proxy_name = cut == Cut::stall ? "alpha_consul_stall" : "alpha_consul_latency";
  auto port = proxy->create_proxy(proxy_name, agent_->http_address());
  ASSERT_TRUE(port.ok()) << port.error().message();

  auto daemon_env = env();
  daemon_env["BACKUPINTERVAL"] = "1";
  daemon_env["CONSUL_SNAPSHOT_LOCK_TTL"] = "10s";
  daemon_env["CONSUL_SNAPSHOT_LOCK_DELAY"] = "1s";
  daemon_env["CONSUL_SNAPSHOT_HEALTH_MAX_AGE"] = "20s";
  // A backup's own requests (not the lock's) wait this long on a stalled connection, times four
  // attempts, before the failure is counted.
  daemon_env["CONSUL_SNAPSHOT_CONSUL_TIMEOUT"] = "5s";
  auto alpha_env = daemon_env;
  alpha_env["CONSUL_SNAPSHOT_HOSTNAME"] = "alpha";
  alpha_env["CONSUL_HTTP_ADDR"] = "127.0.0.1:" + std::to_string(*port);
  auto beta_env = daemon_env;
  beta_env["CONSUL_SNAPSHOT_HOSTNAME"] = "beta";

  Daemon alpha({"backup"}, alpha_env, work_ / "alpha.log");
  ASSERT_TRUE(alpha.started());
  auto alpha_url = http_url(alpha);
  std::string alpha_session;
  ASSERT_TRUE(eventually(30s, [&] {
    auto holder = lock_holder();
    if (holder && holder->second == "alpha")
      alpha_session = holder->first;
    return !alpha_session.empty() && !commit_times("alpha").empty();
  })) << alpha.log();
  Daemon beta({"backup"}, beta_env, work_ / "beta.log");
  ASSERT_TRUE(beta.started());
  auto beta_url = http_url(beta);
  ASSERT_TRUE(eventually(10s, [&] {
    return metric(get(beta_url + "/metrics").body, "consul_snapshot_is_leader") == 0.0;
  })) << beta.log();

  using csnap::testing::Toxic;
  using csnap::testing::ToxicStream;
  std::vector<std::string> toxics;
  if (cut == Cut::stall) {
    for (auto stream : {ToxicStream::upstream, ToxicStream::downstream}) {
      std::string name = stream == ToxicStream::upstream ? "stall_up" : "stall_down";
      ASSERT_TRUE(proxy
                      ->add_toxic(proxy_name, {.name = name,
                                               .type = "timeout",
                                               .stream = stream,
                                               .attributes_json = R"({"timeout": 0})"})
                      .ok());
      toxics.push_back(name);
    }
  } else {
    ASSERT_TRUE(proxy
                    ->add_toxic(proxy_name, {.name = "slow",
                                             .type = "latency",
                                             .stream = ToxicStream::downstream,
                                             .attributes_json = R"({"latency": 15000})"})
                    .ok());
    toxics.emplace_back("slow");
  }
  const auto cut_at = std::chrono::system_clock::now();

  // Watch Consul (directly) and alpha's metrics until beta holds the lock.
  std::optional<std::chrono::system_clock::time_point> released;  // first seen not alpha's
  std::optional<std::chrono::system_clock::time_point> stepped_down;
  std::string beta_session;
  EXPECT_TRUE(eventually(150s,
                         [&] {
                           auto now = std::chrono::system_clock::now();
                           if (!stepped_down && metric(get(alpha_url + "/metrics").body,
                                                       "consul_snapshot_is_leader") == 0.0)
                             stepped_down = now;
                           auto holder = lock_holder();
                           if (holder && holder->first != alpha_session) {
                             if (!released)
                               released = now;
                             if (holder->second == "beta")
                               beta_session = holder->first;
                           }
                           return !beta_session.empty();
                         }))
      << "beta never took over; alpha:\n"
      << alpha.log() << "\nbeta:\n"
      << beta.log();
  ASSERT_TRUE(released.has_value());
  ASSERT_TRUE(stepped_down.has_value()) << "alpha still claims to lead:\n" << alpha.log();
  EXPECT_LT(*stepped_down, *released) << "alpha led until Consul released its lock";
  auto since_cut = [&](std::chrono::system_clock::time_point when) {
    return std::chrono::duration<double>(when - cut_at).count();
  };
  std::cout << "after the cut: alpha stepped down at " << since_cut(*stepped_down)
            << " s, Consul released its lock at " << since_cut(*released) << " s, beta held it at "
            << since_cut(std::chrono::system_clock::now()) << " s\n";
  EXPECT_TRUE(eventually(30s, [&] { return !commit_times("beta").empty(); })) << beta.log();

  for (auto committed : commit_times("alpha")) {
    EXPECT_LT(committed, *released) << "alpha committed a backup "
                                    << std::chrono::duration<double>(committed - *released).count()
                                    << " s after its lock was released:\n"
                                    << alpha.log();
  }
  // Cut off, alpha keeps running, counts failures, and reports the stale backup it knows of.
  EXPECT_TRUE(eventually(60s, [&] { return get(alpha_url + "/health").status == 500; }))
      << get(alpha_url + "/health").body;
  // /health turns 500 when the last backup grows stale, which can come before the first failed
  // attempt has ended (under load, an attempt cut off by latency takes its full timeouts).
  EXPECT_TRUE(eventually(90s, [&] {
    return metric_sum(get(alpha_url + "/metrics").body, "consul_snapshot_backup_failures_total") >=
           1;
  })) << get(alpha_url + "/metrics").body;
  auto metrics = get(alpha_url + "/metrics").body;
  EXPECT_EQ(metric(metrics, "consul_snapshot_is_leader"), 0.0) << metrics;
  EXPECT_FALSE(alpha.wait(0ms).has_value()) << "alpha exited:\n" << alpha.log();
  for (auto committed : commit_times("alpha"))
    EXPECT_LT(committed, *released) << alpha.log();

  // Reconnected: alpha follows, sees beta's backups, and is healthy again.
  for (const auto& toxic : toxics)
    ASSERT_TRUE(proxy->remove_toxic(proxy_name, toxic).ok());
  EXPECT_TRUE(eventually(60s, [&] { return get(alpha_url + "/health").status == 200; }))
      << get(alpha_url + "/health").body << "\n"
      << alpha.log();
  EXPECT_EQ(metric(get(alpha_url + "/metrics").body, "consul_snapshot_is_leader"), 0.0);
  EXPECT_EQ(lock_holder().value_or(std::pair<std::string, std::string>{}).first, beta_session);

  // Beta stops (and releases the lock): alpha leads and backs up again.
  const auto alpha_before = commit_times("alpha").size();
  beta.signal(SIGTERM);
  ASSERT_TRUE(beta.wait(30s).has_value()) << beta.log();
  EXPECT_TRUE(eventually(60s, [&] { return commit_times("alpha").size() > alpha_before; }))
      << alpha.log();
  EXPECT_EQ(metric(get(alpha_url + "/metrics").body, "consul_snapshot_is_leader"), 1.0);
  alpha.signal(SIGTERM);
  auto code = alpha.wait(30s);
  ASSERT_TRUE(code.has_value()) << alpha.log();
  EXPECT_EQ(*code, 0) << alpha.log();
  EXPECT_TRUE(proxy->remove_proxy(proxy_name).ok());
}

TEST_F(DaemonHaTest, TwoDaemonsElectOneLeaderAndTheOtherTakesOverAfterKill9) {
  CSNAP_REQUIRE_CONSUL(agent, ConsulAgentOptions{});
  adopt(std::move(agent));
  ASSERT_TRUE(agent_->run_cli({"kv", "put", "app/key", "value"}).ok());
  constexpr int ttl = 10;
  constexpr int lock_delay = 1;
  constexpr int interval = 1;
  auto daemon_env = env();
  daemon_env["BACKUPINTERVAL"] = std::to_string(interval);
  daemon_env["CONSUL_SNAPSHOT_LOCK_TTL"] = std::to_string(ttl) + "s";
  daemon_env["CONSUL_SNAPSHOT_LOCK_DELAY"] = std::to_string(lock_delay) + "s";
  auto alpha_env = daemon_env;
  alpha_env["CONSUL_SNAPSHOT_HOSTNAME"] = "alpha";
  auto beta_env = daemon_env;
  beta_env["CONSUL_SNAPSHOT_HOSTNAME"] = "beta";
  auto alpha =
      std::make_unique<Daemon>(std::vector<std::string>{"backup"}, alpha_env, work_ / "alpha.log");
  auto beta =
      std::make_unique<Daemon>(std::vector<std::string>{"backup"}, beta_env, work_ / "beta.log");
  ASSERT_TRUE(alpha->started() && beta->started());
  auto alpha_url = http_url(*alpha);
  auto beta_url = http_url(*beta);

  ASSERT_TRUE(eventually(60s, [&] { return backup_files().size() >= 3; }))
      << "alpha:\n"
      << alpha->log() << "\nbeta:\n"
      << beta->log();
  auto hosts = backup_hosts();
  std::set<std::string> writers(hosts.begin(), hosts.end());
  ASSERT_EQ(writers.size(), 1u) << "both daemons wrote backups";
  const std::string leader = *writers.begin();
  const std::string follower = leader == "alpha" ? "beta" : "alpha";
  auto& leader_daemon = leader == "alpha" ? alpha : beta;
  const auto& follower_url = leader == "alpha" ? beta_url : alpha_url;
  const auto& leader_url = leader == "alpha" ? alpha_url : beta_url;

  // The lock key holds the leader's session, and names the leader.
  auto lock = get(consul_url("/v1/kv/service/consul-snapshot/leader"));
  ASSERT_EQ(lock.status, 200) << lock.body;
  auto entry = json::parse(lock.body).at(0);
  ASSERT_TRUE(entry.contains("Session")) << lock.body;
  auto session = entry["Session"].get<std::string>();
  auto value = base64::decode(entry["Value"].get<std::string>());
  ASSERT_TRUE(value.has_value());
  EXPECT_EQ(json::parse(*value).at("host"), leader) << *value;
  auto info = get(consul_url("/v1/session/info/" + session));
  ASSERT_EQ(info.status, 200);
  EXPECT_EQ(json::parse(info.body).at(0).at("Name"), "consul-snapshot") << info.body;
  EXPECT_EQ(json::parse(info.body).at(0).at("TTL"), "10s") << info.body;

  // Each daemon says whether it leads; the follower's health reflects the leader's backups.
  EXPECT_EQ(metric(get(leader_url + "/metrics").body, "consul_snapshot_is_leader"), 1.0);
  EXPECT_EQ(metric(get(follower_url + "/metrics").body, "consul_snapshot_is_leader"), 0.0);
  EXPECT_TRUE(eventually(10s, [&] {
    auto health = get(follower_url + "/health");
    return health.status == 200 && health.body.find("Last backup") != std::string::npos;
  })) << get(follower_url + "/health").body;

  leader_daemon->signal(SIGKILL);
  const auto killed = std::chrono::steady_clock::now();
  ASSERT_TRUE(leader_daemon->wait(10s).has_value());
  // Consul expires the dead leader's session within twice its TTL; the lock-delay follows; the
  // follower tries every interval. A few seconds more for the backup itself.
  const auto bound = std::chrono::seconds(2 * ttl + lock_delay + interval);
  EXPECT_TRUE(eventually(bound + 10s, [&] { return backup_hosts().count(follower) > 0; }))
      << "no takeover; follower log:\n"
      << (leader == "alpha" ? beta : alpha)->log();
  auto took =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - killed);
  std::cout << "takeover after kill -9: " << took.count() << " s (bound " << bound.count()
            << " s + the backup)\n";
  auto new_lock = get(consul_url("/v1/kv/service/consul-snapshot/leader"));
  auto new_entry = json::parse(new_lock.body).at(0);
  EXPECT_NE(new_entry.value("Session", ""), session);
  EXPECT_EQ(json::parse(*base64::decode(new_entry["Value"].get<std::string>())).at("host"),
            follower);

  auto& survivor = leader == "alpha" ? beta : alpha;
  survivor->signal(SIGTERM);
  auto code = survivor->wait(30s);
  ASSERT_TRUE(code.has_value()) << survivor->log();
  EXPECT_EQ(*code, 0) << survivor->log();
  // A clean stop releases the lock: the key has no session any more.
  auto released = json::parse(get(consul_url("/v1/kv/service/consul-snapshot/leader")).body);
  EXPECT_FALSE(released.at(0).contains("Session")) << released.dump();
}

TEST_F(DaemonHaTest, ALeaderStalledByAFaultProxyStepsDownBeforeAnotherTakesOver) {
  cut_off_leader(Cut::stall);
}

TEST_F(DaemonHaTest, ALeaderWithLatencyBeyondTheTtlStepsDownAndAnotherTakesOver) {
  cut_off_leader(Cut::latency);
}

TEST_F(DaemonHaTest, ALeaderWhoseSessionIsDestroyedStopsLeadingAndStartsOver) {
  CSNAP_REQUIRE_CONSUL(agent, ConsulAgentOptions{});
  adopt(std::move(agent));
  auto daemon_env = env();
  daemon_env["BACKUPINTERVAL"] = "1";
  daemon_env["CONSUL_SNAPSHOT_LOCK_TTL"] = "10s";
  daemon_env["CONSUL_SNAPSHOT_LOCK_DELAY"] = "3s";
  Daemon daemon({"backup"}, daemon_env, work_ / "daemon.log");
  ASSERT_TRUE(daemon.started());
  auto url = http_url(daemon);
  auto lock_session = [&]() -> std::string {
    auto lock = get(consul_url("/v1/kv/service/consul-snapshot/leader"));
    if (lock.status != 200)
      return "";
    return json::parse(lock.body).at(0).value("Session", "");
  };
  ASSERT_TRUE(eventually(30s, [&] { return !lock_session().empty(); })) << daemon.log();
  auto first = lock_session();

  // An operator (or Consul, when the agent's node fails) invalidates the session: Consul releases
  // the key and holds it back for the lock-delay.
  auto destroyed = curl({"-X", "PUT", consul_url("/v1/session/destroy/" + first)});
  ASSERT_TRUE(destroyed.ok() && destroyed->status == 200);
  EXPECT_TRUE(eventually(
      20s, [&] { return metric(get(url + "/metrics").body, "consul_snapshot_is_leader") == 0.0; }))
      << "the daemon still claims to lead after its session was destroyed:\n"
      << daemon.log();
  // After the lock-delay it takes the lock again with a new session.
  EXPECT_TRUE(eventually(40s, [&] {
    auto now = lock_session();
    return !now.empty() && now != first;
  })) << daemon.log();
  EXPECT_TRUE(eventually(20s, [&] {
    return metric(get(url + "/metrics").body, "consul_snapshot_is_leader") == 1.0;
  })) << daemon.log();

  daemon.signal(SIGTERM);
  auto code = daemon.wait(30s);
  ASSERT_TRUE(code.has_value()) << daemon.log();
  EXPECT_EQ(*code, 0) << daemon.log();
}

TEST_F(DaemonHaTest, HealthAndMetricsFollowBackupsThroughAConsulOutage) {
  CSNAP_REQUIRE_CONSUL(agent, ConsulAgentOptions{});
  adopt(std::move(agent));
  ASSERT_TRUE(agent_->run_cli({"kv", "put", "app/key", "value"}).ok());
  auto daemon_env = env();
  daemon_env["BACKUPINTERVAL"] = "2";
  daemon_env["CONSUL_SNAPSHOT_HEALTH_MAX_AGE"] = "5s";
  daemon_env["CONSUL_SNAPSHOT_LOCK_TTL"] = "10s";
  daemon_env["CONSUL_SNAPSHOT_LOCK_DELAY"] = "1s";
  Daemon daemon({"backup"}, daemon_env, work_ / "daemon.log");
  ASSERT_TRUE(daemon.started());
  auto url = http_url(daemon);
  ASSERT_TRUE(eventually(30s, [&] {
    auto health = get(url + "/health");
    return health.status == 200 && health.body.rfind("Last backup ", 0) == 0;
  })) << daemon.log();

  agent_->stop();
  // Three intervals and more without Consul: /health turns 500 once the last backup is older
  // than the maximum age, the failures are counted, the daemon keeps running.
  EXPECT_TRUE(eventually(60s, [&] { return get(url + "/health").status == 500; }))
      << get(url + "/health").body;
  EXPECT_TRUE(eventually(60s, [&] {
    return metric_sum(get(url + "/metrics").body, "consul_snapshot_backup_failures_total") >= 3;
  })) << get(url + "/metrics").body;
  auto unhealthy = get(url + "/health");
  EXPECT_EQ(unhealthy.status, 500);
  EXPECT_NE(unhealthy.body.find("older than"), std::string::npos) << unhealthy.body;
  EXPECT_FALSE(daemon.wait(0ms).has_value()) << "the daemon exited:\n" << daemon.log();

  ASSERT_TRUE(agent_->restart().ok());
  // Back to 200 after the next backup (the restarted dev agent lost the old session).
  EXPECT_TRUE(eventually(90s, [&] { return get(url + "/health").status == 200; }))
      << get(url + "/health").body << "\n"
      << daemon.log();
  auto status = json::parse(get(url + "/v1/status").body);
  EXPECT_EQ(status.value("leader", false), true) << status.dump();
  EXPECT_GE(status.value("failures_total", 0), 3) << status.dump();
  EXPECT_GE(status.value("successes", 0), 2) << status.dump();
  auto backups = json::parse(get(url + "/v1/backups").body);
  EXPECT_EQ(backups.at("backups").size(), backup_files().size()) << backups.dump();

  daemon.signal(SIGTERM);
  auto code = daemon.wait(30s);
  ASSERT_TRUE(code.has_value()) << daemon.log();
  EXPECT_EQ(*code, 0) << daemon.log();
}

TEST_F(DaemonHaTest, RegisteredServiceCheckPassesThenGoesCriticalWhenBackupsAreStale) {
  CSNAP_REQUIRE_CONSUL(agent, ConsulAgentOptions{});
  adopt(std::move(agent));
  auto daemon_env = env();
  daemon_env["BACKUPINTERVAL"] = "1h";  // one backup at start, then stale after the max age
  // Longer than the check's 10 s interval (Consul runs the first check within one interval).
  daemon_env["CONSUL_SNAPSHOT_HEALTH_MAX_AGE"] = "15s";
  Daemon daemon({"backup", "--register-service"}, daemon_env, work_ / "daemon.log");
  ASSERT_TRUE(daemon.started());
  http_url(daemon);

  auto check_status = [&]() -> std::string {
    auto checks = get(consul_url("/v1/agent/checks"));
    if (checks.status != 200)
      return "";
    auto parsed = json::parse(checks.body);
    for (const auto& [id, check] : parsed.items()) {
      if (check.value("ServiceName", "") == "consul-snapshot")
        return check.value("Status", "");
    }
    return "";
  };
  EXPECT_TRUE(eventually(40s, [&] { return check_status() == "passing"; }))
      << check_status() << "\n"
      << daemon.log();
  EXPECT_TRUE(eventually(60s, [&] { return check_status() == "critical"; }))
      << check_status() << "\n"
      << daemon.log();

  daemon.signal(SIGTERM);
  auto code = daemon.wait(30s);
  ASSERT_TRUE(code.has_value()) << daemon.log();
  EXPECT_EQ(*code, 0) << daemon.log();
  auto services = get(consul_url("/v1/agent/services"));
  EXPECT_EQ(services.body.find("consul-snapshot"), std::string::npos)
      << "still registered after shutdown: " << services.body;
}

TEST_F(DaemonHaTest, SigtermDuringALargeBackupAbortsAfterTheGraceOrFinishesWithinIt) {
  CSNAP_REQUIRE_CONSUL(agent, ConsulAgentOptions{});
  adopt(std::move(agent));
  // About 100 MB of values, loaded with Consul's own CLI: a backup that takes seconds even in the
  // release build (the short grace must end it), and a few minutes at most under ASan.
  json entries = json::array();
  for (int i = 0; i < 1000; ++i) {
    entries.push_back({{"key", "big/" + std::to_string(i)},
                       {"flags", 0},
                       {"value", base64::encode(test_common::random_bytes(
                                     std::size_t{100} * 1024, static_cast<unsigned>(i)))}});
  }
  auto import_file = work_ / "import.json";
  std::ofstream(import_file) << entries.dump();
  entries = nullptr;
  auto imported = agent_->run_cli({"kv", "import", "@" + import_file.string()});
  ASSERT_TRUE(imported.ok()) << imported.error().message();

  auto started = [](const Daemon& daemon) {
    return daemon.log().find("Listing keys from consul") != std::string::npos;
  };
  auto daemon_env = env();
  daemon_env["BACKUPINTERVAL"] = "1h";

  {  // A grace too short for the backup: it is abandoned, nothing is left.
    auto short_env = daemon_env;
    short_env["CONSUL_SNAPSHOT_SHUTDOWN_GRACE"] = "1s";
    Daemon daemon({"backup"}, short_env, work_ / "short.log");
    ASSERT_TRUE(daemon.started());
    ASSERT_TRUE(eventually(60s, [&] { return started(daemon); })) << daemon.log();
    daemon.signal(SIGTERM);
    auto code = daemon.wait(60s);
    ASSERT_TRUE(code.has_value()) << daemon.log();
    EXPECT_EQ(*code, 0) << daemon.log();
    EXPECT_NE(daemon.log().find("backup abandoned"), std::string::npos) << daemon.log();
    EXPECT_TRUE(backup_files().empty()) << "a partial backup was left";
    EXPECT_TRUE(fs::is_empty(work_ / "tmp")) << "temporary files were left behind";
  }
  {  // A long grace: the backup in flight finishes, whole, and then the daemon exits.
    auto long_env = daemon_env;
    long_env["CONSUL_SNAPSHOT_SHUTDOWN_GRACE"] = "5m";
    Daemon daemon({"backup"}, long_env, work_ / "long.log");
    ASSERT_TRUE(daemon.started());
    ASSERT_TRUE(eventually(60s, [&] { return started(daemon); })) << daemon.log();
    daemon.signal(SIGTERM);
    auto code = daemon.wait(300s);
    ASSERT_TRUE(code.has_value()) << daemon.log();
    EXPECT_EQ(*code, 0) << daemon.log();
    auto files = backup_files();
    ASSERT_EQ(files.size(), 1u) << daemon.log();
    auto inspected = run_tool({"inspect", files[0].string()}, env());
    EXPECT_EQ(inspected.exit_code, 0) << inspected.all();
    // The 1000 keys and the leader lock key.
    EXPECT_NE(inspected.all().find("1001 ("), std::string::npos) << inspected.all();
  }
}

}  // namespace
}  // namespace csnap::testing
