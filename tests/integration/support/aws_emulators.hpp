#pragma once
// AWS services for the credential tests, on free loopback ports: moto's server (for STS
// AssumeRoleWithWebIdentity only) and AWS's EC2 instance metadata emulator
// (amazon-ec2-metadata-mock, for IMDSv2). Each is stopped and its files removed when the object
// goes away, and killed when the test process dies.

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "consul_agent.hpp"    // running_in_ci, free_port, curl, find_cached_binary
#include "server_process.hpp"  // spawn_background
#include "util/result.hpp"

namespace csnap::testing {

// $CSNAP_PYTHON, else <cache>/venv/bin/python (scripts/install-py-tools.sh), when it can import
// moto.server.
std::optional<std::filesystem::path> find_python_with_moto();

class MotoServer {
 public:
  static Result<std::unique_ptr<MotoServer>> start();
  MotoServer(const MotoServer&) = delete;
  MotoServer& operator=(const MotoServer&) = delete;
  ~MotoServer();

  std::string endpoint() const;  // "http://127.0.0.1:PORT"
  const std::filesystem::path& python() const { return python_; }

 private:
  MotoServer() = default;
  std::filesystem::path python_;
  std::filesystem::path directory_;
  int pid_ = -1;
  int port_ = 0;
};

// $EC2_METADATA_MOCK_BIN, else <cache>/bin/ec2-metadata-mock-v1.13.0
// (scripts/build-ec2-metadata-mock.sh).
std::optional<std::filesystem::path> find_ec2_metadata_mock_binary();

struct Ec2MetadataMockOptions {
  bool imdsv2_only = true;  // refuse requests without a session token (401)
  std::string config_json;  // its configuration file (-c), watched for changes (-w)
};

class Ec2MetadataMock {
 public:
  static Result<std::unique_ptr<Ec2MetadataMock>> start(const Ec2MetadataMockOptions& options);
  Ec2MetadataMock(const Ec2MetadataMock&) = delete;
  Ec2MetadataMock& operator=(const Ec2MetadataMock&) = delete;
  ~Ec2MetadataMock();

  std::string endpoint() const;  // "http://127.0.0.1:PORT"
  // Replaces the configuration file (atomically); the mock reloads it by itself.
  Status write_config(const std::string& config_json) const;
  std::string log_text() const;

 private:
  Ec2MetadataMock() = default;
  std::filesystem::path directory_;
  int pid_ = -1;
  int port_ = 0;
};

// Configuration for Ec2MetadataMock: the instance's role `role` with these credentials.
std::string ec2_metadata_mock_config(const std::string& role, const std::string& access_key,
                                     const std::string& secret_key, const std::string& token,
                                     std::chrono::system_clock::time_point expiration);

// "2026-11-27T17:00:00Z".
std::string iso8601_utc(std::chrono::system_clock::time_point time);

}  // namespace csnap::testing

// Starts a MotoServer into `server` (a new variable); skips the test with an install hint when
// python with moto is missing, but fails under CI=true, and fails when it does not start.
#define CSNAP_REQUIRE_MOTO(server)                                                   \
  CSNAP_REQUIRE_FOUND(::csnap::testing::find_python_with_moto(), "python with moto", \
                      "run scripts/install-py-tools.sh or set CSNAP_PYTHON")         \
  CSNAP_ASSERT_STARTED(server, ::csnap::testing::MotoServer::start())

// Starts an Ec2MetadataMock with `options` into `mock` (a new variable); skips the test with a
// build hint when the binary is missing, but fails under CI=true, and fails when it won't start.
#define CSNAP_REQUIRE_EC2_METADATA_MOCK(mock, options)                                        \
  CSNAP_REQUIRE_FOUND(::csnap::testing::find_ec2_metadata_mock_binary(), "ec2-metadata-mock", \
                      "run scripts/build-ec2-metadata-mock.sh or set EC2_METADATA_MOCK_BIN")  \
  CSNAP_ASSERT_STARTED(mock, ::csnap::testing::Ec2MetadataMock::start(options))
