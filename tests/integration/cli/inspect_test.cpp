// `inspect`: what it tells of one backup, and what it needs to read it.

#include <string>

#include <gtest/gtest.h>

#include "cli_test.hpp"
#include "secret_marker_test.hpp"

namespace csnap::testing {
namespace {

class InspectTest : public SecretMarkerTest {};

// A backup encrypted with a passphrase: without it, inspect is a usage error naming the
// passphrase; with it, inspect names the encryption.
TEST_F(InspectTest, APassphraseBackupNeedsThePassphraseAndIsShownAsAge) {
  const auto with_key = with_passphrase();
  auto backup = run_tool({"backup", "--once"}, with_key);
  ASSERT_EQ(backup.exit_code, 0) << backup.all();

  auto inspect = run_tool({"inspect", "latest"}, env());
  EXPECT_EQ(inspect.exit_code, 2) << inspect.all();
  EXPECT_NE(inspect.err.find("passphrase"), std::string::npos) << inspect.err;

  auto inspected = run_tool({"inspect", "latest", "--json"}, with_key);
  EXPECT_EQ(inspected.exit_code, 0) << inspected.all();
  EXPECT_NE(inspected.out.find(R"("encryption": "age")"), std::string::npos) << inspected.out;
}

}  // namespace
}  // namespace csnap::testing
