#include "util/json_string.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace csnap {
namespace {

std::string literal(std::string_view text) {
  std::string out;
  EXPECT_TRUE(append_json_string(out, text));
  EXPECT_EQ(out.size(), json_string_size(text));
  return out;
}

TEST(JsonString, EscapesLikeGo) {
  EXPECT_EQ(literal("plain"), "\"plain\"");
  EXPECT_EQ(literal("a\"b\\c"), R"("a\"b\\c")");
  EXPECT_EQ(literal("\n\r\t\b\f"), R"("\n\r\t\u0008\u000c")");
  EXPECT_EQ(literal(std::string("\0\x1f", 2)), R"("\u0000\u001f")");
  EXPECT_EQ(literal("<a&b>"), R"("\u003ca\u0026b\u003e")");
  EXPECT_EQ(literal("\xe2\x80\xa8\xe2\x80\xa9"), R"("\u2028\u2029")");
  EXPECT_EQ(literal("\xc2\xa0\xf0\x9f\x98\x80\x7f"), "\"\xc2\xa0\xf0\x9f\x98\x80\x7f\"");
}

TEST(JsonString, OutputParsesBackToTheInput) {
  std::string every_ascii;
  for (int c = 0; c < 128; ++c)
    every_ascii.push_back(static_cast<char>(c));
  EXPECT_EQ(nlohmann::json::parse(literal(every_ascii)).get<std::string>(), every_ascii);
}

TEST(JsonString, RejectsInvalidUtf8) {
  for (std::string_view bad : {std::string_view("\xff"), std::string_view("\xc3"),
                               std::string_view("\xc0\xaf"),             // overlong '/'
                               std::string_view("\xed\xa0\x80"),         // surrogate
                               std::string_view("\xf4\x90\x80\x80")}) {  // above U+10FFFF
    std::string out;
    EXPECT_FALSE(append_json_string(out, bad));
    EXPECT_FALSE(is_valid_utf8(bad));
  }
  EXPECT_TRUE(is_valid_utf8("ok \xe6\x97\xa5"));
}

}  // namespace
}  // namespace csnap
