#include "util/json_string.hpp"

#include <cstdint>

#include <fmt/format.h>

namespace csnap {
namespace {

// The length of the UTF-8 sequence at `text[i]` with its code point, or 0 when it is invalid.
std::size_t utf8_sequence(std::string_view text, std::size_t i, std::uint32_t& code_point) {
  auto byte = [&](std::size_t at) { return static_cast<unsigned char>(text[at]); };
  const unsigned char lead = byte(i);
  std::size_t length = 0;
  std::uint32_t minimum = 0;
  if (lead < 0x80) {
    code_point = lead;
    return 1;
  }
  if ((lead & 0xe0) == 0xc0) {
    length = 2;
    code_point = lead & 0x1fu;
    minimum = 0x80;
  } else if ((lead & 0xf0) == 0xe0) {
    length = 3;
    code_point = lead & 0x0fu;
    minimum = 0x800;
  } else if ((lead & 0xf8) == 0xf0) {
    length = 4;
    code_point = lead & 0x07u;
    minimum = 0x10000;
  } else {
    return 0;
  }
  if (i + length > text.size())
    return 0;
  for (std::size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xc0) != 0x80)
      return 0;
    code_point = (code_point << 6) | (byte(i + k) & 0x3fu);
  }
  if (code_point < minimum || code_point > 0x10ffff ||
      (code_point >= 0xd800 && code_point <= 0xdfff)) {
    return 0;
  }
  return length;
}

// Calls `emit` with the pieces of the escaped literal, quotes included; false on invalid UTF-8.
template <typename Emit>
bool escape(std::string_view text, Emit&& emit) {
  static constexpr char hex[] = "0123456789abcdef";
  emit(std::string_view("\""));
  std::size_t i = 0;
  while (i < text.size()) {
    std::uint32_t code_point = 0;
    const std::size_t length = utf8_sequence(text, i, code_point);
    if (length == 0)
      return false;
    if (code_point == 0x2028) {
      emit(std::string_view("\\u2028"));
    } else if (code_point == 0x2029) {
      emit(std::string_view("\\u2029"));
    } else if (code_point == '"') {
      emit(std::string_view("\\\""));
    } else if (code_point == '\\') {
      emit(std::string_view("\\\\"));
    } else if (code_point == '\n') {
      emit(std::string_view("\\n"));
    } else if (code_point == '\r') {
      emit(std::string_view("\\r"));
    } else if (code_point == '\t') {
      emit(std::string_view("\\t"));
    } else if (code_point < 0x20 || code_point == '<' || code_point == '>' || code_point == '&') {
      const char escaped[] = {'\\', 'u', '0', '0', hex[code_point >> 4], hex[code_point & 0xf]};
      emit(std::string_view(escaped, sizeof escaped));
    } else {
      emit(text.substr(i, length));
    }
    i += length;
  }
  emit(std::string_view("\""));
  return true;
}

}  // namespace

bool append_json_string(std::string& out, std::string_view text) {
  return escape(text, [&](std::string_view piece) { out.append(piece); });
}

std::size_t json_string_size(std::string_view text) {
  std::size_t size = 0;
  escape(text, [&](std::string_view piece) { size += piece.size(); });
  return size;
}

std::string terminal_text(std::string_view text, const TerminalTextOptions& options) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size() + 2);
  if (options.quote)
    out += '"';
  for (std::size_t i = 0; i < text.size();) {
    std::uint32_t code_point = 0;
    std::size_t length = utf8_sequence(text, i, code_point);
    const bool bidi_control = (code_point >= 0x202a && code_point <= 0x202e) ||
                              (code_point >= 0x2066 && code_point <= 0x2069) ||
                              code_point == 0x200e || code_point == 0x200f || code_point == 0x061c;
    if (length == 0 || code_point < 0x20 || code_point == 0x7f) {
      // Not UTF-8 (one byte at a time) or a C0 control: \xNN.
      auto byte = static_cast<unsigned char>(text[i]);
      length = 1;
      out += {'\\', 'x', hex[byte >> 4], hex[byte & 0xf]};
    } else if ((code_point >= 0x80 && code_point <= 0x9f) || bidi_control) {
      out += fmt::format("\\u{:04x}", code_point);
    } else if (code_point == '\\') {
      out += "\\\\";
    } else if (code_point == '"' && options.quote) {
      out += "\\\"";
    } else {
      out.append(text.substr(i, length));
    }
    i += length;
  }
  if (options.quote)
    out += '"';
  return out;
}

bool is_valid_utf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    std::uint32_t code_point = 0;
    const std::size_t length = utf8_sequence(text, i, code_point);
    if (length == 0)
      return false;
    i += length;
  }
  return true;
}

}  // namespace csnap
