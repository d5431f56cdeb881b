#include "http/url.hpp"

#include <algorithm>
#include <memory>

#include <curl/curl.h>
#include <fmt/format.h>

#include "util/text.hpp"

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

namespace {

struct CurlUrlDeleter {
  void operator()(CURLU* url) const { curl_url_cleanup(url); }
};

// The part of `url`, or "" when it has none.
std::string curl_part(CURLU* url, CURLUPart part) {
  char* text = nullptr;
  if (curl_url_get(url, part, &text, 0) != CURLUE_OK || text == nullptr)
    return {};
  std::string out(text);
  curl_free(text);
  return out;
}

// What libcurl's refusal `code` means, in the words of this tool's errors.
std::string refusal_text(CURLUcode code, std::string_view host_name) {
  switch (code) {
    case CURLUE_BAD_PORT_NUMBER:
      return "bad port (a number from 1 to 65535)";
    case CURLUE_NO_HOST:
      return fmt::format("no {}", host_name);
    case CURLUE_BAD_HOSTNAME:
    case CURLUE_BAD_IPV6:
      return fmt::format("bad {} (spaces, or characters a host name cannot have?)", host_name);
    case CURLUE_BAD_SCHEME:
    case CURLUE_UNSUPPORTED_SCHEME:
      return "bad scheme";
    case CURLUE_MALFORMED_INPUT:
    case CURLUE_BAD_SLASHES:
      return "not a URL";
    default:
      return curl_url_strerror(code);
  }
}

std::string scheme_list(const std::vector<std::string_view>& schemes) {
  std::string out;
  for (std::size_t i = 0; i < schemes.size(); ++i) {
    if (i > 0)
      out += i + 1 == schemes.size() ? " or " : ", ";
    out += schemes[i];
  }
  return out;
}

}  // namespace

std::string Url::origin() const {
  return port.empty() ? fmt::format("{}://{}", scheme, host)
                      : fmt::format("{}://{}:{}", scheme, host, port);
}

std::string Url::target() const {
  return query.empty() ? path : fmt::format("{}?{}", path, query);
}

std::string Url::bare_host() const {
  std::string_view bare = host;
  if (bare.size() >= 2 && bare.front() == '[' && bare.back() == ']')
    bare = bare.substr(1, bare.size() - 2);
  return to_lower(bare);
}

std::string Url::port_or_default() const {
  if (!port.empty())
    return port;
  if (scheme == "https")
    return "443";
  if (scheme == "http")
    return "80";
  return {};
}

Result<Url> parse_url(std::string_view text, const ParseUrlOptions& options) {
  auto bad = [](std::string why) { return Error(ErrorKind::invalid_argument, std::move(why)); };
  std::unique_ptr<CURLU, CurlUrlDeleter> handle(curl_url());
  if (!handle)
    return Error(ErrorKind::internal, "out of memory");
  unsigned flags = CURLU_NON_SUPPORT_SCHEME;
  if (!options.default_scheme.empty())
    flags |= CURLU_DEFAULT_SCHEME;
  if (options.literal_path)
    flags |= CURLU_PATH_AS_IS | CURLU_ALLOW_SPACE;
  std::string copy(text);  // libcurl wants a terminated string
  if (copy.find('\0') != std::string::npos)
    return bad("not a URL");
  if (auto code = curl_url_set(handle.get(), CURLUPART_URL, copy.c_str(), flags);
      code != CURLUE_OK) {
    return bad(refusal_text(code, options.host_name));
  }
  Url url;
  url.scheme = to_lower(curl_part(handle.get(), CURLUPART_SCHEME));
  // libcurl fills in its own default scheme (https); the caller's applies when none was written.
  if (!options.default_scheme.empty() && !to_lower(text).starts_with(url.scheme + "://"))
    url.scheme = std::string(options.default_scheme);
  if (std::find(options.schemes.begin(), options.schemes.end(), url.scheme) ==
      options.schemes.end()) {
    return bad(fmt::format("scheme {:?} is not {}", url.scheme, scheme_list(options.schemes)));
  }
  url.host = curl_part(handle.get(), CURLUPART_HOST);
  if (url.host.empty())
    return bad(fmt::format("no {}", options.host_name));
  url.port = curl_part(handle.get(), CURLUPART_PORT);
  if (url.port == "0")
    return bad("bad port (a number from 1 to 65535)");
  url.path = curl_part(handle.get(), CURLUPART_PATH);
  if (url.path.empty())
    url.path.push_back('/');  // (not = "/": GCC 12 warns falsely, -Wrestrict)
  url.query = curl_part(handle.get(), CURLUPART_QUERY);
  url.has_credentials = !curl_part(handle.get(), CURLUPART_USER).empty() ||
                        !curl_part(handle.get(), CURLUPART_PASSWORD).empty();
  url.has_fragment = !curl_part(handle.get(), CURLUPART_FRAGMENT).empty();
  return url;
}

}  // namespace csnap::http
