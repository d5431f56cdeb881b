#include "util/log.hpp"

#include <cstdio>
#include <regex>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "captured_log.hpp"

namespace csnap {
namespace {

using test_common::CapturedLog;

TEST(Log, OriginalLineFormat) {
  CapturedLog captured;
  log::info("Starting Backup At: {}", 1468004512);
  std::regex line(
      R"(^\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2} \[INFO\] Starting Backup At: 1468004512\n$)");
  EXPECT_TRUE(std::regex_match(captured.text(), line)) << captured.text();
}

TEST(Log, LevelFilters) {
  CapturedLog captured;
  log::set_level(log::Level::warn);
  log::info("hidden");
  log::debug("hidden too");
  log::warn("shown");
  auto text = captured.text();
  EXPECT_EQ(text.find("hidden"), std::string::npos);
  EXPECT_NE(text.find("[WARN] shown"), std::string::npos);
}

TEST(Log, JsonFormatIsOneObjectPerLine) {
  CapturedLog captured;
  log::set_format(log::Format::json);
  log::error("quote \" and newline \n inside");
  auto text = captured.text();
  ASSERT_EQ(text.back(), '\n');
  auto object = nlohmann::json::parse(text);
  EXPECT_EQ(object["level"], "error");
  EXPECT_EQ(object["msg"], "quote \" and newline \n inside");
  EXPECT_TRUE(object.contains("time"));
}

TEST(Log, RegisteredSecretsAreScrubbed) {
  CapturedLog captured;
  log::register_secret("s3cr3t-token-value");
  log::info("sending header X-Consul-Token: s3cr3t-token-value twice s3cr3t-token-value");
  auto text = captured.text();
  EXPECT_EQ(text.find("s3cr3t-token-value"), std::string::npos);
  EXPECT_NE(text.find("X-Consul-Token: **redacted** twice **redacted**"), std::string::npos);
}

TEST(Log, ASecretRegisteredAgainIsKeptOnce) {
  log::register_secret("token-registered-every-turn");
  const auto count = log::registered_secret_count();
  for (int turn = 0; turn < 100; ++turn)
    log::register_secret("token-registered-every-turn");
  EXPECT_EQ(log::registered_secret_count(), count);
  log::register_secret("another-token-value");
  EXPECT_EQ(log::registered_secret_count(), count + 1);
}

TEST(Log, ParsesLevelsAndFormats) {
  log::Level level{};
  EXPECT_TRUE(log::parse_level("DEBUG", level));
  EXPECT_EQ(level, log::Level::debug);
  EXPECT_TRUE(log::parse_level("warning", level));
  EXPECT_EQ(level, log::Level::warn);
  EXPECT_FALSE(log::parse_level("loud", level));
  log::Format format{};
  EXPECT_TRUE(log::parse_format("json", format));
  EXPECT_FALSE(log::parse_format("xml", format));
}

}  // namespace
}  // namespace csnap
