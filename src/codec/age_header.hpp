#pragma once
// The textual header of an age file (age-encryption.org/v1): the version line, recipient stanzas
// and the MAC line, parsed strictly as the specification demands (canonical base64, 64-column
// body lines, LF only), and written back in the same form.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "util/io.hpp"

namespace csnap::codec::age {

inline constexpr std::string_view kVersionLine = "age-encryption.org/v1\n";

struct Stanza {
  std::string type;
  std::vector<std::string> arguments;
  std::vector<std::uint8_t> body;
};

struct Header {
  std::vector<Stanza> stanzas;
  std::array<std::uint8_t, 32> mac{};
  // The bytes the MAC covers: from the version line through the "---" of the MAC line.
  std::string mac_input;
};

// A source with lookahead: the header is read line by line, then the payload in blocks, and no
// byte is lost between the two.
class BufferedInput {
 public:
  explicit BufferedInput(ByteSource& upstream, std::size_t capacity = std::size_t{64} * 1024)
      : upstream_(&upstream), buffer_(capacity) {}

  // The next line with its LF, or what remains when the stream ends first ("" at the end);
  // lines longer than `max_size` are an ErrorKind::corrupt error.
  Result<std::string> read_line(std::size_t max_size);
  // Fills `out` as far as the stream goes: fewer bytes only at its end.
  Result<std::size_t> read_full(std::span<std::uint8_t> out);

 private:
  Result<bool> fill();

  ByteSource* upstream_;
  std::vector<std::byte> buffer_;
  std::size_t position_ = 0;
  std::size_t size_ = 0;
  bool ended_ = false;
};

// Reads and checks the syntax of a header (not its MAC); errors are ErrorKind::corrupt and start
// with "age: ".
Result<Header> read_header(BufferedInput& input);

// The header text up to and including "---" (what the MAC covers).
std::string encode_header_without_mac(std::span<const Stanza> stanzas);
// The full MAC line for `mac`: " <base64>\n" (it follows the "---").
std::string encode_mac_line(std::span<const std::uint8_t, 32> mac);

// Base64 without padding, as age writes it.
std::string raw_base64_encode(std::span<const std::uint8_t> bytes);
// Nothing unless `text` is canonical unpadded standard base64.
std::optional<std::vector<std::uint8_t>> raw_base64_decode(std::string_view text);

}  // namespace csnap::codec::age
