#pragma once
// Runs the consul-snapshot binary under test, and other programs, without a shell.

#include <map>
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

}  // namespace csnap::testing
