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

// Moved from daemon/web_page_test.cpp (the escaper lived in daemon/web_page.cpp).
TEST(HtmlEscape, EscapesMarkupAndCleansBytes) {
  EXPECT_EQ(html_escape("<script>alert(\"x&y\")</script>'"),
            "&lt;script&gt;alert(&quot;x&amp;y&quot;)&lt;/script&gt;&#39;");
  EXPECT_EQ(html_escape("tab\tnew\nline\x01\x7f!"), "tab\tnew\nline!");
  EXPECT_EQ(html_escape("caf\xC3\xA9"), "caf\xC3\xA9");
  EXPECT_EQ(html_escape("bad \xFF byte"), "bad \xEF\xBF\xBD byte");
  EXPECT_EQ(html_escape(""), "");
}

TEST(HtmlEscape, ServesXmlBodies) {
  // S3's CompleteMultipartUpload quotes ETags, which carry double quotes themselves.
  EXPECT_EQ(html_escape("\"9b2cf535f27731c974343645a3985328\""),
            "&quot;9b2cf535f27731c974343645a3985328&quot;");
  EXPECT_EQ(html_escape("a&amp;b"), "a&amp;amp;b");
}

TEST(Text, TrimAndLower) {
  EXPECT_EQ(trim(" \t a b \r\n"), "a b");
  EXPECT_EQ(trim(""), "");
  EXPECT_EQ(to_lower("AbC-\xC3\x89"), "abc-\xC3\x89");
}

}  // namespace
}  // namespace csnap
