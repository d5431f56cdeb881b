#include "aws_emulators.hpp"

#include <cstdlib>
#include <ctime>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

namespace csnap::testing {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kMockVersion = "v1.13.0";

}  // namespace

std::optional<std::filesystem::path> find_python_with_moto() {
  static const std::optional<std::filesystem::path> found = []() {
    std::filesystem::path python;
    if (const char* explicit_python = std::getenv("CSNAP_PYTHON"); explicit_python != nullptr)
      python = explicit_python;
    else
      python = cache_directory() / "venv" / "bin" / "python";
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
  CSNAP_TRY(launch_server(
      {.name = "moto",
       .argv = {python->string(), "-m", "moto.server", "-H", "127.0.0.1", "-p",
                std::to_string(server->port_)},
       .env = {},
       .directory = server->directory_,
       .log_path = server->directory_ / "moto.log",
       .deadline = 60s,
       // Ready when it answers an STS call.
       .ready_request = {"-X", "POST", "-d", "Action=GetCallerIdentity&Version=2011-06-15",
                         server->endpoint() + "/"},
       .ready_status = 200},
      server->pid_));
  return server;
}

std::string MotoServer::endpoint() const {
  return fmt::format("http://127.0.0.1:{}", port_);
}

MotoServer::~MotoServer() {
  stop_and_remove(pid_, directory_, 10s);
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

Result<std::unique_ptr<Ec2MetadataMock>> Ec2MetadataMock::start(
    const Ec2MetadataMockOptions& options) {
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
    argv.emplace_back("--imdsv2");
  CSNAP_TRY(launch_server(
      {.name = "ec2-metadata-mock",
       .argv = std::move(argv),
       // Its own HOME: it looks for (and may write) files there.
       .env = {{"HOME", mock->directory_.string()}},
       .directory = mock->directory_,
       .log_path = mock->directory_ / "mock.log",
       .deadline = 30s,
       .ready_request = {"-X", "PUT", "-H", "X-aws-ec2-metadata-token-ttl-seconds: 60",
                         mock->endpoint() + "/latest/api/token"},
       .ready_status = 200},
      mock->pid_));
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
  return file_tail(directory_ / "mock.log", std::string::npos);
}

std::string Ec2MetadataMock::endpoint() const {
  return fmt::format("http://127.0.0.1:{}", port_);
}

Ec2MetadataMock::~Ec2MetadataMock() {
  stop_and_remove(pid_, directory_, 10s);
}

}  // namespace csnap::testing
