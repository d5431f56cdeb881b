#include "util/time.hpp"

#include <array>
#include <charconv>
#include <optional>

#include <fmt/format.h>

namespace csnap {
namespace {

using std::chrono::sys_seconds;

// 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z: the times four-digit years can print.
constexpr std::int64_t kFirstPrintable = -62167219200;
constexpr std::int64_t kLastPrintable = 253402300799;

bool printable(sys_seconds time) {
  auto seconds = time.time_since_epoch().count();
  return seconds >= kFirstPrintable && seconds <= kLastPrintable;
}

// `time` printed by `pattern` from its year, month, day, hour, minute and second, or its Unix
// seconds when four digits cannot hold the year.
std::string format_fields(sys_seconds time,
                          fmt::format_string<int, unsigned, unsigned, long, long, long> pattern) {
  if (!printable(time))
    return std::to_string(time.time_since_epoch().count());
  auto days = std::chrono::floor<std::chrono::days>(time);
  std::chrono::year_month_day date{days};
  std::chrono::hh_mm_ss clock{time - days};
  return fmt::format(pattern, static_cast<int>(date.year()), static_cast<unsigned>(date.month()),
                     static_cast<unsigned>(date.day()), static_cast<long>(clock.hours().count()),
                     static_cast<long>(clock.minutes().count()),
                     static_cast<long>(clock.seconds().count()));
}

// `text` as a number when it is all ASCII digits (no sign, no space).
bool parse_digits(std::string_view text, int& out) {
  if (text.empty())
    return false;
  for (char c : text) {
    if (c < '0' || c > '9')
      return false;
  }
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

// The time of the fields, when they name a date that exists and a time of day (a leap second
// reads as :59); `offset_minutes` is the zone's distance ahead of UTC.
std::optional<sys_seconds> to_time(int year, int month, int day, int hour, int minute, int second,
                                   int offset_minutes = 0) {
  if (month < 1 || month > 12 || day < 1 || day > 31)
    return std::nullopt;
  std::chrono::year_month_day date{std::chrono::year(year),
                                   std::chrono::month(static_cast<unsigned>(month)),
                                   std::chrono::day(static_cast<unsigned>(day))};
  if (!date.ok() || hour > 23 || minute > 59 || second > 60)
    return std::nullopt;
  return sys_seconds(std::chrono::sys_days(date) + std::chrono::hours(hour) +
                     std::chrono::minutes(minute - offset_minutes) +
                     std::chrono::seconds(std::min(second, 59)));
}

// The zone at the end of an RFC 3339 time (after any fraction), as minutes ahead of UTC.
std::optional<int> parse_zone(std::string_view zone) {
  if (zone == "Z" || zone == "z")
    return 0;
  int hours = 0, minutes = 0;
  if (zone.size() != 6 || (zone[0] != '+' && zone[0] != '-') || zone[3] != ':' ||
      !parse_digits(zone.substr(1, 2), hours) || !parse_digits(zone.substr(4, 2), minutes) ||
      hours > 23 || minutes > 59) {
    return std::nullopt;
  }
  return (hours * 60 + minutes) * (zone[0] == '-' ? -1 : 1);
}

}  // namespace

std::string format_rfc3339(sys_seconds time) {
  return format_fields(time, "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z");
}

Result<sys_seconds> parse_rfc3339(std::string_view text) {
  auto bad = [&] {
    return Error(ErrorKind::invalid_argument,
                 fmt::format("\"{}\" is not an RFC 3339 time (YYYY-MM-DDTHH:MM:SSZ)", text));
  };
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (text.size() < 20 || text[4] != '-' || text[7] != '-' ||
      (text[10] != 'T' && text[10] != 't') || text[13] != ':' || text[16] != ':' ||
      !parse_digits(text.substr(0, 4), year) || !parse_digits(text.substr(5, 2), month) ||
      !parse_digits(text.substr(8, 2), day) || !parse_digits(text.substr(11, 2), hour) ||
      !parse_digits(text.substr(14, 2), minute) || !parse_digits(text.substr(17, 2), second)) {
    return bad();
  }
  std::string_view rest = text.substr(19);
  if (rest.starts_with('.')) {
    std::size_t digits = 1;
    while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9')
      ++digits;
    if (digits == 1)
      return bad();
    rest.remove_prefix(digits);
  }
  auto offset_minutes = parse_zone(rest);
  if (!offset_minutes)
    return bad();
  auto time = to_time(year, month, day, hour, minute, second, *offset_minutes);
  if (!time)
    return bad();
  return *time;
}

Result<sys_seconds> parse_http_date(std::string_view text) {
  static constexpr std::array<std::string_view, 12> kMonths = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  auto bad = [&] {
    return Error(ErrorKind::invalid_argument,
                 fmt::format("\"{}\" is not an HTTP date (Fri, 24 May 2013 00:00:00 GMT)", text));
  };
  // "Www, DD Mon YYYY HH:MM:SS GMT": every field at a fixed place.
  int day = 0, year = 0, hour = 0, minute = 0, second = 0;
  if (text.size() != 29 || text.substr(3, 2) != ", " || text[7] != ' ' || text[11] != ' ' ||
      text[16] != ' ' || text[19] != ':' || text[22] != ':' || text.substr(25) != " GMT" ||
      !parse_digits(text.substr(5, 2), day) || !parse_digits(text.substr(12, 4), year) ||
      !parse_digits(text.substr(17, 2), hour) || !parse_digits(text.substr(20, 2), minute) ||
      !parse_digits(text.substr(23, 2), second)) {
    return bad();
  }
  for (std::size_t i = 0; i < kMonths.size(); ++i) {
    if (kMonths[i] == text.substr(8, 3)) {
      auto time = to_time(year, static_cast<int>(i) + 1, day, hour, minute, second);
      if (!time)
        return bad();
      return *time;
    }
  }
  return bad();
}

std::string format_iso8601_basic(sys_seconds time) {
  return format_fields(time, "{:04}{:02}{:02}T{:02}{:02}{:02}Z");
}

std::string format_readable_utc(sys_seconds time) {
  return format_fields(time, "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC");
}

std::chrono::year_month_day utc_date(sys_seconds time) {
  return std::chrono::year_month_day{std::chrono::floor<std::chrono::days>(time)};
}

}  // namespace csnap
