#pragma once
// Bech32 (BIP 173, the original checksum, not bech32m) as age uses it for `age1...` recipients
// and `AGE-SECRET-KEY-1...` identities. No length limit: age keys may exceed BIP 173's 90.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace csnap::codec::bech32 {

struct Decoded {
  std::string human_part;  // lowercase
  std::vector<std::uint8_t> data;
};

// Encodes `data` (8-bit bytes) under `human_part` (lowercase); `uppercase` gives the all-caps form.
std::string encode(std::string_view human_part, std::span<const std::uint8_t> data,
                   bool uppercase = false);
// Nothing when `text` is mixed-case, has a bad checksum or character, or non-zero padding.
std::optional<Decoded> decode(std::string_view text);

}  // namespace csnap::codec::bech32
