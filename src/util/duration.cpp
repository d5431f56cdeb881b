#include "util/duration.hpp"

#include <charconv>
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

std::optional<std::chrono::seconds> parse_duration(std::string_view text) {
  if (text.empty())
    return std::nullopt;
  std::int64_t total = 0;
  bool bare = text.find_first_not_of("0123456789") == std::string_view::npos;
  if (bare) {
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), total);
    if (ec != std::errc() || end != text.data() + text.size())
      return std::nullopt;
    return std::chrono::seconds(total);
  }
  while (!text.empty()) {
    if (text.front() < '0' || text.front() > '9')
      return std::nullopt;
    std::int64_t number = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
    if (ec != std::errc() || end == text.data())
      return std::nullopt;
    text.remove_prefix(static_cast<std::size_t>(end - text.data()));
    if (text.empty())
      return std::nullopt;  // "1h30" has no unit on its last part
    std::int64_t unit = 0;
    switch (text.front()) {
      case 's':
        unit = 1;
        break;
      case 'm':
        unit = 60;
        break;
      case 'h':
        unit = 3600;
        break;
      case 'd':
        unit = 86400;
        break;
      default:
        return std::nullopt;
    }
    text.remove_prefix(1);
    if (number > (INT64_MAX - total) / unit)
      return std::nullopt;
    total += number * unit;
  }
  return std::chrono::seconds(total);
}

}  // namespace csnap
