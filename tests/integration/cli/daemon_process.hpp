#pragma once
// The tool running in the background (the daemon) for CLI integration tests, and polling with a
// deadline.

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

namespace csnap::testing {

// Polls `condition` every 50 ms until it holds or `timeout` passes.
inline bool eventually(std::chrono::milliseconds timeout, const std::function<bool()>& condition) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition())
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return condition();
}

// The tool running in the background, its stderr going to a file.
class Daemon {
 public:
  Daemon(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
         std::filesystem::path log)
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
    env_text.reserve(merged.size());
    for (const auto& [name, value] : merged)
      env_text.emplace_back(name).append("=").append(value);
    std::vector<char*> envp;
    envp.reserve(env_text.size() + 1);
    for (auto& text : env_text)
      envp.push_back(text.data());
    envp.push_back(nullptr);
    std::vector<std::string> argv{CSNAP_TOOL_PATH};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> argp;
    argp.reserve(argv.size() + 1);
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
  int pid() const { return pid_; }
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
  std::filesystem::path log_;
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
};

// How many times `needle` occurs in `text` (log lines such as "Backup written to").
inline std::size_t occurrences(std::string_view text, std::string_view needle) {
  std::size_t count = 0;
  for (auto at = text.find(needle); at != std::string_view::npos; at = text.find(needle, at + 1))
    ++count;
  return count;
}

// The daemon's HTTP base URL from its log line "Serving ... on http://127.0.0.1:PORT", polled
// until `timeout`; "" if it never appears.
inline std::string served_url(const Daemon& daemon, std::chrono::milliseconds timeout) {
  static const std::regex served(R"(Serving /, /health\S*.* on (http://127\.0\.0\.1:\d+))");
  std::string url;
  eventually(timeout, [&] {
    std::smatch match;
    auto log = daemon.log();
    if (std::regex_search(log, match, served))
      url = match[1];
    return !url.empty();
  });
  return url;
}

}  // namespace csnap::testing
