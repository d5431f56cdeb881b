#include "server_process.hpp"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "consul_agent.hpp"  // curl, stop_process

namespace csnap::testing {
namespace {

Error system_error(std::string_view what) {
  return Error(ErrorKind::internal, fmt::format("{}: {}", what, std::strerror(errno)));
}

}  // namespace

Result<int> spawn_background(const std::vector<std::string>& argv,
                             const std::map<std::string, std::string>& env,
                             const std::filesystem::path& directory,
                             const std::filesystem::path& log_path) {
  // Everything the child needs is built before fork: after it only async-signal-safe calls.
  std::vector<std::string> environment;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    std::string_view text(*entry);
    if (!env.contains(std::string(text.substr(0, text.find('=')))))
      environment.emplace_back(text);
  }
  for (const auto& [name, value] : env)
    environment.emplace_back(name).append("=").append(value);
  std::vector<char*> env_pointers;
  env_pointers.reserve(environment.size() + 1);
  for (auto& entry : environment)
    env_pointers.push_back(entry.data());
  env_pointers.push_back(nullptr);
  std::vector<std::string> args = argv;  // execve takes non-const strings
  std::vector<char*> arg_pointers;
  arg_pointers.reserve(args.size() + 1);
  for (auto& arg : args)
    arg_pointers.push_back(arg.data());
  arg_pointers.push_back(nullptr);

  int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (log_fd < 0)
    return system_error(fmt::format("creating the process log {}", log_path.string()));
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(log_fd);
    return system_error("fork");
  }
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent)
      ::_exit(127);
    int null_fd = ::open("/dev/null", O_RDONLY);
    ::dup2(null_fd, 0);
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
    if (::chdir(directory.c_str()) != 0)
      ::_exit(127);
    ::execve(arg_pointers[0], arg_pointers.data(), env_pointers.data());
    ::_exit(127);
  }
  ::close(log_fd);
  return static_cast<int>(pid);
}

Result<std::filesystem::path> make_temp_directory(std::string_view prefix) {
  std::string pattern =
      (std::filesystem::temp_directory_path() / (std::string(prefix) + "XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr)
    return system_error("mkdtemp");
  return std::filesystem::path(pattern);
}

std::string file_tail(const std::filesystem::path& path, std::size_t max_chars) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  std::string all = text.str();
  return all.size() > max_chars ? all.substr(all.size() - max_chars) : all;
}

Status wait_for_http_status(int& pid, std::chrono::seconds deadline,
                            const std::vector<std::string>& curl_args, long status) {
  std::vector<std::string> args = {"--max-time", "5"};
  args.insert(args.end(), curl_args.begin(), curl_args.end());
  const auto until = std::chrono::steady_clock::now() + deadline;
  std::string last = "none";
  while (true) {
    int wait_status = 0;
    if (::waitpid(pid, &wait_status, WNOHANG) == pid) {
      pid = -1;
      return Error(ErrorKind::unavailable, "the process exited");
    }
    auto answer = curl(args);
    if (answer.ok() && answer->status == status)
      return {};
    last =
        answer.ok() ? fmt::format("{} {}", answer->status, answer->body) : answer.error().message();
    if (std::chrono::steady_clock::now() > until)
      return Error(ErrorKind::unavailable, fmt::format("timed out; last answer: {}", last));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

Status launch_server(const ServerLaunch& launch, int& pid) {
  CSNAP_ASSIGN_OR_RETURN(
      pid, spawn_background(launch.argv, launch.env, launch.directory, launch.log_path));
  auto ready =
      wait_for_http_status(pid, launch.deadline, launch.ready_request, launch.ready_status);
  if (!ready.ok()) {
    return Error(ErrorKind::unavailable,
                 fmt::format("{} did not start: {}\n--- its log (tail):\n{}", launch.name,
                             ready.error().message(), file_tail(launch.log_path, 8000)));
  }
  return {};
}

void stop_and_remove(int pid, const std::filesystem::path& directory, std::chrono::seconds grace) {
  stop_process(pid, grace);
  std::error_code ignored;
  if (!directory.empty())
    std::filesystem::remove_all(directory, ignored);
}

}  // namespace csnap::testing
