#include "http/url.hpp"

#include <fmt/format.h>

namespace csnap::http {
namespace {

bool unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

std::string encode(std::string_view text, bool keep_slash) {
  static constexpr std::string_view hex = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if (unreserved(c) || (keep_slash && c == '/')) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4U]);
      out.push_back(hex[c & 0xFU]);
    }
  }
  return out;
}

}  // namespace

std::string percent_encode_path(std::string_view text) {
  return encode(text, true);
}

std::string percent_encode_component(std::string_view text) {
  return encode(text, false);
}

std::string redact_url(std::string_view url) {
  auto scheme_end = url.find("://");
  std::size_t authority_start = scheme_end == std::string_view::npos ? 0 : scheme_end + 3;
  auto authority_end = url.find_first_of("/?#", authority_start);
  if (authority_end == std::string_view::npos)
    authority_end = url.size();
  auto authority = url.substr(authority_start, authority_end - authority_start);
  auto at = authority.rfind('@');
  if (at == std::string_view::npos)
    return std::string(url);
  return fmt::format("{}{}", url.substr(0, authority_start), url.substr(authority_start + at + 1));
}

}  // namespace csnap::http
