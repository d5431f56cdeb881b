#include "util/time.hpp"

#include <gtest/gtest.h>

namespace csnap {
namespace {

using namespace std::chrono_literals;
using std::chrono::sys_days;
using std::chrono::sys_seconds;
using std::chrono::year;

sys_seconds unix_time(std::int64_t seconds) {
  return sys_seconds{std::chrono::seconds{seconds}};
}

// Moved from archive/meta_test.cpp (the parser lived in archive/meta.cpp).
TEST(Rfc3339Test, FormatsAndParses) {
  auto time = sys_days(year(2024) / 2 / 29) + 23h + 59min + 58s;
  EXPECT_EQ(format_rfc3339(time), "2024-02-29T23:59:58Z");
  EXPECT_EQ(*parse_rfc3339("2024-02-29T23:59:58Z"), time);
  EXPECT_EQ(*parse_rfc3339("2024-02-29T23:59:58.123456789Z"), time);
  EXPECT_EQ(*parse_rfc3339("2024-03-01T01:59:58+02:00"), time);
  EXPECT_EQ(format_rfc3339(sys_seconds{}), "1970-01-01T00:00:00Z");
  for (const char* bad : {"", "2024-02-30T00:00:00Z", "2024-02-29 23:59:58Z", "2024-02-29T23:59:58",
                          "2024-02-29T24:00:00Z", "2024-02-29T23:59:58.Z", "2024-2-29T23:59:58Z"}) {
    EXPECT_FALSE(parse_rfc3339(bad)) << bad;
  }
}

TEST(Rfc3339Test, FractionsAreDropped) {
  auto time = unix_time(86401);
  // S3's LastModified and STS's Expiration carry milliseconds.
  EXPECT_EQ(*parse_rfc3339("1970-01-02T00:00:01.000Z"), time);
  EXPECT_EQ(*parse_rfc3339("1970-01-02T00:00:01.999Z"), time);
  EXPECT_EQ(*parse_rfc3339("1970-01-02T00:00:01.5+00:00"), time);
  EXPECT_FALSE(parse_rfc3339("1970-01-02T00:00:01.5.5Z"));
  EXPECT_FALSE(parse_rfc3339("1970-01-02T00:00:01,5Z"));
}

TEST(Rfc3339Test, ZonesAndOffsets) {
  auto time = unix_time(1369353600);  // 2013-05-24T00:00:00Z
  EXPECT_EQ(*parse_rfc3339("2013-05-24T00:00:00Z"), time);
  EXPECT_EQ(*parse_rfc3339("2013-05-24t00:00:00z"), time);
  EXPECT_EQ(*parse_rfc3339("2013-05-24T00:00:00+00:00"), time);
  EXPECT_EQ(*parse_rfc3339("2013-05-24T00:00:00-00:00"), time);
  EXPECT_EQ(*parse_rfc3339("2013-05-23T19:30:00-04:30"), time);
  EXPECT_EQ(*parse_rfc3339("2013-05-24T05:45:00+05:45"), time);
  EXPECT_EQ(*parse_rfc3339("2013-05-24T23:59:00+23:59"), time);
  for (const char* bad :
       {"2013-05-24T00:00:00+24:00", "2013-05-24T00:00:00+00:60", "2013-05-24T00:00:00+0000",
        "2013-05-24T00:00:00+00:00Z", "2013-05-24T00:00:00UTC", "2013-05-24T00:00:00 Z"}) {
    EXPECT_FALSE(parse_rfc3339(bad)) << bad;
  }
}

TEST(Rfc3339Test, LeapYears) {
  EXPECT_EQ(format_rfc3339(*parse_rfc3339("2000-02-29T00:00:00Z")), "2000-02-29T00:00:00Z");
  EXPECT_EQ(format_rfc3339(*parse_rfc3339("2024-02-29T12:00:00Z")), "2024-02-29T12:00:00Z");
  EXPECT_FALSE(parse_rfc3339("1900-02-29T00:00:00Z"));  // divisible by 100, not by 400
  EXPECT_FALSE(parse_rfc3339("2023-02-29T00:00:00Z"));
  EXPECT_EQ(*parse_rfc3339("2024-03-01T00:00:00Z") - *parse_rfc3339("2024-02-28T00:00:00Z"), 48h);
  EXPECT_EQ(*parse_rfc3339("2023-03-01T00:00:00Z") - *parse_rfc3339("2023-02-28T00:00:00Z"), 24h);
}

TEST(Rfc3339Test, OutOfRangeIsRejectedWithTheText) {
  for (const char* bad : {"2013-13-01T00:00:00Z", "2013-00-01T00:00:00Z", "2013-01-00T00:00:00Z",
                          "2013-04-31T00:00:00Z", "2013-01-32T00:00:00Z", "2013-01-01T00:60:00Z",
                          "2013-01-01T00:00:61Z", "2013-01-01T-1:00:00Z", "+013-01-01T00:00:00Z",
                          "2013-01-01T00:00:0xZ", "2013-01-01T00:00:00Zjunk"}) {
    auto parsed = parse_rfc3339(bad);
    ASSERT_FALSE(parsed) << bad;
    EXPECT_EQ(parsed.error().kind(), ErrorKind::invalid_argument);
    EXPECT_NE(parsed.error().message().find(bad), std::string::npos) << parsed.error().message();
  }
}

TEST(Rfc3339Test, LeapSecondReadsAsTheSecondBefore) {
  EXPECT_EQ(*parse_rfc3339("2016-12-31T23:59:60Z"), *parse_rfc3339("2016-12-31T23:59:59Z"));
}

TEST(Rfc3339Test, TimesFourDigitsCannotHoldPrintAsUnixSeconds) {
  EXPECT_EQ(format_rfc3339(unix_time(253402300799)), "9999-12-31T23:59:59Z");
  EXPECT_EQ(format_rfc3339(unix_time(253402300800)), "253402300800");
  EXPECT_EQ(format_rfc3339(unix_time(-62167219200)), "0000-01-01T00:00:00Z");
  EXPECT_EQ(format_rfc3339(unix_time(-62167219201)), "-62167219201");
  EXPECT_EQ(format_readable_utc(unix_time(INT64_MAX)), std::to_string(INT64_MAX));
  EXPECT_EQ(format_iso8601_basic(unix_time(-62167219201)), "-62167219201");
}

// Moved from storage/s3_test.cpp (the parsers lived in storage/s3_xml.cpp).
TEST(HttpDateTest, ParsesTheFixedForm) {
  EXPECT_EQ(*parse_http_date("Fri, 24 May 2013 00:00:00 GMT"), unix_time(1369353600));
  EXPECT_EQ(*parse_http_date("Tue, 29 Feb 2028 23:59:59 GMT"),
            *parse_rfc3339("2028-02-29T23:59:59Z"));
  EXPECT_FALSE(parse_http_date("yesterday"));
  for (const char* bad : {"", "Fri, 24 Mai 2013 00:00:00 GMT", "Fri, 30 Feb 2013 00:00:00 GMT",
                          "Fri, 24 May 2013 24:00:00 GMT", "Fri, 24 May 2013 00:00:00 UTC",
                          "Fri 24 May 2013 00:00:00 GMT", "Fri, 24 May 2013 00:00:00 GMT "}) {
    auto parsed = parse_http_date(bad);
    ASSERT_FALSE(parsed) << bad;
    EXPECT_EQ(parsed.error().kind(), ErrorKind::invalid_argument);
  }
}

TEST(OtherFormatsTest, BasicAndReadable) {
  auto time = sys_days(year(2026) / 11 / 5) + 3h + 4min + 5s;
  EXPECT_EQ(format_iso8601_basic(time), "20261105T030405Z");
  EXPECT_EQ(format_readable_utc(time), "2026-11-05 03:04:05 UTC");
  EXPECT_EQ(utc_date(time), year(2026) / 11 / 5);
  EXPECT_EQ(utc_date(time - 3h - 4min - 6s), year(2026) / 11 / 4);
  EXPECT_EQ(utc_date(unix_time(-1)), year(1969) / 12 / 31);
}

}  // namespace
}  // namespace csnap
