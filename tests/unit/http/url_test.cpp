#include "http/url.hpp"

#include <gtest/gtest.h>

namespace csnap::http {
namespace {

TEST(PercentEncodePath, KeepsUnreservedAndSlash) {
  EXPECT_EQ(percent_encode_path("a/b-c_d.e~f/"), "a/b-c_d.e~f/");
  EXPECT_EQ(percent_encode_path("a b%c?d#e"), "a%20b%25c%3Fd%23e");
  EXPECT_EQ(percent_encode_path("\t\n"), "%09%0A");
  EXPECT_EQ(percent_encode_path("\xc2\xa0"), "%C2%A0");
  EXPECT_EQ(percent_encode_path(std::string("\0", 1)), "%00");
}

TEST(PercentEncodeComponent, EncodesSlash) {
  EXPECT_EQ(percent_encode_component("a/b"), "a%2Fb");
}

TEST(RedactUrl, DropsUserInfo) {
  EXPECT_EQ(redact_url("https://user:secret@host:8500/v1/kv?x=1"), "https://host:8500/v1/kv?x=1");
  EXPECT_EQ(redact_url("http://host/a@b"), "http://host/a@b");
  EXPECT_EQ(redact_url("http://host:1"), "http://host:1");
  EXPECT_EQ(redact_url("user:pw@host"), "host");
}

}  // namespace
}  // namespace csnap::http
