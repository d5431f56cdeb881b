#pragma once
// What the CLI integration tests share: running the consul-snapshot binary under test (and other
// programs) without a shell, and a fixture with a real Consul agent and a work folder.

#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "consul_agent.hpp"

namespace csnap::testing {

struct Run {
  int exit_code = -1;
  std::string out;
  std::string err;
  std::string all() const { return out + err; }
};

// Runs a program without a shell; a program that cannot start fails the test.
inline Run run(const std::vector<std::string>& argv,
               const std::map<std::string, std::string>& env = {}) {
  auto result = run_process(argv, env);
  if (!result.ok()) {
    ADD_FAILURE() << "cannot run " << argv[0] << ": " << result.error().message();
    return {};
  }
  return {result->exit_code, std::move(result->out), std::move(result->err)};
}

// The consul-snapshot binary under test.
inline Run run_tool(const std::vector<std::string>& args,
                    const std::map<std::string, std::string>& env) {
  std::vector<std::string> argv{CSNAP_TOOL_PATH};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, env);
}

// A real Consul agent and a fresh work folder with backups/ and tmp/:
//   CSNAP_REQUIRE_CONSUL(agent, options);  // skips locally, fails under CI=true
//   adopt(std::move(agent));
class CliTest : public ::testing::Test {
 protected:
  void adopt(std::unique_ptr<ConsulAgent> agent) {
    agent_ = std::move(agent);
    work_ = std::filesystem::temp_directory_path() /
            ("csnap-cli-" + std::to_string(std::random_device{}()));
    std::filesystem::create_directories(work_ / "backups");
    std::filesystem::create_directories(work_ / "tmp");
  }

  void TearDown() override {
    agent_.reset();
    if (!work_.empty())
      std::filesystem::remove_all(work_);
  }

  // The environment of a run against the agent, storing into the work folder.
  std::map<std::string, std::string> env() const {
    return {{"CONSUL_HTTP_ADDR", agent_->http_address()},
            {"LOCAL_DIR", (work_ / "backups").string()},
            {"SNAPSHOT_TMP_DIR", (work_ / "tmp").string()},
            // A daemon's HTTP server on an ephemeral loopback port, never the default :5001.
            {"CONSUL_SNAPSHOT_HTTP_ADDR", "127.0.0.1:0"}};
  }

  std::vector<std::filesystem::path> backup_files() const {
    std::vector<std::filesystem::path> out;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(work_ / "backups")) {
      if (entry.is_regular_file())
        out.push_back(entry.path());
    }
    return out;
  }

  std::unique_ptr<ConsulAgent> agent_;
  std::filesystem::path work_;
};

}  // namespace csnap::testing
