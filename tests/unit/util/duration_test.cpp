#include "util/duration.hpp"

#include <cstdint>

#include <gtest/gtest.h>

namespace csnap {
namespace {

TEST(Durations, Parse) {
  EXPECT_EQ(parse_duration("90s")->count(), 90);
  EXPECT_EQ(parse_duration("15m")->count(), 900);
  EXPECT_EQ(parse_duration("1h30m")->count(), 5400);
  EXPECT_EQ(parse_duration("2d")->count(), 172800);
  EXPECT_EQ(parse_duration("60")->count(), 60);
  EXPECT_FALSE(parse_duration(""));
  EXPECT_FALSE(parse_duration("1h30"));
  EXPECT_FALSE(parse_duration("5x"));
  EXPECT_FALSE(parse_duration("-5s"));
}

// The docs show ranges with format_duration; each must read back as the same duration.
TEST(Durations, ReadBackWhatFormatDurationWrites) {
  for (std::int64_t seconds : {1, 10, 59, 60, 90, 3600, 5400, 86400, 90061, 604800}) {
    auto text = format_duration(std::chrono::seconds(seconds));
    EXPECT_EQ(parse_duration(text), std::chrono::seconds(seconds)) << text;
  }
}

}  // namespace
}  // namespace csnap
