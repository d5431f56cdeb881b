#include "codec/age_bech32.hpp"

#include <array>
#include <cctype>

namespace csnap::codec::bech32 {

namespace {

constexpr std::string_view kCharset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

std::uint32_t polymod(std::span<const std::uint8_t> values) {
  constexpr std::array<std::uint32_t, 5> generator{0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd,
                                                   0x2a1462b3};
  std::uint32_t checksum = 1;
  for (std::uint8_t value : values) {
    std::uint32_t top = checksum >> 25;
    checksum = (checksum & 0x1ffffff) << 5 ^ value;
    for (std::size_t i = 0; i < generator.size(); ++i) {
      if (top >> i & 1)
        checksum ^= generator[i];
    }
  }
  return checksum;
}

// The human part expanded as BIP 173 feeds it to the checksum, followed by `data`.
std::vector<std::uint8_t> checksum_input(std::string_view human_part,
                                         std::span<const std::uint8_t> data) {
  std::vector<std::uint8_t> values;
  values.reserve(human_part.size() * 2 + 1 + data.size() + 6);
  for (char c : human_part)
    values.push_back(static_cast<std::uint8_t>(static_cast<unsigned char>(c) >> 5));
  values.push_back(0);
  for (char c : human_part)
    values.push_back(static_cast<std::uint8_t>(static_cast<unsigned char>(c) & 31));
  values.insert(values.end(), data.begin(), data.end());
  return values;
}

// Regroups bits from `from_bits`-wide to `to_bits`-wide values.
std::optional<std::vector<std::uint8_t>> regroup(std::span<const std::uint8_t> in, int from_bits,
                                                 int to_bits, bool pad) {
  std::vector<std::uint8_t> out;
  std::uint32_t accumulator = 0;
  int bits = 0;
  std::uint32_t mask = (1U << to_bits) - 1;
  for (std::uint8_t value : in) {
    accumulator = accumulator << from_bits | value;
    bits += from_bits;
    while (bits >= to_bits) {
      bits -= to_bits;
      out.push_back(static_cast<std::uint8_t>(accumulator >> bits & mask));
    }
  }
  if (pad) {
    if (bits > 0)
      out.push_back(static_cast<std::uint8_t>(accumulator << (to_bits - bits) & mask));
  } else if (bits >= from_bits || (accumulator << (to_bits - bits) & mask) != 0) {
    return std::nullopt;
  }
  return out;
}

}  // namespace

std::string encode(std::string_view human_part, std::span<const std::uint8_t> data,
                   bool uppercase) {
  auto values = *regroup(data, 8, 5, true);
  auto input = checksum_input(human_part, values);
  input.insert(input.end(), 6, 0);
  std::uint32_t checksum = polymod(input) ^ 1;
  std::string out(human_part);
  out.push_back('1');
  for (std::uint8_t value : values)
    out.push_back(kCharset[value]);
  for (int i = 0; i < 6; ++i)
    out.push_back(kCharset[checksum >> (5 * (5 - i)) & 31]);
  if (uppercase) {
    for (char& c : out)
      c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

std::optional<Decoded> decode(std::string_view text) {
  bool has_lower = false;
  bool has_upper = false;
  for (char c : text) {
    if (c < 33 || c > 126)
      return std::nullopt;
    has_lower = has_lower || (c >= 'a' && c <= 'z');
    has_upper = has_upper || (c >= 'A' && c <= 'Z');
  }
  if (has_lower && has_upper)
    return std::nullopt;
  std::size_t separator = text.rfind('1');
  if (separator == std::string_view::npos || separator == 0 || separator + 7 > text.size())
    return std::nullopt;
  std::string human_part(text.substr(0, separator));
  for (char& c : human_part)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::vector<std::uint8_t> values;
  for (char c : text.substr(separator + 1)) {
    auto position = kCharset.find(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    if (position == std::string_view::npos)
      return std::nullopt;
    values.push_back(static_cast<std::uint8_t>(position));
  }
  if (polymod(checksum_input(human_part, values)) != 1)
    return std::nullopt;
  values.resize(values.size() - 6);
  auto data = regroup(values, 5, 8, false);
  if (!data)
    return std::nullopt;
  return Decoded{std::move(human_part), std::move(*data)};
}

}  // namespace csnap::codec::bech32
