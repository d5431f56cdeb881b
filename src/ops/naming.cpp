#include "ops/naming.hpp"

#include <cctype>
#include <charconv>

#include <fmt/format.h>
#include <unistd.h>

#include "util/time.hpp"

namespace csnap::ops {

std::string backup_key(std::string_view prefix, std::string_view host, std::int64_t unix_time,
                       std::string_view suffix) {
  auto date = utc_date(std::chrono::sys_seconds{std::chrono::seconds{unix_time}});
  std::string key;
  if (!prefix.empty()) {
    while (prefix.ends_with('/'))
      prefix.remove_suffix(1);
    key = fmt::format("{}/", prefix);
  }
  key += fmt::format("{}/{}/{}/{}.consul.snapshot.{}{}", static_cast<int>(date.year()),
                     static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()), host,
                     unix_time, suffix);
  return key;
}

namespace {

// The suffixes backups are written with: the compression's (codec::tar_suffix, and the original
// v0.1's bare gzip), then ".age" when encrypted.
bool is_backup_suffix(std::string_view suffix) {
  if (suffix.ends_with(".age"))
    suffix.remove_suffix(4);
  for (std::string_view known : {".tar.zst", ".tar.gz", ".tar", ".gz"}) {
    if (suffix == known)
      return true;
  }
  return false;
}

}  // namespace

std::optional<std::int64_t> backup_time_from_key(std::string_view key) {
  auto slash = key.rfind('/');
  auto name = slash == std::string_view::npos ? key : key.substr(slash + 1);
  for (std::string_view marker : {".consul.snapshot.", "consul.backup."}) {
    auto pos = name.rfind(marker);
    if (pos == std::string_view::npos)
      continue;
    auto rest = name.substr(pos + marker.size());
    auto digits_end = rest.find_first_not_of("0123456789");
    if (digits_end == 0 || digits_end == std::string_view::npos)
      continue;
    std::int64_t value = 0;
    auto [end, ec] = std::from_chars(rest.data(), rest.data() + digits_end, value);
    if (ec == std::errc() && is_backup_suffix(rest.substr(digits_end)))
      return value;
  }
  return std::nullopt;
}

bool newer_first(const BackupSortKey& a, const BackupSortKey& b) {
  return a.time != b.time ? a.time > b.time : a.key > b.key;
}

bool dated_in_future(std::int64_t unix_time, std::chrono::system_clock::time_point now) {
  const auto now_unix =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  return unix_time > now_unix && unix_time - now_unix > kMaxFutureSkew.count();
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
