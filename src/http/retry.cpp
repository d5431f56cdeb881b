#include "http/retry.hpp"

#include <algorithm>
#include <cmath>

namespace csnap::http {

bool is_retryable_status(long status) {
  return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

bool is_idempotent_method(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "PUT" || method == "DELETE" ||
         method == "OPTIONS";
}

std::string_view reason_phrase(long status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 409:
      return "Conflict";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Payload Too Large";
    case 416:
      return "Range Not Satisfiable";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "";
  }
}

ErrorKind error_kind_for_status(long status) {
  switch (status) {
    case 400:
    case 413:
      return ErrorKind::invalid_argument;
    case 401:
      return ErrorKind::unauthenticated;
    case 403:
      return ErrorKind::permission_denied;
    case 404:
      return ErrorKind::not_found;
    case 409:
      return ErrorKind::conflict;
    default:
      break;
  }
  if (is_retryable_status(status))
    return ErrorKind::transient;
  return ErrorKind::internal;
}

std::chrono::milliseconds backoff_ceiling(const RetryPolicy& policy, int attempt) {
  auto initial = std::max<std::int64_t>(policy.initial_backoff.count(), 0);
  auto cap = std::max<std::int64_t>(policy.max_backoff.count(), 0);
  int shift = std::clamp(attempt - 1, 0, 40);
  // Doubling stops once it passes the cap, so nothing overflows.
  std::int64_t value = initial;
  for (int i = 0; i < shift && value < cap; ++i)
    value *= 2;
  return std::chrono::milliseconds(std::min(value, cap));
}

std::chrono::milliseconds backoff_delay(const RetryPolicy& policy, int attempt, double unit) {
  auto ceiling = static_cast<double>(backoff_ceiling(policy, attempt).count());
  unit = std::clamp(unit, 0.0, 1.0);
  auto delay = static_cast<std::int64_t>(std::floor(ceiling * unit));
  return std::chrono::milliseconds(std::min(delay, static_cast<std::int64_t>(ceiling)));
}

}  // namespace csnap::http
