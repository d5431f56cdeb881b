#include "util/result.hpp"

#include <memory>

#include <gtest/gtest.h>

namespace csnap {
namespace {

Result<int> parse_positive(int value) {
  if (value <= 0)
    return Error(ErrorKind::invalid_argument, "not positive");
  return value;
}

Result<int> doubled(int value) {
  CSNAP_ASSIGN_OR_RETURN(int parsed, parse_positive(value));
  return parsed * 2;
}

Status check_with_context(int value) {
  CSNAP_TRY_CONTEXT(parse_positive(value), "checking input");
  return {};
}

TEST(Result, HoldsValueOrError) {
  auto good = parse_positive(3);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 3);
  auto bad = parse_positive(-1);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().kind(), ErrorKind::invalid_argument);
}

TEST(Result, AssignOrReturnPropagates) {
  EXPECT_EQ(*doubled(4), 8);
  auto bad = doubled(0);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message(), "not positive");
}

TEST(Result, ContextIsPrefixed) {
  auto status = check_with_context(-5);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().message(), "checking input: not positive");
  EXPECT_EQ(status.error().kind(), ErrorKind::invalid_argument);
  EXPECT_TRUE(check_with_context(1).ok());
}

TEST(Result, MoveOnlyValues) {
  Result<std::unique_ptr<int>> result = std::make_unique<int>(7);
  ASSERT_TRUE(result.ok());
  auto owned = std::move(result).value();
  EXPECT_EQ(*owned, 7);
}

}  // namespace
}  // namespace csnap
