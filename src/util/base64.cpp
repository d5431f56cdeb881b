#include "util/base64.hpp"

#include <array>
#include <cstdint>

namespace csnap::base64 {
namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<std::int16_t, 256> make_reverse() {
  std::array<std::int16_t, 256> table{};
  for (auto& entry : table)
    entry = -1;
  for (std::size_t i = 0; i < kAlphabet.size(); ++i) {
    table[static_cast<unsigned char>(kAlphabet[i])] = static_cast<std::int16_t>(i);
  }
  return table;
}

constexpr auto kReverse = make_reverse();

}  // namespace

std::string encode(std::string_view bytes) {
  std::string out;
  out.reserve(encoded_size(bytes.size()));
  std::size_t i = 0;
  auto byte_at = [&](std::size_t index) {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[index]));
  };
  for (; i + 3 <= bytes.size(); i += 3) {
    std::uint32_t group = byte_at(i) << 16 | byte_at(i + 1) << 8 | byte_at(i + 2);
    out.push_back(kAlphabet[group >> 18 & 63]);
    out.push_back(kAlphabet[group >> 12 & 63]);
    out.push_back(kAlphabet[group >> 6 & 63]);
    out.push_back(kAlphabet[group & 63]);
  }
  std::size_t rest = bytes.size() - i;
  if (rest == 1) {
    std::uint32_t group = byte_at(i) << 16;
    out.push_back(kAlphabet[group >> 18 & 63]);
    out.push_back(kAlphabet[group >> 12 & 63]);
    out.append("==");
  } else if (rest == 2) {
    std::uint32_t group = byte_at(i) << 16 | byte_at(i + 1) << 8;
    out.push_back(kAlphabet[group >> 18 & 63]);
    out.push_back(kAlphabet[group >> 12 & 63]);
    out.push_back(kAlphabet[group >> 6 & 63]);
    out.push_back('=');
  }
  return out;
}

std::optional<std::string> decode(std::string_view text) {
  if (text.size() % 4 != 0)
    return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    bool last = i + 4 == text.size();
    std::int32_t values[4];
    int padding = 0;
    for (int j = 0; j < 4; ++j) {
      char c = text[i + static_cast<std::size_t>(j)];
      if (c == '=' && last && j >= 2) {
        values[j] = 0;
        ++padding;
        continue;
      }
      if (padding > 0)
        return std::nullopt;  // data after padding
      values[j] = kReverse[static_cast<unsigned char>(c)];
      if (values[j] < 0)
        return std::nullopt;
    }
    std::uint32_t group =
        static_cast<std::uint32_t>(values[0]) << 18 | static_cast<std::uint32_t>(values[1]) << 12 |
        static_cast<std::uint32_t>(values[2]) << 6 | static_cast<std::uint32_t>(values[3]);
    out.push_back(static_cast<char>(group >> 16 & 0xff));
    if (padding < 2)
      out.push_back(static_cast<char>(group >> 8 & 0xff));
    if (padding < 1)
      out.push_back(static_cast<char>(group & 0xff));
    // Canonical form: the bits dropped by padding must be zero.
    if (padding == 1 && (group & 0xff) != 0)
      return std::nullopt;
    if (padding == 2 && (group & 0xffff) != 0)
      return std::nullopt;
  }
  return out;
}

}  // namespace csnap::base64
