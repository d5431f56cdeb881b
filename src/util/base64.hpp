#pragma once
// Standard base64 (RFC 4648, with padding), as Consul uses for KV values.

#include <optional>
#include <string>
#include <string_view>

namespace csnap::base64 {

std::string encode(std::string_view bytes);
// The decoded bytes, or nothing when `text` is not canonical padded base64.
std::optional<std::string> decode(std::string_view text);
// How many characters `encode` gives for `size` bytes.
constexpr std::size_t encoded_size(std::size_t size) {
  return (size + 2) / 3 * 4;
}

}  // namespace csnap::base64
