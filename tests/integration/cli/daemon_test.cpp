// `consul-snapshot backup` without --once: a backup every interval, failures that never end the
// process, and a clean exit 0 on SIGTERM. Waits poll with deadlines; nothing sleeps to
// synchronise.

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli_test.hpp"

extern char** environ;

namespace csnap::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// Polls `condition` every 50 ms until it holds or `timeout` passes.
bool eventually(std::chrono::milliseconds timeout, const std::function<bool()>& condition) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition())
      return true;
    std::this_thread::sleep_for(50ms);
  }
  return condition();
}

// The tool running in the background, its stderr going to a file.
class Daemon {
 public:
  Daemon(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
         fs::path log)
      : log_(std::move(log)) {
    std::map<std::string, std::string> merged;
    for (char** entry = environ; *entry != nullptr; ++entry) {
      std::string text(*entry);
      auto eq = text.find('=');
      if (eq != std::string::npos)
        merged[text.substr(0, eq)] = text.substr(eq + 1);
    }
    for (const auto& [name, value] : env)
      merged[name] = value;
    std::vector<std::string> env_text;
    for (const auto& [name, value] : merged)
      env_text.push_back(name + "=" + value);
    std::vector<char*> envp;
    for (auto& text : env_text)
      envp.push_back(text.data());
    envp.push_back(nullptr);
    std::vector<std::string> argv{CSNAP_TOOL_PATH};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> argp;
    for (auto& arg : argv)
      argp.push_back(arg.data());
    argp.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log_.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (posix_spawn(&pid_, argp[0], &actions, nullptr, argp.data(), envp.data()) != 0)
      pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
  }
  ~Daemon() {
    if (pid_ > 0 && !exit_code_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  bool started() const { return pid_ > 0; }
  void signal(int number) const { ::kill(pid_, number); }

  // The exit code once the process has ended, polled until `timeout`.
  std::optional<int> wait(std::chrono::milliseconds timeout) {
    eventually(timeout, [&] {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      return exit_code_.has_value();
    });
    return exit_code_;
  }

  std::string log() const {
    std::ifstream in(log_);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  }

 private:
  fs::path log_;
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
};

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
    return daemon.log().find("Backup failed (2 in a row)") != std::string::npos;
  })) << daemon.log();
  EXPECT_FALSE(daemon.wait(0ms).has_value()) << "the daemon exited after failures";
  EXPECT_TRUE(backup_files().empty());
  daemon.signal(SIGTERM);
  auto code = daemon.wait(30s);
  ASSERT_TRUE(code.has_value()) << daemon.log();
  EXPECT_EQ(*code, 0) << daemon.log();
}

}  // namespace
}  // namespace csnap::testing
