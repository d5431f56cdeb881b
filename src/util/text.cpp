#include "util/text.hpp"

#include <algorithm>
#include <cctype>

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

}  // namespace csnap
