#pragma once
// JSON string literals written the way Go's encoding/json writes them (Consul is written in Go):
// `"`, `\`, LF, CR and TAB as short escapes, other control characters, `<`, `>`, `&`, U+2028 and
// U+2029 as \u00XX / \u20XX, everything else as UTF-8.

#include <cstddef>
#include <string>
#include <string_view>

namespace csnap {

// Appends `text` quoted and escaped to `out`; false when `text` is not valid UTF-8 (then `out`
// holds a partial literal and must be discarded).
[[nodiscard]] bool append_json_string(std::string& out, std::string_view text);

// The number of bytes append_json_string appends for valid UTF-8 `text`.
std::size_t json_string_size(std::string_view text);

// Whether `text` is valid UTF-8 (no overlong forms, surrogates or values above U+10FFFF).
bool is_valid_utf8(std::string_view text);

struct TerminalTextOptions {
  bool quote = false;  // in double quotes, with `"` escaped
};

// `text` (a key name from a backup, a file name) made safe to print on a terminal: control
// characters (C0, DEL, C1) and bidirectional controls become \xNN or \uNNNN, bytes that are not
// UTF-8 \xNN, and a backslash `\\`; everything else is kept as it is.
std::string terminal_text(std::string_view text, const TerminalTextOptions& options = {});

}  // namespace csnap
