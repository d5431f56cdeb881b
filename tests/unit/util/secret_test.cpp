#include "util/secret.hpp"

#include <gtest/gtest.h>

#include <sstream>

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
