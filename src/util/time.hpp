#pragma once
// The time formats the tool reads and writes, in one place: RFC 3339 (backup metadata, Consul's
// and AWS's answers, the daemon's JSON and logs), HTTP dates (S3's Last-Modified), the basic
// ISO 8601 form SigV4 signs, and the form tables show people. All in UTC, to the second. A
// formatter given a time outside the years 0 to 9999 (a backup's key may name any time) prints
// its Unix seconds instead, e.g. "253402300800".

#include <chrono>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace csnap {

// `time` as RFC 3339 in UTC with whole seconds: "2026-11-25T03:04:05Z".
std::string format_rfc3339(std::chrono::sys_seconds time);

// The time in `text`, "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)" ('T' and 'Z' in either
// case): the fraction is dropped and a leap second (:60) reads as :59. Anything else, a date
// that does not exist or an hour, minute or offset out of range is ErrorKind::invalid_argument
// quoting `text`.
Result<std::chrono::sys_seconds> parse_rfc3339(std::string_view text);

// The time in `text`, an HTTP date in RFC 9110's preferred form: "Fri, 24 May 2013 00:00:00 GMT"
// (the weekday is not checked). Anything else is ErrorKind::invalid_argument quoting `text`.
Result<std::chrono::sys_seconds> parse_http_date(std::string_view text);

// `time` as ISO 8601's basic form, "20261125T030405Z" (SigV4's X-Amz-Date).
std::string format_iso8601_basic(std::chrono::sys_seconds time);

// `time` for people, "2026-11-25 03:04:05 UTC".
std::string format_readable_utc(std::chrono::sys_seconds time);

// The calendar date of `time` in UTC, for a time within the years 0 to 9999.
std::chrono::year_month_day utc_date(std::chrono::sys_seconds time);

}  // namespace csnap
