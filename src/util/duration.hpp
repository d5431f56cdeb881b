#pragma once
// Durations as people write them and read them back (config::parse_duration reads this form).

#include <chrono>
#include <string>

namespace csnap {

// "7d", "36h", "1h30m", "45s": the largest units first; "0s" for zero.
std::string format_duration(std::chrono::seconds duration);

}  // namespace csnap
