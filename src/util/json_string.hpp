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

}  // namespace csnap
