#include "aws_emulators.hpp"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>
#include <thread>

#include <fcntl.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace csnap::testing {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kMockVersion = "v1.13.0";

Error system_error(std::string_view what) {
  return Error(ErrorKind::internal, fmt::format("{}: {}", what, std::strerror(errno)));
}

Result<std::filesystem::path> make_temp_directory(std::string_view prefix) {
  std::string pattern =
      (std::filesystem::temp_directory_path() / (std::string(prefix) + "XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr)
    return system_error("mkdtemp");
  return std::filesystem::path(pattern);
}

std::string tail_of(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  std::string all = text.str();
  return all.size() > 6000 ? all.substr(all.size() - 6000) : all;
}

// Polls `ready` every 100 ms until it holds, the process exits, or `deadline` passes.
Status wait_until(int pid, std::chrono::seconds deadline, const std::function<bool()>& ready) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (true) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid)
      return Error(ErrorKind::unavailable, "the process exited");
    if (ready())
      return {};
    if (std::chrono::steady_clock::now() > until)
      return Error(ErrorKind::unavailable, "timed out");
    std::this_thread::sleep_for(100ms);
  }
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
    environment.push_back(name + "=" + value);
  std::vector<char*> env_pointers;
  for (auto& entry : environment)
    env_pointers.push_back(entry.data());
  env_pointers.push_back(nullptr);
  std::vector<char*> arg_pointers;
  for (const auto& arg : argv)
    arg_pointers.push_back(const_cast<char*>(arg.c_str()));
  arg_pointers.push_back(nullptr);

  int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (log_fd < 0)
    return system_error("creating the process log");
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

std::optional<std::filesystem::path> find_python_with_moto() {
  static const std::optional<std::filesystem::path> found = []() {
    std::filesystem::path python;
    if (const char* explicit_python = std::getenv("CSNAP_PYTHON"); explicit_python != nullptr) {
      python = explicit_python;
    } else {
      std::filesystem::path cache;
      if (const char* root = std::getenv("CONSUL_SNAPSHOT_CACHE"); root != nullptr) {
        cache = root;
      } else if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr) {
        cache = std::filesystem::path(xdg) / "consul-snapshot";
      } else {
        const char* home = std::getenv("HOME");
        cache = std::filesystem::path(home != nullptr ? home : "/") / ".cache" / "consul-snapshot";
      }
      python = cache / "venv" / "bin" / "python";
    }
    if (::access(python.c_str(), X_OK) != 0)
      return std::optional<std::filesystem::path>();
    auto check = run_process({python.string(), "-c", "import moto.server"});
    if (!check.ok() || check->exit_code != 0)
      return std::optional<std::filesystem::path>();
    return std::optional<std::filesystem::path>(python);
  }();
  return found;
}

Result<std::unique_ptr<MotoServer>> MotoServer::start() {
  auto python = find_python_with_moto();
  if (!python) {
    return Error(ErrorKind::not_found,
                 "python with moto not found: run scripts/install-py-tools.sh or set CSNAP_PYTHON");
  }
  std::unique_ptr<MotoServer> server(new MotoServer());
  server->python_ = *python;
  CSNAP_ASSIGN_OR_RETURN(server->directory_, make_temp_directory("csnap-moto-"));
  CSNAP_ASSIGN_OR_RETURN(server->port_, free_port());
  auto log_path = server->directory_ / "moto.log";
  CSNAP_ASSIGN_OR_RETURN(server->pid_,
                         spawn_background({python->string(), "-m", "moto.server", "-H", "127.0.0.1",
                                           "-p", std::to_string(server->port_)},
                                          {}, server->directory_, log_path));
  // Ready when it answers an STS call.
  auto ready = wait_until(server->pid_, 60s, [&] {
    auto answer = curl({"--max-time", "5", "-X", "POST", "-d",
                        "Action=GetCallerIdentity&Version=2011-06-15", server->endpoint() + "/"});
    return answer.ok() && answer->status == 200;
  });
  if (!ready.ok()) {
    return Error(ErrorKind::unavailable,
                 fmt::format("moto did not start: {}\n--- moto log (tail):\n{}",
                             ready.error().message(), tail_of(log_path)));
  }
  return server;
}

std::string MotoServer::endpoint() const {
  return fmt::format("http://127.0.0.1:{}", port_);
}

MotoServer::~MotoServer() {
  stop_process(pid_, 10s);
  std::error_code ignored;
  if (!directory_.empty())
    std::filesystem::remove_all(directory_, ignored);
}

std::optional<std::filesystem::path> find_ec2_metadata_mock_binary() {
  return find_cached_binary("EC2_METADATA_MOCK_BIN",
                            fmt::format("ec2-metadata-mock-{}", kMockVersion));
}

std::string iso8601_utc(std::chrono::system_clock::time_point time) {
  std::time_t seconds = std::chrono::system_clock::to_time_t(time);
  std::tm parts{};
  ::gmtime_r(&seconds, &parts);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return text;
}

std::string ec2_metadata_mock_config(const std::string& role, const std::string& access_key,
                                     const std::string& secret_key, const std::string& token,
                                     std::chrono::system_clock::time_point expiration) {
  nlohmann::json config;
  auto& values = config["metadata"]["values"];
  values["iam-security-credentials-role"] = role;
  values["iam-security-credentials"] = {
      {"Code", "Success"},
      {"LastUpdated", iso8601_utc(std::chrono::system_clock::now())},
      {"Type", "AWS-HMAC"},
      {"AccessKeyId", access_key},
      {"SecretAccessKey", secret_key},
      {"Token", token},
      {"Expiration", iso8601_utc(expiration)}};
  return config.dump(2);
}

Result<std::unique_ptr<Ec2MetadataMock>> Ec2MetadataMock::start(Ec2MetadataMockOptions options) {
  auto binary = find_ec2_metadata_mock_binary();
  if (!binary) {
    return Error(ErrorKind::not_found,
                 "ec2-metadata-mock not found: run scripts/build-ec2-metadata-mock.sh or set "
                 "EC2_METADATA_MOCK_BIN");
  }
  std::unique_ptr<Ec2MetadataMock> mock(new Ec2MetadataMock());
  CSNAP_ASSIGN_OR_RETURN(mock->directory_, make_temp_directory("csnap-imds-"));
  CSNAP_TRY(mock->write_config(options.config_json));
  CSNAP_ASSIGN_OR_RETURN(mock->port_, free_port());
  std::vector<std::string> argv = {binary->string(),
                                   "--hostname",
                                   "127.0.0.1",
                                   "--port",
                                   std::to_string(mock->port_),
                                   "--config-file",
                                   (mock->directory_ / "config.json").string(),
                                   "--watch-config-file"};
  if (options.imdsv2_only)
    argv.push_back("--imdsv2");
  // Its own HOME: it looks for (and may write) files there.
  auto log_path = mock->directory_ / "mock.log";
  CSNAP_ASSIGN_OR_RETURN(mock->pid_, spawn_background(argv, {{"HOME", mock->directory_.string()}},
                                                      mock->directory_, log_path));
  auto ready = wait_until(mock->pid_, 30s, [&] {
    auto answer =
        curl({"--max-time", "5", "-X", "PUT", "-H", "X-aws-ec2-metadata-token-ttl-seconds: 60",
              mock->endpoint() + "/latest/api/token"});
    return answer.ok() && answer->status == 200;
  });
  if (!ready.ok()) {
    return Error(ErrorKind::unavailable,
                 fmt::format("ec2-metadata-mock did not start: {}\n--- its log (tail):\n{}",
                             ready.error().message(), tail_of(log_path)));
  }
  return mock;
}

Status Ec2MetadataMock::write_config(const std::string& config_json) const {
  auto temporary = directory_ / "config.json.new";
  {
    std::ofstream out(temporary);
    out << config_json;
    if (!out.flush())
      return Error(ErrorKind::io, fmt::format("writing {}", temporary.string()));
  }
  std::error_code error;
  std::filesystem::rename(temporary, directory_ / "config.json", error);
  if (error)
    return Error(ErrorKind::io,
                 fmt::format("renaming {}: {}", temporary.string(), error.message()));
  return {};
}

std::string Ec2MetadataMock::log_text() const {
  std::ifstream in(directory_ / "mock.log");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string Ec2MetadataMock::endpoint() const {
  return fmt::format("http://127.0.0.1:{}", port_);
}

Ec2MetadataMock::~Ec2MetadataMock() {
  stop_process(pid_, 10s);
  std::error_code ignored;
  if (!directory_.empty())
    std::filesystem::remove_all(directory_, ignored);
}

}  // namespace csnap::testing
