#include "util/json_string.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "util/json_parse.hpp"

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

TEST(TerminalText, EscapesWhatWouldDriveTheTerminal) {
  EXPECT_EQ(terminal_text("app/config"), "app/config");
  EXPECT_EQ(terminal_text("caf\xc3\xa9 \xe6\x97\xa5"), "caf\xc3\xa9 \xe6\x97\xa5");
  EXPECT_EQ(terminal_text("red\x1b[31m\n\t\x7f"), R"(red\x1b[31m\x0a\x09\x7f)");
  EXPECT_EQ(terminal_text(std::string("nul\0", 4)), R"(nul\x00)");
  EXPECT_EQ(terminal_text("c1\xc2\x9b"), R"(c1\u009b)");  // CSI as U+009B
  // NOLINTNEXTLINE(misc-misleading-bidirectional): U+202E is the hostile input tested
  EXPECT_EQ(terminal_text("rtl\xe2\x80\xae"
                          "exe"),
            R"(rtl\u202eexe)");                               // right-to-left override
  EXPECT_EQ(terminal_text("bad\xff\xc3"), R"(bad\xff\xc3)");  // not UTF-8
  EXPECT_EQ(terminal_text(R"(back\slash)"), R"(back\\slash)");
  EXPECT_EQ(terminal_text("say \"hi\""), "say \"hi\"");
  EXPECT_EQ(terminal_text("say \"hi\"", {.quote = true}), R"("say \"hi\"")");
}

TEST(JsonDocument, ParsesBoundedDocuments) {
  auto parsed = parse_json_document(R"({"a": [1, {"b": null}]})", "test");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  EXPECT_EQ((*parsed)["a"][1]["b"], nullptr);
}

TEST(JsonDocument, RefusesDeepNestingWithoutRecursing) {
  std::string deep = std::string(1000000, '[') + std::string(1000000, ']');
  auto parsed = parse_json_document(deep, "prepared-queries.json");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().kind(), ErrorKind::corrupt);
  EXPECT_EQ(parsed.error().message(),
            "prepared-queries.json: JSON nested more than 64 levels deep");
  EXPECT_TRUE(parse_json_document(std::string(64, '[') + std::string(64, ']'), "x").ok());
}

TEST(JsonDocument, NotJsonNamesTheByteNotTheText) {
  auto parsed = parse_json_document(R"({"SecretID": "s3cr3t" oops})", "acl/tokens.json");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().kind(), ErrorKind::corrupt);
  EXPECT_NE(parsed.error().message().find("acl/tokens.json: not JSON at byte"), std::string::npos);
  EXPECT_EQ(parsed.error().message().find("s3cr3t"), std::string::npos);
}

}  // namespace
}  // namespace csnap
