// What --help says for each command: the commands register themselves (cli/command_set.hpp), so
// each one's flags, examples and the option table's ranges must reach its help.

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cli_test.hpp"

namespace csnap::testing {
namespace {

struct HelpCase {
  std::string command;
  std::vector<std::string> must_show;
};

TEST(CliHelp, EveryCommandShowsItsOwnFlagsExamplesAndTheTableRanges) {
  const std::vector<HelpCase> cases = {
      {"backup",
       {"--once", "--lock-ttl", "(allowed: 10s to 1d)", "BACKUPINTERVAL=300", "Exit codes:"}},
      {"restore", {"--mode", "--transform", "restore latest --dry-run", "Exit codes:"}},
      {"diff", {"--exit-code", "--json", "diff latest --prefix app/", "Exit codes:"}},
      {"inspect", {"--json", "full integrity check", "Exit codes:"}},
      {"list", {"--json", "consul-snapshot list", "Exit codes:"}},
      {"prune", {"--dry-run", "--keep-monthly", "(allowed: 1 or more)", "--keep-within 2d"}},
  };
  for (const auto& help_case : cases) {
    auto help = run_tool({help_case.command, "--help"}, {});
    EXPECT_EQ(help.exit_code, 0) << help_case.command << ": " << help.all();
    for (const auto& text : help_case.must_show)
      EXPECT_NE(help.out.find(text), std::string::npos)
          << help_case.command << " --help lacks " << text << ":\n"
          << help.out;
  }
  // Options of other commands stay out: restore takes no --once, list no --mode.
  EXPECT_EQ(run_tool({"restore", "--help"}, {}).out.find("--once"), std::string::npos);
  EXPECT_EQ(run_tool({"list", "--help"}, {}).out.find("--mode"), std::string::npos);
  // Secrets are refused as flags, so they are not offered as flags either.
  EXPECT_EQ(run_tool({"backup", "--help"}, {}).out.find("--crypto-password "), std::string::npos);
}

TEST(CliHelp, VersionAndConfigReferenceNeedNoConfiguration) {
  // A broken environment would fail any command that resolves the configuration.
  const std::map<std::string, std::string> broken = {{"CONSUL_SNAPSHOT_LOCK_TTL", "1s"}};
  auto version = run_tool({"version"}, broken);
  EXPECT_EQ(version.exit_code, 0) << version.all();
  EXPECT_NE(version.out.find("consul-snapshot "), std::string::npos);
  auto reference = run_tool({"config-reference"}, broken);
  EXPECT_EQ(reference.exit_code, 0) << reference.all();
  EXPECT_NE(reference.out.find("| `--lock-ttl` |"), std::string::npos);
  auto refused = run_tool({"list"}, broken);
  EXPECT_EQ(refused.exit_code, 2) << refused.all();
  EXPECT_NE(refused.all().find("--lock-ttl 1s"), std::string::npos) << refused.all();
  auto unknown = run_tool({"nonsense"}, {});
  EXPECT_EQ(unknown.exit_code, 2) << unknown.all();
}

// Values whose syntax belongs to a module (ops, the daemon, storage) are checked by that
// module's parser when the configuration is loaded: a bad one fails every command that reads the
// configuration with exit 2, naming the value and where it came from, before any work.
TEST(CliOptions, ModuleCheckedValuesAreRefusedWhenTheConfigurationIsLoaded) {
  struct BadValue {
    std::string variable, value, says;
  };
  const std::vector<BadValue> cases = {
      {"CONSUL_SNAPSHOT_ONLY", "kv,tokens", "unknown kind 'tokens'"},
      {"CONSUL_SNAPSHOT_RESTORE_TRANSFORM", "app-copy", "expected OLD=NEW"},
      {"CONSUL_SNAPSHOT_HTTP_ADDR", "localhost", "--http-addr \"localhost\""},
      {"CONSUL_SNAPSHOT_S3_SSE", "rot13", "must be AES256 or aws:kms"},
  };
  for (const auto& bad : cases) {
    // list touches neither Consul nor a storage it could not open: the refusal is the loader's.
    auto run = run_tool({"list"}, {{bad.variable, bad.value}});
    EXPECT_EQ(run.exit_code, 2) << bad.variable << ": " << run.all();
    EXPECT_NE(run.err.find(bad.says), std::string::npos) << bad.variable << ": " << run.all();
    EXPECT_NE(run.err.find("(from " + bad.variable + ")"), std::string::npos) << run.all();
  }
  // The accepted forms pass the same checks.
  auto fine = run_tool({"list", "--json"}, {{"CONSUL_SNAPSHOT_ONLY", "kv,query"},
                                            {"CONSUL_SNAPSHOT_HTTP_ADDR", "off"},
                                            {"CONSUL_SNAPSHOT_S3_SSE", "aes256"},
                                            {"LOCAL_DIR", "/nonexistent-csnap-dir"}});
  EXPECT_EQ(fine.err.find("(from "), std::string::npos) << fine.all();
}

}  // namespace
}  // namespace csnap::testing
