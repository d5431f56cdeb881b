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

Url parsed(std::string_view text, const ParseUrlOptions& options = {}) {
  auto url = parse_url(text, options);
  EXPECT_TRUE(url.ok()) << text << ": " << (url.ok() ? "" : url.error().message());
  return url.ok() ? *url : Url{};
}

std::string refusal(std::string_view text, const ParseUrlOptions& options = {}) {
  auto url = parse_url(text, options);
  EXPECT_FALSE(url.ok()) << text;
  if (url.ok())
    return {};
  EXPECT_EQ(url.error().kind(), ErrorKind::invalid_argument) << text;
  return url.error().message();
}

TEST(ParseUrl, TakesAnHttpUrlApart) {
  auto url = parsed("HTTPS://S3.Example.com:9000/a%20b/c?x=1&y=%2F#top");
  EXPECT_EQ(url.scheme, "https");
  EXPECT_EQ(url.host, "S3.Example.com");
  EXPECT_EQ(url.bare_host(), "s3.example.com");
  EXPECT_EQ(url.port, "9000");
  EXPECT_EQ(url.path, "/a%20b/c");
  EXPECT_EQ(url.query, "x=1&y=%2F");
  EXPECT_TRUE(url.has_fragment);
  EXPECT_FALSE(url.has_credentials);
  EXPECT_EQ(url.origin(), "https://S3.Example.com:9000");
  EXPECT_EQ(url.target(), "/a%20b/c?x=1&y=%2F");
  EXPECT_EQ(url.port_or_default(), "9000");
}

TEST(ParseUrl, DefaultsPathAndPort) {
  auto url = parsed("http://169.254.169.254");
  EXPECT_EQ(url.path, "/");
  EXPECT_EQ(url.target(), "/");
  EXPECT_EQ(url.port, "");
  EXPECT_EQ(url.port_or_default(), "80");
  EXPECT_EQ(url.origin(), "http://169.254.169.254");
  EXPECT_EQ(parsed("https://h").port_or_default(), "443");
}

TEST(ParseUrl, Ipv6HostsKeepTheirBracketsInTheOrigin) {
  auto url = parsed("http://[fd00:ec2::254]/latest/api/token");
  EXPECT_EQ(url.host, "[fd00:ec2::254]");
  EXPECT_EQ(url.bare_host(), "fd00:ec2::254");
  EXPECT_EQ(url.origin(), "http://[fd00:ec2::254]");
  EXPECT_EQ(parsed("[::1]:8500", {.default_scheme = "http"}).origin(), "http://[::1]:8500");
}

TEST(ParseUrl, TheDefaultSchemeAppliesOnlyWhenNoneIsWritten) {
  EXPECT_EQ(parsed("127.0.0.1:8500", {.default_scheme = "http"}).origin(), "http://127.0.0.1:8500");
  EXPECT_EQ(parsed("localhost:8500", {.default_scheme = "http"}).origin(), "http://localhost:8500");
  EXPECT_EQ(parsed("minio.local", {.default_scheme = "https"}).scheme, "https");
  EXPECT_EQ(parsed("https://h:1", {.default_scheme = "http"}).scheme, "https");
  EXPECT_EQ(parsed("http://h:1", {.default_scheme = "https"}).scheme, "http");
  // Without a default, a text with no scheme is no URL.
  EXPECT_FALSE(parse_url("127.0.0.1:8500").ok());
  EXPECT_FALSE(parse_url("/just/a/path").ok());
}

TEST(ParseUrl, FlagsCredentials) {
  EXPECT_TRUE(parsed("http://user:pw@h").has_credentials);
  EXPECT_TRUE(parsed("http://user@h").has_credentials);
  EXPECT_TRUE(parsed("http://:pw@h").has_credentials);
  EXPECT_TRUE(parsed("u:p@h:1", {.default_scheme = "http"}).has_credentials);
}

TEST(ParseUrl, OtherSchemesOnlyWhenAsked) {
  EXPECT_NE(refusal("ftp://x:1").find("scheme \"ftp\" is not http or https"), std::string::npos);
  EXPECT_NE(refusal("gs://b", {.schemes = {"s3"}}).find("\"gs\" is not s3"), std::string::npos);
  auto bucket = parsed("s3://my-bucket/team/consul/?region=eu-west-1", {.schemes = {"s3"}});
  EXPECT_EQ(bucket.host, "my-bucket");
  EXPECT_EQ(bucket.path, "/team/consul/");
  EXPECT_EQ(bucket.query, "region=eu-west-1");
}

TEST(ParseUrl, HostileAndOddTextIsRefusedWithAReason) {
  EXPECT_NE(refusal("http://").find("no host"), std::string::npos);
  EXPECT_NE(refusal("s3://", {.schemes = {"s3"}, .host_name = "bucket"}).find("no bucket"),
            std::string::npos);
  for (const char* text : {"http://h:port", "http://h:70000", "http://h:0", "http://h:-1"})
    EXPECT_NE(refusal(text).find("bad port"), std::string::npos) << text;
  for (const char* text : {"http://h h", "http://[::1"})
    EXPECT_NE(refusal(text).find("bad host"), std::string::npos) << text;
  EXPECT_FALSE(parse_url("http://h\r\nHost: evil").ok());
  EXPECT_FALSE(parse_url(std::string_view("http://h\0.evil", 14)).ok());
  EXPECT_FALSE(parse_url("").ok());
}

}  // namespace
}  // namespace csnap::http
