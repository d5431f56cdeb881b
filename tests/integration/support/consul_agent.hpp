#pragma once
// A real `consul agent -dev` for integration tests (plain, with ACLs, with TLS), and helpers that
// check state without our own client: the consul CLI and the curl CLI.

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "util/result.hpp"

namespace csnap::testing {

struct ProcessResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs `argv` (no shell) with `env` added to this process's environment, waits for it, and
// captures stdout and stderr.
Result<ProcessResult> run_process(const std::vector<std::string>& argv,
                                  const std::map<std::string, std::string>& env = {});

struct ConsulAgentOptions {
  bool acl = false;
  bool tls = false;
  bool unix_socket = false;  // also serve HTTP on a unix socket in the agent's folder
};

// A real `consul agent -dev` on free loopback ports with its own data dir; stopped (SIGTERM, then
// SIGKILL after a deadline) and waited for in the destructor, which also removes its files.
class ConsulAgent {
 public:
  static Result<std::unique_ptr<ConsulAgent>> start(ConsulAgentOptions options = {});
  ConsulAgent(const ConsulAgent&) = delete;
  ConsulAgent& operator=(const ConsulAgent&) = delete;
  ~ConsulAgent();

  std::string http_address() const;      // "127.0.0.1:PORT"
  std::string https_address() const;     // "https://127.0.0.1:PORT" (tls only)
  std::string unix_address() const;      // "unix:///.../http.sock" (unix_socket only)
  std::string management_token() const;  // acl only
  std::string ca_file() const;           // tls only
  std::filesystem::path consul_binary() const { return binary_; }
  const std::filesystem::path& directory() const { return directory_; }

  // Stops the agent (SIGTERM) and keeps its ports and folder, for restart(). A dev agent keeps
  // its data in memory: a restarted one is empty.
  void stop();
  // Starts the stopped agent again on the same ports and waits until it has a leader.
  Status restart();

  // Runs the consul CLI with CONSUL_HTTP_ADDR (and CONSUL_HTTP_TOKEN) set; returns stdout.
  Result<std::string> run_cli(const std::vector<std::string>& args) const;

 private:
  ConsulAgent() = default;
  Status wait_ready(std::chrono::seconds deadline);
  Status launch();
  std::string log_text() const;

  std::filesystem::path binary_;
  std::filesystem::path directory_;
  std::vector<std::string> argv_;
  int pid_ = -1;
  int http_port_ = 0;
  int https_port_ = 0;
  std::string token_;
  bool tls_ = false;
  bool unix_socket_ = false;
};

// Where the build scripts keep what they build: $CONSUL_SNAPSHOT_CACHE, else
// $XDG_CACHE_HOME/consul-snapshot, else ~/.cache/consul-snapshot (an empty variable counts as
// unset, as in the scripts).
std::filesystem::path cache_directory();

// The binary that `variable` names, else <cache>/bin/<file_name> with <cache> as
// cache_directory() says; nothing when it is not there or not executable.
std::optional<std::filesystem::path> find_cached_binary(std::string_view variable,
                                                        std::string_view file_name);

// $CONSUL_BIN, else <cache>/bin/consul-v1.16.3 with <cache> as in scripts/build-consul.sh.
std::optional<std::filesystem::path> find_consul_binary();

// True when the environment says this is CI (CI=true): missing components fail, not skip.
bool running_in_ci();

// Stops process `pid`: SIGTERM, then SIGKILL if it has not exited after `grace`; reaps it.
void stop_process(int pid, std::chrono::seconds grace);

// A free TCP port on 127.0.0.1 (bound to port 0 and released).
Result<int> free_port();

struct CurlResult {
  long status = 0;
  std::string body;
};

// Runs the curl CLI with `args` (plus -sS and a status trailer) and returns status and body.
Result<CurlResult> curl(const std::vector<std::string>& args);

}  // namespace csnap::testing

// Ends the test when something it needs is missing (`found` is false): fails under CI=true, else
// skips, saying "<what> not found: <hint>". `what` and `hint` are string literals.
#define CSNAP_REQUIRE_FOUND(found, what, hint)      \
  if (!(found)) {                                   \
    if (::csnap::testing::running_in_ci())          \
      FAIL() << what " not found (CI=true): " hint; \
    GTEST_SKIP() << what " not found: " hint;       \
  }

// Declares `name` as the value of `started` (a Result); fails the test with its error instead.
// NOLINTBEGIN(bugprone-macro-parentheses): `name` is the variable declared, not an expression
#define CSNAP_ASSERT_STARTED(name, started)              \
  auto CSNAP_CONCAT(name, _started) = started;           \
  ASSERT_TRUE(CSNAP_CONCAT(name, _started).ok())         \
      << CSNAP_CONCAT(name, _started).error().message(); \
  auto name = std::move(CSNAP_CONCAT(name, _started)).value()
// NOLINTEND(bugprone-macro-parentheses)

// Starts a ConsulAgent into `agent` (a new variable); skips the test with an install hint when no
// consul binary exists, but fails under CI=true, and fails when the agent does not start.
#define CSNAP_REQUIRE_CONSUL(agent, options)                                   \
  CSNAP_REQUIRE_FOUND(::csnap::testing::find_consul_binary(), "consul binary", \
                      "run scripts/build-consul.sh or set CONSUL_BIN")         \
  CSNAP_ASSERT_STARTED(agent, ::csnap::testing::ConsulAgent::start(options))
