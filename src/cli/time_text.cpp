#include "cli/time_text.hpp"

#include <ctime>

namespace csnap::cli {

std::string time_text(std::int64_t unix_time) {
  std::time_t time = unix_time;
  std::tm utc{};
  gmtime_r(&time, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S UTC", &utc);
  return text;
}

}  // namespace csnap::cli
