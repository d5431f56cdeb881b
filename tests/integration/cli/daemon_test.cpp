// `consul-snapshot backup` without --once: a backup every interval, failures that never end the
// process, and a clean exit 0 on SIGTERM. Waits poll with deadlines; nothing sleeps to
// synchronise.

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli_test.hpp"
#include "daemon_process.hpp"

namespace csnap::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class DaemonTest : public CliTest {};

TEST_F(DaemonTest, BacksUpEveryIntervalAndStopsCleanlyOnSigterm) {
  CSNAP_REQUIRE_CONSUL(agent, ConsulAgentOptions{});
  adopt(std::move(agent));
  ASSERT_TRUE(agent_->run_cli({"kv", "put", "app/key", "value"}).ok());
  auto daemon_env = env();
  daemon_env["BACKUPINTERVAL"] = "1";
  Daemon daemon({"backup"}, daemon_env, work_ / "daemon.log");
  ASSERT_TRUE(daemon.started());

  EXPECT_TRUE(eventually(60s, [&] { return backup_files().size() >= 2; }))
      << "fewer than two backups; log:\n"
      << daemon.log();
  daemon.signal(SIGTERM);
  auto code = daemon.wait(30s);
  ASSERT_TRUE(code.has_value()) << "still running 30 s after SIGTERM; log:\n" << daemon.log();
  EXPECT_EQ(*code, 0) << daemon.log();
  EXPECT_NE(daemon.log().find("Received signal"), std::string::npos) << daemon.log();
  EXPECT_TRUE(fs::is_empty(work_ / "tmp")) << "temporary files were left behind";
  auto last = agent_->run_cli({"kv", "get", "service/consul-snapshot/lastbackup"});
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(last->size(), 11u) << *last;  // ten digits and a newline
}

TEST_F(DaemonTest, FailedBackupsNeverEndTheProcess) {
  CSNAP_REQUIRE_CONSUL(agent, ConsulAgentOptions{});
  adopt(std::move(agent));
  auto port = free_port();
  ASSERT_TRUE(port.ok());
  auto daemon_env = env();
  daemon_env["BACKUPINTERVAL"] = "1";
  daemon_env["CONSUL_HTTP_ADDR"] = "127.0.0.1:" + std::to_string(*port);  // nothing listens
  Daemon daemon({"backup"}, daemon_env, work_ / "daemon.log");
  ASSERT_TRUE(daemon.started());

  EXPECT_TRUE(eventually(90s, [&] {
    return daemon.log().find("Backup failed (2 in a row") != std::string::npos;
  })) << daemon.log();
  EXPECT_FALSE(daemon.wait(0ms).has_value()) << "the daemon exited after failures";
  EXPECT_TRUE(backup_files().empty());
  daemon.signal(SIGTERM);
  auto code = daemon.wait(30s);
  ASSERT_TRUE(code.has_value()) << daemon.log();
  EXPECT_EQ(*code, 0) << daemon.log();
}

TEST_F(DaemonTest, AppliesRetentionAfterEachBackup) {
  CSNAP_REQUIRE_CONSUL(agent, ConsulAgentOptions{});
  adopt(std::move(agent));
  ASSERT_TRUE(agent_->run_cli({"kv", "put", "app/key", "value"}).ok());
  auto daemon_env = env();
  daemon_env["BACKUPINTERVAL"] = "1";
  daemon_env["CONSUL_SNAPSHOT_KEEP_LAST"] = "2";
  Daemon daemon({"backup"}, daemon_env, work_ / "daemon.log");
  ASSERT_TRUE(daemon.started());
  // Four backups made, two of them removed by the policy.
  EXPECT_TRUE(eventually(60s, [&] {
    auto log = daemon.log();
    std::size_t made = 0;
    for (auto at = log.find("Backup written to"); at != std::string::npos;
         at = log.find("Backup written to", at + 1)) {
      ++made;
    }
    return made >= 4;
  })) << daemon.log();
  daemon.signal(SIGTERM);
  auto code = daemon.wait(30s);
  ASSERT_TRUE(code.has_value()) << daemon.log();
  EXPECT_EQ(*code, 0) << daemon.log();
  EXPECT_NE(daemon.log().find("Retention (keep-last 2): removed"), std::string::npos)
      << daemon.log();
  // After a clean stop (the policy runs in the same turn as each backup) exactly two remain.
  EXPECT_EQ(backup_files().size(), 2u) << daemon.log();
}

}  // namespace
}  // namespace csnap::testing
