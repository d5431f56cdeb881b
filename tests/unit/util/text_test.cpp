#include "util/text.hpp"

#include <gtest/gtest.h>

namespace csnap {
namespace {

TEST(ParseBool, AcceptsTheDocumentedWordsInAnyCase) {
  for (const char* word : {"true", "1", "yes", "on", "TRUE", "Yes", "oN"}) {
    EXPECT_EQ(parse_bool(word), std::optional<bool>(true)) << word;
  }
  for (const char* word : {"false", "0", "no", "off", "FALSE", "No", "OFF"}) {
    EXPECT_EQ(parse_bool(word), std::optional<bool>(false)) << word;
  }
}

TEST(ParseBool, RefusesEverythingElse) {
  for (const char* word : {"", "maybe", "2", "y", "n", "t", "f", " true", "true ", "enabled"}) {
    EXPECT_EQ(parse_bool(word), std::nullopt) << "'" << word << "'";
  }
}

TEST(TextHelpers, TrimAndLower) {
  EXPECT_EQ(trim(" \t a b \r\n"), "a b");
  EXPECT_EQ(trim("   "), "");
  EXPECT_EQ(to_lower("AbC-1"), "abc-1");
}

}  // namespace
}  // namespace csnap
