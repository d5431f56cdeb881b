#include "consul_agent.hpp"

#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

namespace csnap::testing {
namespace {

using namespace std::chrono_literals;

Error system_error(std::string_view what) {
  return Error(ErrorKind::internal, fmt::format("{}: {}", what, std::strerror(errno)));
}

std::string getenv_string(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::string() : std::string(value);
}

std::vector<std::string> merged_environment(const std::map<std::string, std::string>& extra) {
  std::vector<std::string> out;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    std::string_view text(*entry);
    auto name = text.substr(0, text.find('='));
    if (!extra.contains(std::string(name)))
      out.emplace_back(text);
  }
  for (const auto& [name, value] : extra)
    out.emplace_back(name).append("=").append(value);
  return out;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (auto& text : strings)
    out.push_back(text.data());
  out.push_back(nullptr);
  return out;
}

// Spawns `argv` with stdout and stderr going to `out_fd` and `err_fd`, in `cwd` when not empty.
Result<pid_t> spawn(const std::vector<std::string>& argv,
                    const std::map<std::string, std::string>& env, int out_fd, int err_fd,
                    const std::filesystem::path& cwd = {}) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_fd, 1);
  posix_spawn_file_actions_adddup2(&actions, err_fd, 2);
  if (!cwd.empty())
    posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
  std::vector<std::string> args = argv;
  std::vector<std::string> environment = merged_environment(env);
  auto arg_pointers = pointers(args);
  auto env_pointers = pointers(environment);
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, args[0].c_str(), &actions, nullptr, arg_pointers.data(),
                        env_pointers.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    return Error(ErrorKind::internal, fmt::format("spawning {}: {}", argv[0], std::strerror(rc)));
  }
  return pid;
}

Result<ProcessResult> run_in(const std::vector<std::string>& argv,
                             const std::map<std::string, std::string>& env,
                             const std::filesystem::path& cwd) {
  int out_pipe[2];
  int err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0)
    return system_error("pipe");
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    return system_error("pipe");
  }
  auto pid = spawn(argv, env, out_pipe[1], err_pipe[1], cwd);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  ProcessResult result;
  std::array<pollfd, 2> fds{pollfd{out_pipe[0], POLLIN, 0}, pollfd{err_pipe[0], POLLIN, 0}};
  std::array<std::string*, 2> targets{&result.out, &result.err};
  int open_count = 2;
  std::array<char, 65536> buffer{};
  while (open_count > 0) {
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR)
        continue;
      break;
    }
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0)
        continue;
      ssize_t count = ::read(fds[i].fd, buffer.data(), buffer.size());
      if (count > 0) {
        targets[i]->append(buffer.data(), static_cast<std::size_t>(count));
      } else if (count == 0 || errno != EINTR) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_count;
      }
    }
  }
  for (auto& fd : fds) {
    if (fd.fd >= 0)
      ::close(fd.fd);
  }
  if (!pid.ok())
    return std::move(pid).error();
  int status = 0;
  while (::waitpid(*pid, &status, 0) < 0) {
    if (errno != EINTR)
      return system_error("waitpid");
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

std::string random_uuid() {
  std::random_device device;
  std::array<unsigned, 16> bytes{};
  for (auto& byte : bytes)
    byte = device() & 0xFFU;
  bytes[6] = (bytes[6] & 0x0FU) | 0x40U;
  bytes[8] = (bytes[8] & 0x3FU) | 0x80U;
  std::string out;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10)
      out.push_back('-');
    out += fmt::format("{:02x}", bytes[i]);
  }
  return out;
}

}  // namespace

Result<ProcessResult> run_process(const std::vector<std::string>& argv,
                                  const std::map<std::string, std::string>& env) {
  return run_in(argv, env, {});
}

bool running_in_ci() {
  return getenv_string("CI") == "true";
}

std::filesystem::path cache_directory() {
  std::filesystem::path cache = getenv_string("CONSUL_SNAPSHOT_CACHE");
  if (cache.empty()) {
    std::filesystem::path base = getenv_string("XDG_CACHE_HOME");
    if (base.empty())
      base = std::filesystem::path(getenv_string("HOME")) / ".cache";
    cache = base / "consul-snapshot";
  }
  return cache;
}

std::optional<std::filesystem::path> find_cached_binary(std::string_view variable,
                                                        std::string_view file_name) {
  if (auto explicit_path = getenv_string(std::string(variable).c_str()); !explicit_path.empty()) {
    if (::access(explicit_path.c_str(), X_OK) == 0)
      return std::filesystem::path(explicit_path);
    return std::nullopt;
  }
  auto binary = cache_directory() / "bin" / std::string(file_name);
  if (::access(binary.c_str(), X_OK) == 0)
    return binary;
  return std::nullopt;
}

std::optional<std::filesystem::path> find_consul_binary() {
  return find_cached_binary("CONSUL_BIN", "consul-v1.16.3");
}

Result<int> free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return system_error("socket");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof address;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    auto error = system_error("binding a free port");
    ::close(fd);
    return error;
  }
  ::close(fd);
  return static_cast<int>(ntohs(address.sin_port));
}

Result<CurlResult> curl(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"curl", "-sS", "-w", "\n%{http_code}"};
  argv.insert(argv.end(), args.begin(), args.end());
  CSNAP_ASSIGN_OR_RETURN(auto result, run_process(argv));
  if (result.exit_code != 0) {
    return Error(ErrorKind::unavailable,
                 fmt::format("curl exited with {}: {}", result.exit_code, result.err));
  }
  auto newline = result.out.rfind('\n');
  if (newline == std::string::npos)
    return Error(ErrorKind::internal, "curl gave no status");
  CurlResult out;
  out.status = std::stol(result.out.substr(newline + 1));
  out.body = result.out.substr(0, newline);
  return out;
}

Result<std::unique_ptr<ConsulAgent>> ConsulAgent::start(ConsulAgentOptions options) {
  auto binary = find_consul_binary();
  if (!binary) {
    return Error(ErrorKind::not_found,
                 "consul binary not found: run scripts/build-consul.sh or set CONSUL_BIN");
  }
  std::unique_ptr<ConsulAgent> agent(new ConsulAgent());
  agent->binary_ = *binary;
  agent->tls_ = options.tls;
  agent->unix_socket_ = options.unix_socket;
  std::string pattern = (std::filesystem::temp_directory_path() / "csnap-consul-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr)
    return system_error("mkdtemp");
  agent->directory_ = pattern;
  const auto& dir = agent->directory_;

  std::set<int> used;
  auto pick = [&]() -> Result<int> {
    for (int tries = 0; tries < 20; ++tries) {
      CSNAP_ASSIGN_OR_RETURN(int port, free_port());
      if (used.insert(port).second)
        return port;
    }
    return Error(ErrorKind::internal, "no free port");
  };
  CSNAP_ASSIGN_OR_RETURN(agent->http_port_, pick());
  CSNAP_ASSIGN_OR_RETURN(int server_port, pick());
  CSNAP_ASSIGN_OR_RETURN(int lan_port, pick());
  CSNAP_ASSIGN_OR_RETURN(int wan_port, pick());

  std::ostringstream config;
  if (options.acl) {
    agent->token_ = random_uuid();
    config << "acl {\n  enabled = true\n  default_policy = \"deny\"\n  tokens {\n"
           << "    initial_management = \"" << agent->token_ << "\"\n  }\n}\n";
  }
  if (options.tls) {
    CSNAP_ASSIGN_OR_RETURN(agent->https_port_, pick());
    for (const auto& args : std::vector<std::vector<std::string>>{
             {agent->binary_.string(), "tls", "ca", "create"},
             {agent->binary_.string(), "tls", "cert", "create", "-server", "-dc", "dc1"}}) {
      CSNAP_ASSIGN_OR_RETURN(auto made, run_in(args, {}, dir));
      if (made.exit_code != 0) {
        return Error(ErrorKind::internal,
                     fmt::format("consul tls failed: {}{}", made.out, made.err));
      }
    }
    config << "tls {\n  defaults {\n"
           << "    ca_file = \"" << (dir / "consul-agent-ca.pem").string() << "\"\n"
           << "    cert_file = \"" << (dir / "dc1-server-consul-0.pem").string() << "\"\n"
           << "    key_file = \"" << (dir / "dc1-server-consul-0-key.pem").string() << "\"\n"
           << "    verify_incoming = false\n  }\n}\n"
           << "ports {\n  https = " << agent->https_port_ << "\n}\n";
  }
  if (options.unix_socket) {
    // Plain HTTP on both: the TCP port (used for readiness) and a unix socket.
    config << "addresses {\n  http = \"127.0.0.1 unix://" << (dir / "http.sock").string()
           << "\"\n}\n";
  }
  auto config_path = dir / "config.hcl";
  std::ofstream(config_path) << config.str();

  std::vector<std::string> argv = {agent->binary_.string(),
                                   "agent",
                                   "-dev",
                                   "-bind",
                                   "127.0.0.1",
                                   "-client",
                                   "127.0.0.1",
                                   "-advertise",
                                   "127.0.0.1",
                                   "-http-port",
                                   std::to_string(agent->http_port_),
                                   "-server-port",
                                   std::to_string(server_port),
                                   "-serf-lan-port",
                                   std::to_string(lan_port),
                                   "-serf-wan-port",
                                   std::to_string(wan_port),
                                   "-dns-port",
                                   "-1",
                                   "-grpc-port",
                                   "-1",
                                   "-grpc-tls-port",
                                   "-1",
                                   "-data-dir",
                                   (dir / "data").string(),
                                   "-config-file",
                                   config_path.string()};
  agent->argv_ = std::move(argv);
  CSNAP_TRY(agent->launch());
  return agent;
}

Status ConsulAgent::launch() {
  int log_fd =
      ::open((directory_ / "agent.log").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log_fd < 0)
    return system_error("creating agent.log");
  auto pid = spawn(argv_, {}, log_fd, log_fd);
  ::close(log_fd);
  if (!pid.ok())
    return std::move(pid).error();
  pid_ = *pid;
  auto ready = wait_ready(60s);
  if (!ready.ok()) {
    return Error(ErrorKind::unavailable,
                 fmt::format("consul agent did not start: {}\n--- agent log:\n{}",
                             ready.error().message(), log_text()));
  }
  return {};
}

void ConsulAgent::stop() {
  stop_process(pid_, 15s);
  pid_ = -1;
}

Status ConsulAgent::restart() {
  if (pid_ > 0)
    return Error(ErrorKind::internal, "the agent is running: stop() it first");
  return launch();
}

Status ConsulAgent::wait_ready(std::chrono::seconds deadline) {
  // The body is a JSON string and a newline: "" (and the newline) while there is no leader.
  auto has_leader = [](const CurlResult& r) {
    return r.status == 200 && r.body.find("\"127.0.0.1:") != std::string::npos;
  };
  const auto until = std::chrono::steady_clock::now() + deadline;
  std::string last;
  auto alive = [this]() {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    return true;
  };
  auto wait_for = [&](const std::vector<std::string>& args, auto ok) -> Status {
    while (true) {
      if (!alive())
        return Error(ErrorKind::unavailable, "the agent exited");
      auto result = curl(args);
      if (result.ok() && ok(*result))
        return {};
      last = result.ok() ? fmt::format("{} {}", result->status, result->body)
                         : result.error().message();
      if (std::chrono::steady_clock::now() > until) {
        return Error(ErrorKind::unavailable, fmt::format("timed out; last answer: {}", last));
      }
      std::this_thread::sleep_for(100ms);
    }
  };
  auto base = fmt::format("http://{}", http_address());
  CSNAP_TRY(wait_for({base + "/v1/status/leader"}, has_leader));
  if (!token_.empty()) {
    CSNAP_TRY(wait_for({"-H", "X-Consul-Token: " + token_, base + "/v1/acl/token/self"},
                       [](const CurlResult& r) { return r.status == 200; }));
  }
  if (tls_) {
    CSNAP_TRY(wait_for({"--cacert", ca_file(), https_address() + "/v1/status/leader"}, has_leader));
  }
  return {};
}

std::string ConsulAgent::log_text() const {
  std::ifstream in(directory_ / "agent.log");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void stop_process(int pid, std::chrono::seconds grace) {
  if (pid <= 0)
    return;
  ::kill(pid, SIGTERM);
  const auto until = std::chrono::steady_clock::now() + grace;
  int status = 0;
  while (std::chrono::steady_clock::now() < until) {
    if (::waitpid(pid, &status, WNOHANG) == pid)
      return;
    std::this_thread::sleep_for(50ms);
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, &status, 0);
}

ConsulAgent::~ConsulAgent() {
  stop_process(pid_, 15s);
  std::error_code ignored;
  if (!directory_.empty())
    std::filesystem::remove_all(directory_, ignored);
}

std::string ConsulAgent::http_address() const {
  return fmt::format("127.0.0.1:{}", http_port_);
}

std::string ConsulAgent::https_address() const {
  return tls_ ? fmt::format("https://127.0.0.1:{}", https_port_) : std::string();
}

std::string ConsulAgent::unix_address() const {
  return unix_socket_ ? "unix://" + (directory_ / "http.sock").string() : std::string();
}

std::string ConsulAgent::management_token() const {
  return token_;
}

std::string ConsulAgent::ca_file() const {
  return tls_ ? (directory_ / "consul-agent-ca.pem").string() : std::string();
}

Result<std::string> ConsulAgent::run_cli(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {binary_.string()};
  argv.insert(argv.end(), args.begin(), args.end());
  std::map<std::string, std::string> env = {{"CONSUL_HTTP_ADDR", http_address()}};
  if (!token_.empty())
    env["CONSUL_HTTP_TOKEN"] = token_;
  CSNAP_ASSIGN_OR_RETURN(auto result, run_process(argv, env));
  if (result.exit_code != 0) {
    return Error(ErrorKind::internal,
                 fmt::format("consul {} exited with {}: {}", args.empty() ? "" : args[0],
                             result.exit_code, result.err));
  }
  return result.out;
}

}  // namespace csnap::testing
