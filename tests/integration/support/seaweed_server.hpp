#pragma once
// A real S3 server for integration tests: SeaweedFS's `weed mini` on free loopback ports, with
// SigV4 checked against two identities (read-write and read-only). One per test process.

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "consul_agent.hpp"  // running_in_ci, free_port, curl
#include "util/result.hpp"

namespace csnap::testing {

struct S3Identity {
  std::string access_key;
  std::string secret_key;
};

class SeaweedServer {
 public:
  static Result<std::unique_ptr<SeaweedServer>> start();
  // The server of this test process, started on first use and stopped at exit.
  static Result<SeaweedServer*> shared();
  SeaweedServer(const SeaweedServer&) = delete;
  SeaweedServer& operator=(const SeaweedServer&) = delete;
  ~SeaweedServer();

  std::string endpoint() const;  // "http://127.0.0.1:PORT"
  int s3_port() const { return s3_port_; }
  static S3Identity admin();   // every action
  static S3Identity reader();  // Read and List only
  const std::filesystem::path& directory() const { return directory_; }

 private:
  SeaweedServer() = default;

  std::filesystem::path directory_;
  int pid_ = -1;
  int s3_port_ = 0;
};

// $WEED_BIN, else <cache>/bin/weed-<version> with <cache> as in scripts/build-seaweedfs.sh.
std::optional<std::filesystem::path> find_weed_binary();

// A bucket name no other test uses: "csnap-<random hex>".
std::string unique_bucket_name();

}  // namespace csnap::testing

// Points `server` (a new SeaweedServer* variable) at the process's SeaweedFS; skips the test with
// a build hint when no weed binary exists, but fails under CI=true, and fails when it won't start.
#define CSNAP_REQUIRE_SEAWEED(server)                                      \
  CSNAP_REQUIRE_FOUND(::csnap::testing::find_weed_binary(), "weed binary", \
                      "run scripts/build-seaweedfs.sh or set WEED_BIN")    \
  CSNAP_ASSERT_STARTED(server, ::csnap::testing::SeaweedServer::shared())
