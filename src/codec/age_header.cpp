#include "codec/age_header.hpp"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

namespace csnap::codec::age {

namespace {

constexpr std::size_t kMaxLineSize = std::size_t{64} * 1024;
constexpr std::size_t kMaxHeaderSize = std::size_t{16} * 1024 * 1024;
constexpr std::size_t kBodyColumns = 64;
constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '+')
    return 62;
  if (c == '/')
    return 63;
  return -1;
}

Error malformed(std::string_view what) {
  return Error(ErrorKind::corrupt, fmt::format("age: malformed header: {}", what));
}

bool is_argument_char(char c) {
  return c >= 0x21 && c <= 0x7e;
}

}  // namespace

std::string raw_base64_encode(std::span<const std::uint8_t> bytes) {
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    std::uint32_t group = std::uint32_t{bytes[i]} << 16 | std::uint32_t{bytes[i + 1]} << 8 |
                          std::uint32_t{bytes[i + 2]};
    for (int shift = 18; shift >= 0; shift -= 6)
      out.push_back(kAlphabet[group >> shift & 63]);
  }
  std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    std::uint32_t group = std::uint32_t{bytes[i]} << 16;
    if (rest == 2)
      group |= std::uint32_t{bytes[i + 1]} << 8;
    out.push_back(kAlphabet[group >> 18 & 63]);
    out.push_back(kAlphabet[group >> 12 & 63]);
    if (rest == 2)
      out.push_back(kAlphabet[group >> 6 & 63]);
  }
  return out;
}

std::optional<std::vector<std::uint8_t>> raw_base64_decode(std::string_view text) {
  if (text.size() % 4 == 1)
    return std::nullopt;
  std::vector<std::uint8_t> out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t accumulator = 0;
  int bits = 0;
  for (char c : text) {
    int value = base64_value(c);
    if (value < 0)
      return std::nullopt;
    accumulator = (accumulator << 6 | static_cast<std::uint32_t>(value)) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<std::uint8_t>(accumulator >> bits & 0xff));
    }
  }
  // Canonical: the bits left over after the last byte are zero.
  if (bits > 0 && (accumulator & ((1U << bits) - 1)) != 0)
    return std::nullopt;
  return out;
}

Result<bool> BufferedInput::fill() {
  if (ended_)
    return false;
  if (position_ > 0) {
    std::memmove(buffer_.data(), buffer_.data() + position_, size_ - position_);
    size_ -= position_;
    position_ = 0;
  }
  if (size_ == buffer_.size())
    return true;
  CSNAP_ASSIGN_OR_RETURN(std::size_t count, upstream_->read(std::span(buffer_).subspan(size_)));
  if (count == 0) {
    ended_ = true;
    return false;
  }
  size_ += count;
  return true;
}

Result<std::string> BufferedInput::read_line(std::size_t max_size) {
  std::string line;
  while (true) {
    auto begin = buffer_.begin() + static_cast<std::ptrdiff_t>(position_);
    auto end = buffer_.begin() + static_cast<std::ptrdiff_t>(size_);
    auto newline = std::find(begin, end, std::byte{'\n'});
    std::size_t take = static_cast<std::size_t>(newline - begin) + (newline != end ? 1 : 0);
    if (line.size() + take > max_size + 1)
      return Error(ErrorKind::corrupt, "age: malformed header: a line is too long");
    line.append(reinterpret_cast<const char*>(buffer_.data() + position_), take);
    position_ += take;
    if (newline != end)
      return line;
    CSNAP_ASSIGN_OR_RETURN(bool more, fill());
    if (!more)
      return line;
  }
}

Result<std::size_t> BufferedInput::read_full(std::span<std::uint8_t> out) {
  std::size_t done = std::min(out.size(), size_ - position_);
  std::memcpy(out.data(), buffer_.data() + position_, done);
  position_ += done;
  // The rest goes straight from upstream into `out`.
  while (done < out.size() && !ended_) {
    CSNAP_ASSIGN_OR_RETURN(std::size_t count,
                           upstream_->read(std::as_writable_bytes(out.subspan(done))));
    if (count == 0)
      ended_ = true;
    done += count;
  }
  return done;
}

Result<Header> read_header(BufferedInput& input) {
  Header header;
  CSNAP_ASSIGN_OR_RETURN(std::string first, input.read_line(kMaxLineSize));
  if (first != kVersionLine) {
    if (first == "age-encryption.org/v1\r\n")
      return malformed("lines end with CR LF instead of LF");
    if (first.starts_with("age-encryption.org/"))
      return Error(ErrorKind::corrupt, "age: unsupported format version (only v1 is known)");
    return Error(ErrorKind::corrupt, "age: not an age file (no age-encryption.org/v1 line)");
  }
  header.mac_input = first;
  while (true) {
    if (header.mac_input.size() > kMaxHeaderSize)
      return malformed("the header is larger than 16 MiB");
    CSNAP_ASSIGN_OR_RETURN(std::string line, input.read_line(kMaxLineSize));
    if (line.empty() || line.back() != '\n')
      return Error(ErrorKind::corrupt, "age: truncated header (no MAC line)");
    std::string_view content(line.data(), line.size() - 1);
    if (content.starts_with("---")) {
      header.mac_input += "---";
      if (content.size() != 4 + 43 || content[3] != ' ')
        return malformed("bad MAC line");
      auto mac = raw_base64_decode(content.substr(4));
      if (!mac || mac->size() != header.mac.size())
        return malformed("bad MAC encoding");
      std::copy(mac->begin(), mac->end(), header.mac.begin());
      return header;
    }
    if (!content.starts_with("-> "))
      return malformed("expected a stanza (->) or the MAC line (---)");
    header.mac_input += line;
    Stanza stanza;
    std::string_view rest = content.substr(3);
    while (true) {
      std::size_t space = rest.find(' ');
      std::string_view argument = rest.substr(0, space);
      if (argument.empty())
        return malformed("empty stanza argument");
      if (!std::all_of(argument.begin(), argument.end(), is_argument_char))
        return malformed("invalid character in a stanza argument");
      if (stanza.type.empty()) {
        stanza.type = argument;
      } else {
        stanza.arguments.emplace_back(argument);
      }
      if (space == std::string_view::npos)
        break;
      rest = rest.substr(space + 1);
    }
    std::string body_text;
    while (true) {
      CSNAP_ASSIGN_OR_RETURN(std::string body_line, input.read_line(kMaxLineSize));
      if (body_line.empty() || body_line.back() != '\n')
        return Error(ErrorKind::corrupt, "age: truncated header (inside a stanza body)");
      header.mac_input += body_line;
      std::string_view body_content(body_line.data(), body_line.size() - 1);
      if (body_content.size() > kBodyColumns)
        return malformed("a stanza body line is longer than 64 columns");
      if (!std::all_of(body_content.begin(), body_content.end(),
                       [](char c) { return base64_value(c) >= 0; })) {
        return malformed("invalid character in a stanza body");
      }
      body_text += body_content;
      if (body_content.size() < kBodyColumns)
        break;
      if (header.mac_input.size() > kMaxHeaderSize)
        return malformed("the header is larger than 16 MiB");
    }
    auto body = raw_base64_decode(body_text);
    if (!body)
      return malformed("a stanza body is not canonical base64");
    stanza.body = std::move(*body);
    header.stanzas.push_back(std::move(stanza));
  }
}

std::string encode_header_without_mac(std::span<const Stanza> stanzas) {
  std::string out(kVersionLine);
  for (const auto& stanza : stanzas) {
    out += "-> ";
    out += stanza.type;
    for (const auto& argument : stanza.arguments) {
      out += ' ';
      out += argument;
    }
    out += '\n';
    std::string body = raw_base64_encode(stanza.body);
    // Full 64-column lines, then one shorter (possibly empty) line ends the body.
    std::size_t offset = 0;
    for (; body.size() - offset >= kBodyColumns; offset += kBodyColumns) {
      out.append(body, offset, kBodyColumns);
      out += '\n';
    }
    out.append(body, offset);
    out += '\n';
  }
  out += "---";
  return out;
}

std::string encode_mac_line(std::span<const std::uint8_t, 32> mac) {
  std::string line = " ";
  line += raw_base64_encode(mac);
  line += '\n';
  return line;
}

}  // namespace csnap::codec::age
