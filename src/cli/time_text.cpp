#include "cli/time_text.hpp"

#include "util/time.hpp"

namespace csnap::cli {

std::string time_text(std::int64_t unix_time) {
  return format_readable_utc(std::chrono::sys_seconds{std::chrono::seconds{unix_time}});
}

}  // namespace csnap::cli
