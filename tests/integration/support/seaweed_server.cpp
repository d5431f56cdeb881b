#include "seaweed_server.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "consul_agent.hpp"

namespace csnap::testing {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kWeedVersion = "v0.0.0-20261109003541-7506e5f91cd6";

Error system_error(std::string_view what) {
  return Error(ErrorKind::internal, fmt::format("{}: {}", what, std::strerror(errno)));
}

std::string identities_json() {
  auto admin = SeaweedServer::admin();
  auto reader = SeaweedServer::reader();
  return fmt::format(
      R"({{"identities": [
  {{"name": "csnap_admin", "credentials": [{{"accessKey": "{}", "secretKey": "{}"}}],
    "actions": ["Admin", "Read", "List", "Tagging", "Write"]}},
  {{"name": "csnap_reader", "credentials": [{{"accessKey": "{}", "secretKey": "{}"}}],
    "actions": ["Read", "List"]}}
]}}
)",
      admin.access_key, admin.secret_key, reader.access_key, reader.secret_key);
}

// Forks and execs `argv` in `directory` with output to `log_path`; the child is killed when this
// process dies, so that a crashed test leaves no server behind.
Result<pid_t> spawn_server(const std::vector<std::string>& argv,
                           const std::filesystem::path& directory,
                           const std::filesystem::path& log_path) {
  int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (log_fd < 0)
    return system_error("creating the server log");
  std::vector<char*> pointers;
  for (const auto& arg : argv)
    pointers.push_back(const_cast<char*>(arg.c_str()));
  pointers.push_back(nullptr);
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
    ::execv(pointers[0], pointers.data());
    ::_exit(127);
  }
  ::close(log_fd);
  return pid;
}

}  // namespace

S3Identity SeaweedServer::admin() {
  return {"CSNAPADMINKEY0000001", "csnap-admin-secret/with+odd=chars0000001"};
}

S3Identity SeaweedServer::reader() {
  return {"CSNAPREADERKEY000001", "csnap-reader-secret-00000000000000000001"};
}

std::optional<std::filesystem::path> find_weed_binary() {
  return find_cached_binary("WEED_BIN", fmt::format("weed-{}", kWeedVersion));
}

std::string unique_bucket_name() {
  std::random_device device;
  return fmt::format("csnap-{:08x}{:08x}", device(), device());
}

Result<SeaweedServer*> SeaweedServer::shared() {
  static Result<std::unique_ptr<SeaweedServer>> server = start();
  if (!server.ok())
    return server.error();
  return server->get();
}

Result<std::unique_ptr<SeaweedServer>> SeaweedServer::start() {
  auto binary = find_weed_binary();
  if (!binary) {
    return Error(ErrorKind::not_found,
                 "weed binary not found: run scripts/build-seaweedfs.sh or set WEED_BIN");
  }
  std::unique_ptr<SeaweedServer> server(new SeaweedServer());
  std::string pattern = (std::filesystem::temp_directory_path() / "csnap-weed-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr)
    return system_error("mkdtemp");
  server->directory_ = pattern;
  const auto& dir = server->directory_;
  std::filesystem::create_directories(dir / "data");
  std::ofstream(dir / "identities.json") << identities_json();

  // Every listener gets a port picked here: its defaults are fixed numbers, and its gRPC ports
  // default to HTTP port + 10000, which may be taken.
  std::set<int> used;
  auto pick = [&]() -> Result<int> {
    for (int tries = 0; tries < 50; ++tries) {
      CSNAP_ASSIGN_OR_RETURN(int port, free_port());
      if (used.insert(port).second)
        return port;
    }
    return Error(ErrorKind::internal, "no free port");
  };
  std::vector<std::string> argv = {binary->string(),
                                   "mini",
                                   "-dir=" + (dir / "data").string(),
                                   "-ip=127.0.0.1",
                                   "-ip.bind=127.0.0.1",
                                   "-master.telemetry=false",
                                   "-webdav=false",
                                   "-admin.ui=false",
                                   "-s3.config=" + (dir / "identities.json").string(),
                                   "-s3.autoCreateBucket=false",
                                   "-s3.port.iceberg=0",
                                   "-s3.port.lance=0",
                                   "-admin.port.legacy=0",
                                   "-master.volumeSizeLimitMB=64"};
  CSNAP_ASSIGN_OR_RETURN(server->s3_port_, pick());
  argv.push_back(fmt::format("-s3.port={}", server->s3_port_));
  for (const char* flag :
       {"s3.port.grpc", "master.port", "master.port.grpc", "filer.port", "filer.port.grpc",
        "volume.port", "volume.port.grpc", "admin.port", "admin.port.grpc", "webdav.port"}) {
    CSNAP_ASSIGN_OR_RETURN(int port, pick());
    argv.push_back(fmt::format("-{}={}", flag, port));
  }
  CSNAP_ASSIGN_OR_RETURN(server->pid_, spawn_server(argv, dir, dir / "weed.log"));
  auto ready = server->wait_ready(90s);
  if (!ready.ok()) {
    return Error(ErrorKind::unavailable,
                 fmt::format("SeaweedFS did not start: {}\n--- weed log (tail):\n{}",
                             ready.error().message(), server->log_text()));
  }
  return server;
}

Status SeaweedServer::wait_ready(std::chrono::seconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  std::string last;
  while (true) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return Error(ErrorKind::unavailable, "weed exited");
    }
    // An anonymous request is refused once the S3 gateway has loaded its identities.
    auto answer = curl({"--max-time", "5", endpoint() + "/"});
    if (answer.ok() && answer->status == 403)
      return {};
    last =
        answer.ok() ? fmt::format("{} {}", answer->status, answer->body) : answer.error().message();
    if (std::chrono::steady_clock::now() > until)
      return Error(ErrorKind::unavailable, fmt::format("timed out; last answer: {}", last));
    std::this_thread::sleep_for(100ms);
  }
}

std::string SeaweedServer::log_text() const {
  std::ifstream in(directory_ / "weed.log");
  std::stringstream text;
  text << in.rdbuf();
  std::string all = text.str();
  return all.size() > 8000 ? all.substr(all.size() - 8000) : all;
}

std::string SeaweedServer::endpoint() const {
  return fmt::format("http://127.0.0.1:{}", s3_port_);
}

SeaweedServer::~SeaweedServer() {
  stop_process(pid_, 10s);
  std::error_code ignored;
  if (!directory_.empty())
    std::filesystem::remove_all(directory_, ignored);
}

}  // namespace csnap::testing
