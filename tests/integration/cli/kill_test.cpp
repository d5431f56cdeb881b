// Signals and kill -9 at random points of real backups and restores: the spools of decrypted and
// fetched data have no name (O_TMPFILE), so nothing is ever left in SNAPSHOT_TMP_DIR; a killed
// backup leaves no object and no temporary name in the storage directory; SIGTERM ends a command
// with a message and a non-zero exit.

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "archive/kv_json.hpp"
#include "cli_test.hpp"
#include "crafted_backup.hpp"
#include "daemon_process.hpp"

namespace csnap::testing {
namespace {

namespace fs = std::filesystem;
using namespace csnap::test_common;
using namespace std::chrono_literals;

std::vector<std::string> entries_of(const fs::path& directory) {
  std::vector<std::string> names;
  for (const auto& entry : fs::recursive_directory_iterator(directory))
    names.push_back(entry.path().string());
  return names;
}

// Names in the storage directory that are not finished objects.
std::vector<std::string> temporary_names(const fs::path& directory) {
  std::vector<std::string> names;
  for (const auto& entry : fs::recursive_directory_iterator(directory)) {
    auto name = entry.path().filename().string();
    if (name.starts_with('.') || name.ends_with(".tmp"))
      names.push_back(entry.path().string());
  }
  return names;
}

// Whether process `pid` blocks SIGTERM, i.e. its signal handling is in place (/proc/PID/status
// stays readable for a process that is not dumpable).
bool blocks_sigterm(int pid) {
  std::ifstream status(fmt::format("/proc/{}/status", pid));
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("SigBlk:")) {
      auto mask = std::stoull(line.substr(7), nullptr, 16);
      return (mask & (1ull << (SIGTERM - 1))) != 0;
    }
  }
  return false;
}

class KillTest : public CliTest {
 protected:
  // `count` keys of 1 KiB each, written through a restore of a crafted backup (one /v1/txn
  // batch after another: seconds, where one PUT per key would take minutes).
  void fill_consul(std::uint64_t count) {
    StringSink kv;
    archive::KvJsonWriter writer(kv);
    std::mt19937_64 random(7);
    std::string value(1024, '\0');
    for (std::uint64_t i = 0; i < count; ++i) {
      for (auto& c : value)
        c = static_cast<char>(random());
      ASSERT_TRUE(writer.add(fmt::format("load/{:06}", i), value, i).ok());
    }
    ASSERT_TRUE(writer.finish().ok());
    auto file = work_ / "load.tar";
    {
      std::ofstream out(file, std::ios::binary);
      auto bytes = crafted_backup({{"kv.json", kv.take()}}, count);
      out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    }
    auto restored = run_tool({"restore", file.string(), "--yes"}, env());
    ASSERT_EQ(restored.exit_code, 0) << restored.all();
    fs::remove(file);
  }

  // Starts `args` in the background and waits until it handles SIGTERM itself.
  std::unique_ptr<Daemon> start(const std::vector<std::string>& args, const std::string& log) {
    auto process = std::make_unique<Daemon>(args, env(), work_ / log);
    EXPECT_TRUE(process->started());
    return process;
  }

  // Every backup that `list` shows passes `inspect`; returns how many there are.
  std::size_t expect_listed_backups_verify() {
    auto listed = run_tool({"list", "--json"}, env());
    EXPECT_EQ(listed.exit_code, 0) << listed.all();
    auto json = nlohmann::json::parse(listed.out, nullptr, false);
    EXPECT_TRUE(json.is_array()) << listed.out;
    if (!json.is_array())
      return 0;
    for (const auto& entry : json) {
      auto key = entry["key"].get<std::string>();
      auto inspected = run_tool({"inspect", key}, env());
      EXPECT_EQ(inspected.exit_code, 0) << key << ": " << inspected.all();
    }
    return json.size();
  }
};

TEST_F(KillTest, KillNineAtRandomPointsOfFiftyBackupsLeavesOnlyWholeBackups) {
  CSNAP_REQUIRE_CONSUL(agent, {});
  adopt(std::move(agent));
  fill_consul(8000);

  // How long one whole backup takes here: the kills fall anywhere in it.
  auto begin = std::chrono::steady_clock::now();
  auto whole = run_tool({"backup", "--once"}, env());
  ASSERT_EQ(whole.exit_code, 0) << whole.all();
  auto duration = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - begin);
  ASSERT_EQ(expect_listed_backups_verify(), 1u);

  std::mt19937 random(20261201);  // fixed seed: the same kill points on every run
  std::uniform_int_distribution<long> delay_ms(0, duration.count() * 11 / 10);
  int finished = 0;
  for (int i = 0; i < 50; ++i) {
    auto delay = std::chrono::milliseconds(delay_ms(random));
    auto backup = start({"backup", "--once"}, fmt::format("backup-{}.log", i));
    // The kill point itself, not a synchronisation: any moment of the backup will do.
    std::this_thread::sleep_for(delay);
    backup->signal(SIGKILL);
    auto code = backup->wait(30s);
    ASSERT_TRUE(code.has_value());
    if (*code == 0)
      ++finished;
    EXPECT_EQ(entries_of(work_ / "tmp"), std::vector<std::string>{}) << "kill " << i;
    EXPECT_EQ(temporary_names(work_ / "backups"), std::vector<std::string>{}) << "kill " << i;
  }
  EXPECT_LT(finished, 50) << "no kill fell inside a backup";
  expect_listed_backups_verify();
}

TEST_F(KillTest, SigtermDuringBackupOnceAndRestoreDryRunLeavesNothing) {
  CSNAP_REQUIRE_CONSUL(agent, {});
  adopt(std::move(agent));
  fill_consul(8000);
  auto whole = run_tool({"backup", "--once"}, env());
  ASSERT_EQ(whole.exit_code, 0) << whole.all();
  auto files = backup_files();
  ASSERT_EQ(files.size(), 1u);

  std::mt19937 random(11);
  for (const auto& command : std::vector<std::vector<std::string>>{
           {"backup", "--once"}, {"restore", files[0].string(), "--dry-run"}}) {
    int stopped = 0;
    for (int i = 0; i < 5; ++i) {
      auto process = start(command, fmt::format("{}-{}.log", command[0], i));
      // Wait (polling) until the command handles SIGTERM, then signal it a little later.
      ASSERT_TRUE(eventually(10s, [&] { return blocks_sigterm(process->pid()); }));
      std::this_thread::sleep_for(std::chrono::milliseconds(random() % 200));
      process->signal(SIGTERM);
      auto code = process->wait(30s);
      ASSERT_TRUE(code.has_value());
      auto log = process->log();
      if (*code != 0) {
        EXPECT_EQ(*code, 1) << log;
        EXPECT_NE(log.find("stopped by SIGTERM"), std::string::npos) << log;
        ++stopped;
      }
      EXPECT_EQ(entries_of(work_ / "tmp"), std::vector<std::string>{}) << command[0];
      EXPECT_EQ(temporary_names(work_ / "backups"), std::vector<std::string>{}) << command[0];
    }
    EXPECT_GT(stopped, 0) << command[0] << ": every run ended before its signal";
  }
  expect_listed_backups_verify();
}

}  // namespace
}  // namespace csnap::testing
