// `consul-snapshot prune`: real backups of a real Consul agent, and backup-named files with chosen
// times, pruned in a local directory; what is left is read with the `find` CLI, never with our
// own code.

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli_test.hpp"
#include "consul_agent.hpp"
#include "daemon_process.hpp"

namespace csnap::testing {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using namespace std::chrono;

// Every regular file under `root`, relative to it, sorted, as the `find` CLI sees them.
std::vector<std::string> find_files(const fs::path& root) {
  auto found = run({"find", root.string(), "-type", "f", "-printf", "%P\n"});
  EXPECT_EQ(found.exit_code, 0) << found.err;
  std::vector<std::string> files;
  std::istringstream lines(found.out);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty())
      files.push_back(line);
  }
  std::sort(files.begin(), files.end());
  return files;
}

// The key layout: backups/<YYYY>/<M>/<D>/<host>.consul.snapshot.<unix>.tar.zst (UTC).
std::string key_at(std::int64_t unix_time, std::string_view host = "prune-host") {
  sys_seconds time{seconds{unix_time}};
  year_month_day day{floor<days>(time)};
  return fmt::format("backups/{}/{}/{}/{}.consul.snapshot.{}.tar.zst", static_cast<int>(day.year()),
                     static_cast<unsigned>(day.month()), static_cast<unsigned>(day.day()), host,
                     unix_time);
}

std::int64_t unix_of(sys_seconds time) {
  return time.time_since_epoch().count();
}

// A local backup folder of files named like backups at chosen times; needs no Consul.
class PruneTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("csnap-prune-" + std::to_string(std::random_device{}()));
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  void write(const std::string& key, const std::string& bytes) {
    auto path = root_ / key;
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << bytes;
  }

  std::map<std::string, std::string> env() const {
    return {{"LOCAL_DIR", root_.string()}, {"SNAPSHOT_TMP_DIR", root_.string()}};
  }

  // Six backups an hour apart, newest first.
  std::vector<std::string> write_hourly() {
    std::vector<std::string> keys;
    const auto newest = sys_days{year{2026} / 11 / 27} + hours{12};
    for (int i = 0; i < 6; ++i) {
      keys.push_back(key_at(unix_of(newest - hours{i})));
      write(keys.back(), std::string(static_cast<std::size_t>(100 + i), 'x'));
    }
    return keys;
  }

  fs::path root_;
};

TEST_F(PruneTest, DryRunRemovesNothingAndListsWhatWouldGo) {
  auto hourly = write_hourly();
  write("backups/notes.txt", "not a backup");
  auto before = find_files(root_);
  ASSERT_EQ(before.size(), 7u);

  auto result = run_tool({"prune", "--keep-last", "3", "--dry-run"}, env());
  ASSERT_EQ(result.exit_code, 0) << result.all();
  EXPECT_EQ(find_files(root_), before) << "a dry run removed files";
  std::istringstream lines(result.out);
  std::map<std::string, std::string> action_of;  // key -> the line that names it
  for (std::string line; std::getline(lines, line);) {
    for (const auto& key : hourly) {
      if (line.find(key) != std::string::npos)
        action_of[key] = line;
    }
  }
  ASSERT_EQ(action_of.size(), 6u) << result.out;
  for (std::size_t i = 0; i < hourly.size(); ++i) {
    const auto& line = action_of[hourly[i]];
    if (i < 3) {
      EXPECT_TRUE(line.starts_with("keep ")) << line;
      EXPECT_NE(line.find("last 3"), std::string::npos) << line;
    } else {
      EXPECT_TRUE(line.starts_with("would remove ")) << line;
    }
  }
  EXPECT_NE(result.out.find("newest"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("backups/notes.txt"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("would remove 3 backups"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("nothing was removed"), std::string::npos) << result.out;
}

TEST_F(PruneTest, KeepLastRemovesTheOldestAndLeavesOtherFilesAlone) {
  auto hourly = write_hourly();
  write("backups/notes.txt", "not a backup");
  write("elsewhere/2026/11/1/h.consul.snapshot.1793491200.tar.zst", "another prefix");

  auto result = run_tool({"prune", "--keep-last", "3"}, env());
  ASSERT_EQ(result.exit_code, 0) << result.all();
  std::vector<std::string> expected{hourly[0], hourly[1], hourly[2], "backups/notes.txt",
                                    "elsewhere/2026/11/1/h.consul.snapshot.1793491200.tar.zst"};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(find_files(root_), expected) << result.all();
  EXPECT_NE(result.out.find("removed 3 backups"), std::string::npos) << result.out;

  // Applying the same policy again removes nothing more.
  auto again = run_tool({"prune", "--keep-last", "3"}, env());
  ASSERT_EQ(again.exit_code, 0) << again.all();
  EXPECT_EQ(find_files(root_), expected);
  EXPECT_NE(again.out.find("removed 0 backups"), std::string::npos) << again.out;
}

TEST_F(PruneTest, CalendarRulesFromTheEnvironmentWithJson) {
  // Daily buckets across a month end; the newest of each day stays. (Dates in the past: a backup
  // dated in the future is ignored.)
  const auto base = sys_days{year{2026} / 2 / 28};
  std::vector<std::string> keys = {
      key_at(unix_of(base + days{1} + hours{1})),  // 03-01 01:00  newest, daily 2026-03-01
      key_at(unix_of(base + days{1})),             // 03-01 00:00  same day
      key_at(unix_of(base + hours{23})),           // 02-28 23:00  daily 2026-02-28
      key_at(unix_of(base + hours{1})),            // 02-28 01:00  same day
      key_at(unix_of(base - days{1} + hours{5})),  // 02-27 05:00  a third day: not kept
  };
  for (const auto& key : keys)
    write(key, "bytes");
  auto run_env = env();
  run_env["CONSUL_SNAPSHOT_KEEP_DAILY"] = "2";
  auto result = run_tool({"prune", "--json"}, run_env);
  ASSERT_EQ(result.exit_code, 0) << result.all();
  EXPECT_EQ(find_files(root_), (std::vector<std::string>{keys[2], keys[0]}));

  auto out = Json::parse(result.out);
  EXPECT_EQ(out["kept"], 2);
  EXPECT_EQ(out["removed"], 3);
  EXPECT_EQ(out["bytes_freed"], 15);
  EXPECT_EQ(out["policy"], (Json{{"keep_daily", 2}}));
  ASSERT_EQ(out["backups"].size(), 5u);
  EXPECT_EQ(out["backups"][0]["key"], keys[0]);
  EXPECT_EQ(out["backups"][0]["reasons"], (Json{"newest", "daily 2026-03-01"}));
  EXPECT_EQ(out["backups"][2]["reasons"], (Json{"daily 2026-02-28"}));
  EXPECT_EQ(out["backups"][4]["action"], "remove");
  EXPECT_EQ(out["backups"][4]["removed"], true);
}

TEST_F(PruneTest, WithoutAPolicyNothingIsRemovedAndTheOptionsAreNamed) {
  write_hourly();
  auto before = find_files(root_);
  auto result = run_tool({"prune"}, env());
  EXPECT_EQ(result.exit_code, 2) << result.all();
  for (const char* option : {"--keep-last", "--keep-within", "--keep-hourly", "--keep-daily",
                             "--keep-weekly", "--keep-monthly"}) {
    EXPECT_NE(result.err.find(option), std::string::npos) << result.err;
  }
  EXPECT_EQ(find_files(root_), before);
}

TEST_F(PruneTest, ACountBelowOneIsAConfigurationError) {
  write_hourly();
  auto before = find_files(root_);
  auto flag = run_tool({"prune", "--keep-last", "0"}, env());
  EXPECT_EQ(flag.exit_code, 2) << flag.all();
  EXPECT_NE(flag.err.find("--keep-last 0"), std::string::npos) << flag.err;
  auto run_env = env();
  run_env["CONSUL_SNAPSHOT_KEEP_WEEKLY"] = "-1";
  auto from_env = run_tool({"prune", "--keep-daily", "7"}, run_env);
  EXPECT_EQ(from_env.exit_code, 2) << from_env.all();
  EXPECT_NE(from_env.err.find("keep-weekly"), std::string::npos) << from_env.err;
  EXPECT_EQ(find_files(root_), before);
}

// A key planted for 2099 by someone who can write to the bucket: counted from it, every real
// backup would be outside --keep-within and removed. Counted from now, they all stay; the planted
// one is left alone and named.
TEST_F(PruneTest, KeepWithinKeepsTheRealBackupsBesideOneDated2099) {
  const auto now = floor<seconds>(system_clock::now());
  std::vector<std::string> real;
  for (auto age : {hours{1}, hours{2}, hours{24 * 3}}) {
    real.push_back(key_at(unix_of(now - age)));
    write(real.back(), "real");
  }
  auto old_one = key_at(unix_of(now - hours{24 * 30}));
  write(old_one, "a month old");
  auto planted = key_at(unix_of(sys_days{year{2099} / 1 / 1}), "attacker");
  write(planted, "planted");

  auto result = run_tool({"prune", "--keep-within", "7d"}, env());
  ASSERT_EQ(result.exit_code, 0) << result.all();
  auto expected = real;
  expected.push_back(planted);
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(find_files(root_), expected) << result.all();
  EXPECT_NE(result.err.find(planted), std::string::npos) << result.err;
  EXPECT_NE(result.out.find("in the future"), std::string::npos) << result.out;
}

// Checksum files beside the backups are not backups: never counted (the newest backup's
// neighbour sorts after it and would take its place in keep-last), never removed.
TEST_F(PruneTest, ChecksumFilesBesideBackupsAreLeftAlone) {
  auto hourly = write_hourly();
  for (const auto& key : hourly)
    write(key + ".sha256", "0000  " + key + "\n");
  auto before = find_files(root_);

  auto result = run_tool({"prune", "--keep-last", "2"}, env());
  ASSERT_EQ(result.exit_code, 0) << result.all();
  std::vector<std::string> expected{hourly[0], hourly[1]};
  for (const auto& key : hourly)
    expected.push_back(key + ".sha256");
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(find_files(root_), expected) << result.all();
  EXPECT_NE(result.out.find("removed 4 backups"), std::string::npos) << result.out;
}

class PruneConsulTest : public CliTest {
 protected:
  // Backups until `count` more exist, each in a second of its own (keys hold whole seconds).
  void back_up(std::size_t count, const std::map<std::string, std::string>& run_env) {
    const auto target = find_files(work_ / "backups").size() + count;
    const auto deadline = steady_clock::now() + 60s;
    while (find_files(work_ / "backups").size() < target && steady_clock::now() < deadline) {
      auto backup = run_tool({"backup", "--once"}, run_env);
      ASSERT_EQ(backup.exit_code, 0) << backup.all();
    }
    ASSERT_EQ(find_files(work_ / "backups").size(), target) << "backups not made within 60 s";
  }

  // `count` keys app/key-N through one transaction.
  void put_keys(int count) {
    Json ops = Json::array();
    for (int i = 0; i < count; ++i) {
      ops.push_back(
          {{"KV",
            {{"Verb", "set"}, {"Key", "app/key-" + std::to_string(i)}, {"Value", "dmFsdWU="}}}});
    }
    auto txn = curl(
        {"-X", "PUT", "--data-binary", ops.dump(), "http://" + agent_->http_address() + "/v1/txn"});
    ASSERT_TRUE(txn.ok());
    ASSERT_EQ(txn->status, 200) << txn->body;
  }
};

// Three encrypted backups of 40 keys, then the KV store is wiped and backed up again: keep-last 2
// would remove two of the three good backups. Retention is held until --confirm-shrink.
TEST_F(PruneConsulTest, AfterAWipedKvStorePruneRemovesNothingUntilConfirmed) {
  CSNAP_REQUIRE_CONSUL(agent, ConsulAgentOptions{});
  adopt(std::move(agent));
  auto run_env = env();
  run_env["CRYPTO_PASSWORD"] = "prune shrink passphrase";
  run_env["CONSUL_SNAPSHOT_SCRYPT_WORK_FACTOR"] = "12";
  put_keys(40);
  back_up(3, run_env);
  ASSERT_TRUE(agent_->run_cli({"kv", "delete", "-recurse", "app/"}).ok());
  back_up(1, run_env);
  auto before = find_files(work_ / "backups");
  ASSERT_EQ(before.size(), 4u);

  auto held = run_tool({"prune", "--keep-last", "2"}, run_env);
  ASSERT_EQ(held.exit_code, 0) << held.all();
  EXPECT_EQ(find_files(work_ / "backups"), before) << "retention removed good backups:\n"
                                                   << held.all();
  EXPECT_NE(held.out.find("Retention held"), std::string::npos) << held.out;
  EXPECT_NE(held.err.find("Retention held"), std::string::npos) << held.err;
  // 1 KV entry: the lastbackup key, which the backups write.
  EXPECT_NE(held.all().find("holds 1 KV entries, but"), std::string::npos) << held.all();
  EXPECT_NE(held.all().find("--confirm-shrink"), std::string::npos) << held.all();
  auto held_json = run_tool({"prune", "--keep-last", "2", "--json"}, run_env);
  ASSERT_EQ(held_json.exit_code, 0) << held_json.all();
  EXPECT_TRUE(Json::parse(held_json.out)["held"].is_string()) << held_json.out;

  auto confirmed = run_tool({"prune", "--keep-last", "2", "--confirm-shrink"}, run_env);
  ASSERT_EQ(confirmed.exit_code, 0) << confirmed.all();
  EXPECT_EQ(find_files(work_ / "backups").size(), 2u) << confirmed.all();
  EXPECT_NE(confirmed.out.find("removed 2 backups"), std::string::npos) << confirmed.out;
}

// The daemon: after the wipe its retention removes nothing, says why in the log and sets
// consul_snapshot_retention_held in /metrics; with CONSUL_SNAPSHOT_CONFIRM_SHRINK it prunes.
TEST_F(PruneConsulTest, TheDaemonHoldsRetentionAfterAWipeAndSaysSoInMetrics) {
  CSNAP_REQUIRE_CONSUL(agent, ConsulAgentOptions{});
  adopt(std::move(agent));
  put_keys(40);
  back_up(3, env());
  ASSERT_TRUE(agent_->run_cli({"kv", "delete", "-recurse", "app/"}).ok());
  auto good = find_files(work_ / "backups");

  auto daemon_env = env();
  daemon_env["BACKUPINTERVAL"] = "1";
  daemon_env["CONSUL_SNAPSHOT_KEEP_LAST"] = "2";
  daemon_env["CONSUL_SNAPSHOT_LOCK_DELAY"] = "1s";  // the second daemon below takes the lock soon
  Daemon daemon({"backup"}, daemon_env, work_ / "daemon.log");
  ASSERT_TRUE(daemon.started());
  auto url = served_url(daemon, 30s);
  ASSERT_FALSE(url.empty()) << daemon.log();
  auto held_metric = [&]() -> std::string {
    auto metrics = curl({url + "/metrics"});
    if (!metrics.ok())
      return "";
    std::istringstream lines(metrics->body);
    for (std::string line; std::getline(lines, line);) {
      if (line.starts_with("consul_snapshot_retention_held "))
        return line.substr(line.find(' ') + 1);
    }
    return "missing";
  };
  // Two backups of the empty store: keep-last 2 would now remove every good one.
  ASSERT_TRUE(eventually(60s, [&] {
    auto made = occurrences(daemon.log(), "Backup written to");
    return made >= 2 && held_metric() == "1";
  })) << daemon.log();
  daemon.signal(SIGTERM);
  ASSERT_TRUE(daemon.wait(30s).has_value()) << daemon.log();
  auto files = find_files(work_ / "backups");
  for (const auto& key : good)
    EXPECT_TRUE(std::find(files.begin(), files.end(), key) != files.end()) << key << " removed";
  EXPECT_NE(daemon.log().find("Retention held"), std::string::npos) << daemon.log();
  EXPECT_EQ(daemon.log().find("Removed old backup"), std::string::npos) << daemon.log();

  daemon_env["CONSUL_SNAPSHOT_CONFIRM_SHRINK"] = "true";
  Daemon confirmed({"backup"}, daemon_env, work_ / "confirmed.log");
  ASSERT_TRUE(confirmed.started());
  EXPECT_TRUE(eventually(60s, [&] { return find_files(work_ / "backups").size() == 2; }))
      << confirmed.log();
  confirmed.signal(SIGTERM);
  ASSERT_TRUE(confirmed.wait(30s).has_value()) << confirmed.log();
}

// Real backups with distinct times (keys hold the Unix time in seconds, so backups are taken
// until five distinct seconds have one), then `prune --keep-last 3`.
TEST_F(PruneConsulTest, AfterFiveBackupsKeepLastThreeLeavesTheThreeNewest) {
  CSNAP_REQUIRE_CONSUL(agent, ConsulAgentOptions{});
  adopt(std::move(agent));
  ASSERT_TRUE(agent_->run_cli({"kv", "put", "app/key", "value"}).ok());
  const auto deadline = steady_clock::now() + 60s;
  while (find_files(work_ / "backups").size() < 5 && steady_clock::now() < deadline) {
    auto backup = run_tool({"backup", "--once"}, env());
    ASSERT_EQ(backup.exit_code, 0) << backup.all();
  }
  auto made = find_files(work_ / "backups");
  ASSERT_EQ(made.size(), 5u) << "five backups in distinct seconds not made within 60 s";
  // Newest first: by the Unix time in the name.
  auto time_of = [](const std::string& key) {
    auto start = key.find(".consul.snapshot.") + std::string_view(".consul.snapshot.").size();
    return std::stoll(key.substr(start, key.find('.', start) - start));
  };
  std::sort(made.begin(), made.end(),
            [&](const auto& a, const auto& b) { return time_of(a) > time_of(b); });

  auto dry = run_tool({"prune", "--keep-last", "3", "--dry-run"}, env());
  ASSERT_EQ(dry.exit_code, 0) << dry.all();
  EXPECT_EQ(find_files(work_ / "backups").size(), 5u) << "a dry run removed files";
  for (std::size_t i = 3; i < 5; ++i) {
    auto line_start = dry.out.rfind('\n', dry.out.find(made[i]));
    ASSERT_NE(dry.out.find(made[i]), std::string::npos) << dry.out;
    EXPECT_EQ(dry.out.substr(line_start + 1, 12), "would remove") << dry.out;
  }

  auto result = run_tool({"prune", "--keep-last", "3"}, env());
  ASSERT_EQ(result.exit_code, 0) << result.all();
  std::vector<std::string> expected(made.begin(), made.begin() + 3);
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(find_files(work_ / "backups"), expected) << result.all();
  auto listed = run({"ls", "-1", (work_ / "backups" / fs::path(made[0]).parent_path()).string()});
  EXPECT_NE(listed.out.find(fs::path(made[0]).filename().string()), std::string::npos);

  // What is left is still a good backup: it restores into Consul.
  ASSERT_TRUE(agent_->run_cli({"kv", "delete", "app/key"}).ok());
  auto restore = run_tool({"restore", "latest", "--yes"}, env());
  ASSERT_EQ(restore.exit_code, 0) << restore.all();
  auto value = agent_->run_cli({"kv", "get", "app/key"});
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(*value, "value\n");
}

}  // namespace
}  // namespace csnap::testing
