#pragma once
// URLs: the one parser (libcurl's CURLU), percent-encoding of path segments, and URLs that are
// safe to log.

#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace csnap::http {

// Percent-encodes every byte of `text` outside RFC 3986's unreserved set and '/'.
std::string percent_encode_path(std::string_view text);

// Percent-encodes every byte outside the unreserved set (for query values).
std::string percent_encode_component(std::string_view text);

// `url` without the user:password part of its authority, for logs and errors.
std::string redact_url(std::string_view url);

// An absolute URL as libcurl's parser (CURLU) takes it apart. The parts are as written (percent
// encoding kept) but for the path's dot segments, which are resolved unless
// ParseUrlOptions::literal_path; the scheme is in lower case and an IPv6 host keeps its brackets.
struct Url {
  std::string scheme;
  std::string host;
  std::string port;              // "" when the URL names none
  std::string path;              // "/" when the URL names none
  std::string query;             // without the '?'; "" when none
  bool has_credentials = false;  // a user or password before the host
  bool has_fragment = false;

  // "scheme://host[:port]", the port left out when the URL names none.
  std::string origin() const;
  // `path` and, when there is one, "?" and `query`: what an HTTP request line names.
  std::string target() const;
  // The host without IPv6 brackets, in lower case: for comparisons ("is it a loopback address").
  std::string bare_host() const;
  // `port`, or the scheme's own when the URL names none ("443" for https); "" if unknown.
  std::string port_or_default() const;
};

struct ParseUrlOptions {
  // The scheme of a URL written without one ("127.0.0.1:8500"); empty: such a text is an error.
  std::string_view default_scheme{};
  // The schemes accepted (lower case); any other is an error naming them.
  std::vector<std::string_view> schemes = {"http", "https"};
  // What the URL's host is called in errors ("no bucket").
  std::string_view host_name = "host";
  // The path exactly as written, for a path that names keys rather than a resource on a server
  // (an s3:// prefix): spaces allowed, "." and ".." segments kept. Otherwise libcurl refuses a
  // space and resolves dot segments ("/a/../x" is "/x").
  bool literal_path = false;
};

// `text` taken apart by libcurl. What libcurl refuses (bad port, bad host, no host), port 0, or a
// scheme outside `options.schemes` is ErrorKind::invalid_argument with the reason in a few words
// ("bad port", "no host", "scheme \"ftp\" is not http or https"); the caller adds which URL.
Result<Url> parse_url(std::string_view text, const ParseUrlOptions& options = {});

}  // namespace csnap::http
