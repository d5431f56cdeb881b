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

namespace csnap::testing {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
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
  // Daily buckets across a month end; the newest of each day stays.
  const auto base = sys_days{year{2027} / 2 / 28};
  std::vector<std::string> keys = {
      key_at(unix_of(base + days{1} + hours{1})),  // 03-01 01:00  newest, daily 2027-03-01
      key_at(unix_of(base + days{1})),             // 03-01 00:00  same day
      key_at(unix_of(base + hours{23})),           // 02-28 23:00  daily 2027-02-28
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

  auto out = json::parse(result.out);
  EXPECT_EQ(out["kept"], 2);
  EXPECT_EQ(out["removed"], 3);
  EXPECT_EQ(out["bytes_freed"], 15);
  EXPECT_EQ(out["policy"], (json{{"keep_daily", 2}}));
  ASSERT_EQ(out["backups"].size(), 5u);
  EXPECT_EQ(out["backups"][0]["key"], keys[0]);
  EXPECT_EQ(out["backups"][0]["reasons"], (json{"newest", "daily 2027-03-01"}));
  EXPECT_EQ(out["backups"][2]["reasons"], (json{"daily 2027-02-28"}));
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

class PruneConsulTest : public CliTest {};

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
