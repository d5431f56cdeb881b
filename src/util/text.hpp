#pragma once
// Small string helpers shared by every layer.

#include <optional>
#include <string>
#include <string_view>

namespace csnap {

// `text` without leading and trailing ASCII white space.
std::string_view trim(std::string_view text);
// `text` with ASCII letters in lower case.
std::string to_lower(std::string_view text);
// The one reading of a yes/no word, for options and URL parameters alike: true, 1, yes, on /
// false, 0, no, off, in any case; nothing for any other text (an empty one included).
std::optional<bool> parse_bool(std::string_view text);

// `text` with &, <, >, " and ' as character references, control characters other than TAB, LF
// and CR dropped, and the bytes of invalid UTF-8 as U+FFFD: safe in HTML and XML element content
// and in quoted attribute values (the daemon's page, S3's request bodies).
std::string html_escape(std::string_view text);

}  // namespace csnap
