#include "util/text.hpp"

#include <algorithm>
#include <cctype>

#include "util/json_string.hpp"

namespace csnap {

std::string_view trim(std::string_view text) {
  auto is_space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  while (!text.empty() && is_space(text.front()))
    text.remove_prefix(1);
  while (!text.empty() && is_space(text.back()))
    text.remove_suffix(1);
  return text;
}

std::string to_lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::optional<bool> parse_bool(std::string_view text) {
  auto word = to_lower(text);
  if (word == "true" || word == "1" || word == "yes" || word == "on")
    return true;
  if (word == "false" || word == "0" || word == "no" || word == "off")
    return false;
  return std::nullopt;
}

std::string html_escape(std::string_view text) {
  bool valid = is_valid_utf8(text);
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        if (byte < 0x20 && c != '\t' && c != '\n' && c != '\r')
          break;  // not allowed in HTML (nor XML) text
        if (byte == 0x7F)
          break;
        if (byte >= 0x80 && !valid)
          out += "\xEF\xBF\xBD";  // U+FFFD
        else
          out += c;
    }
  }
  return out;
}

}  // namespace csnap
