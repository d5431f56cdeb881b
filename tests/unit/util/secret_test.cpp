#include "util/secret.hpp"

#include <sstream>

#include <gtest/gtest.h>

namespace csnap {
namespace {

TEST(Secret, NeverPrints) {
  Secret secret("hunter2-password");
  EXPECT_EQ(fmt::format("token={}", secret), "token=**redacted**");
  std::ostringstream stream;
  stream << secret;
  EXPECT_EQ(stream.str(), "**redacted**");
  EXPECT_EQ(secret.reveal(), "hunter2-password");
}

}  // namespace
}  // namespace csnap
