#pragma once
// Times in command output.

#include <cstdint>
#include <string>

namespace csnap::cli {

// `unix_time` (seconds since the epoch) as "2026-11-27 17:00:00 UTC".
std::string time_text(std::int64_t unix_time);

}  // namespace csnap::cli
