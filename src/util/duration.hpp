#pragma once
// Durations as people write them (options, the docs) and as the tool writes them back.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace csnap {

// "7d", "36h", "1h30m", "45s": the largest units first; "0s" for zero.
// parse_duration reads it back.
std::string format_duration(std::chrono::seconds duration);

// Parses "90s", "15m", "1h30m", "2d", or a bare number of seconds; nullopt for anything else
// (a negative number, a last part without its unit).
std::optional<std::chrono::seconds> parse_duration(std::string_view text);

}  // namespace csnap
