#include "util/duration.hpp"

#include <cstdint>
#include <utility>

#include <fmt/format.h>

namespace csnap {

std::string format_duration(std::chrono::seconds duration) {
  if (duration.count() == 0)
    return "0s";
  std::string out = duration.count() < 0 ? "-" : "";
  auto left = duration.count() < 0 ? -duration.count() : duration.count();
  for (auto [unit, suffix] :
       {std::pair<std::int64_t, char>{86400, 'd'}, {3600, 'h'}, {60, 'm'}, {1, 's'}}) {
    if (left >= unit) {
      out += fmt::format("{}{}", left / unit, suffix);
      left %= unit;
    }
  }
  return out;
}

}  // namespace csnap
