// `list`: what it shows of each backup in storage, read without any key.

#include <string>

#include <gtest/gtest.h>

#include "cli_test.hpp"
#include "secret_marker_test.hpp"

namespace csnap::testing {
namespace {

class ListTest : public SecretMarkerTest {};

// A backup encrypted with a passphrase is listed as encrypted by a `list` that holds no key.
TEST_F(ListTest, JsonMarksAPassphraseBackupEncryptedWithoutTheKey) {
  auto backup = run_tool({"backup", "--once"}, with_passphrase());
  ASSERT_EQ(backup.exit_code, 0) << backup.all();

  auto listing = run_tool({"list", "--json"}, env());
  ASSERT_EQ(listing.exit_code, 0) << listing.all();
  EXPECT_NE(listing.out.find(R"("encrypted": true)"), std::string::npos) << listing.out;
}

}  // namespace
}  // namespace csnap::testing
