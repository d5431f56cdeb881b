#pragma once
// When to retry an HTTP request and how long to wait: exponential backoff with full jitter, bounded
// in attempts and in total time.

#include <chrono>
#include <string_view>

#include "util/result.hpp"

namespace csnap::http {

struct RetryPolicy {
  int max_attempts = 4;  // 1 means no retry
  std::chrono::milliseconds initial_backoff{200};
  std::chrono::milliseconds max_backoff{10000};
  std::chrono::milliseconds max_total{120000};  // no new attempt starts after this much time
};

// True for statuses worth another attempt: 429, 500, 502, 503, 504.
bool is_retryable_status(long status);

// True for methods that a server applies the same way however often they arrive (RFC 9110
// 9.2.2): GET, HEAD, PUT, DELETE, OPTIONS. POST and PATCH are not: sent twice, they may act twice.
bool is_idempotent_method(std::string_view method);

// The standard reason phrase of `status` ("Not Found"), for the statuses Consul, S3 and the AWS
// credential endpoints answer with; "" for any other.
std::string_view reason_phrase(long status);

// The kind of error a final non-2xx `status` is.
ErrorKind error_kind_for_status(long status);

// The upper bound of the wait before attempt `attempt + 1` (`attempt` counts from 1):
// min(max_backoff, initial_backoff * 2^(attempt-1)).
std::chrono::milliseconds backoff_ceiling(const RetryPolicy& policy, int attempt);

// A wait drawn uniformly from [0, backoff_ceiling] using `unit` in [0, 1) ("full jitter").
std::chrono::milliseconds backoff_delay(const RetryPolicy& policy, int attempt, double unit);

}  // namespace csnap::http
