#pragma once
// What the CLI integration tests share: running the consul-snapshot binary under test (and other
// programs) without a shell, and a fixture with a real Consul agent and a work folder.

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

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

  // Writes to `crafted` (.tar.zst) a copy of the zstd backup `backup` whose JSON member `member`
  // `change` rewrote (it sees the member and meta.json), with meta.json's size and SHA-256 to
  // match: done with the stock zstd, tar and sha256sum, in work_/unpacked.
  void rewrite_member(const std::filesystem::path& backup, const std::string& member,
                      const std::filesystem::path& crafted,
                      const std::function<void(nlohmann::json&, nlohmann::json&)>& change) {
    const auto unpacked = work_ / "unpacked";
    const auto plain = (work_ / "plain.tar").string();
    std::filesystem::remove_all(unpacked);
    std::filesystem::create_directories(unpacked);
    ASSERT_EQ(run({"zstd", "-d", "-q", "-f", "-o", plain, backup.string()}).exit_code, 0);
    ASSERT_EQ(run({"tar", "-xf", plain, "-C", unpacked.string()}).exit_code, 0);
    const auto member_path = unpacked / member;
    auto content = nlohmann::json::parse(std::ifstream(member_path));
    auto meta = nlohmann::json::parse(std::ifstream(unpacked / "meta.json"));
    change(content, meta);
    std::ofstream(member_path) << content.dump(2) << "\n";
    std::vector<std::string> tar_args{"tar", "--format=ustar",  "-cf",      plain,
                                      "-C",  unpacked.string(), "meta.json"};
    for (auto& listed : meta["members"]) {
      const std::string name = listed["name"];
      tar_args.push_back(name);
      if (name != member)
        continue;
      auto sum = run({"sha256sum", member_path.string()});
      ASSERT_EQ(sum.exit_code, 0);
      listed["sha256"] = sum.out.substr(0, 64);
      listed["size"] = std::filesystem::file_size(member_path);
    }
    std::ofstream(unpacked / "meta.json") << meta.dump(2) << "\n";
    ASSERT_EQ(run(tar_args).exit_code, 0);
    ASSERT_EQ(run({"zstd", "-q", "-f", "-o", crafted.string(), plain}).exit_code, 0);
  }

  std::unique_ptr<ConsulAgent> agent_;
  std::filesystem::path work_;
};

}  // namespace csnap::testing
