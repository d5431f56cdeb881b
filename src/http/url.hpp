#pragma once
// URL pieces: percent-encoding of path segments and URLs that are safe to log.

#include <string>
#include <string_view>

namespace csnap::http {

// Percent-encodes every byte of `text` outside RFC 3986's unreserved set and '/'.
std::string percent_encode_path(std::string_view text);

// Percent-encodes every byte outside the unreserved set (for query values).
std::string percent_encode_component(std::string_view text);

// `url` without the user:password part of its authority, for logs and errors.
std::string redact_url(std::string_view url);

}  // namespace csnap::http
