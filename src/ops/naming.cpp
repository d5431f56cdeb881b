#include "ops/naming.hpp"

#include <cctype>
#include <charconv>
#include <ctime>

#include <fmt/format.h>
#include <unistd.h>

namespace csnap::ops {

std::string backup_key(std::string_view prefix, std::string_view host, std::int64_t unix_time,
                       std::string_view suffix) {
  std::time_t time = unix_time;
  std::tm utc{};
  gmtime_r(&time, &utc);
  std::string key;
  if (!prefix.empty()) {
    while (prefix.ends_with('/'))
      prefix.remove_suffix(1);
    key = fmt::format("{}/", prefix);
  }
  key += fmt::format("{}/{}/{}/{}.consul.snapshot.{}{}", utc.tm_year + 1900, utc.tm_mon + 1,
                     utc.tm_mday, host, unix_time, suffix);
  return key;
}

std::optional<std::int64_t> backup_time_from_key(std::string_view key) {
  auto slash = key.rfind('/');
  auto name = slash == std::string_view::npos ? key : key.substr(slash + 1);
  for (std::string_view marker : {".consul.snapshot.", "consul.backup."}) {
    auto pos = name.find(marker);
    if (pos == std::string_view::npos)
      continue;
    auto digits = name.substr(pos + marker.size());
    std::int64_t value = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (ec == std::errc() && end != digits.data() &&
        (end == digits.data() + digits.size() || *end == '.')) {
      return value;
    }
  }
  return std::nullopt;
}

std::string local_hostname() {
  char buffer[256] = {};
  if (::gethostname(buffer, sizeof buffer - 1) != 0 || buffer[0] == '\0')
    return "localhost";
  std::string name(buffer);
  for (char& c : name) {
    auto u = static_cast<unsigned char>(c);
    if (!std::isalnum(u) && c != '.' && c != '-' && c != '_')
      c = '-';
  }
  return name;
}

}  // namespace csnap::ops
