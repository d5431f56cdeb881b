#include "http/retry.hpp"

#include <gtest/gtest.h>

namespace csnap::http {
namespace {

using std::chrono::milliseconds;

TEST(Retry, OnlyTransientStatusesRetry) {
  for (long status : {429L, 500L, 502L, 503L, 504L})
    EXPECT_TRUE(is_retryable_status(status));
  for (long status : {200L, 301L, 400L, 401L, 403L, 404L, 409L, 413L, 501L, 505L}) {
    EXPECT_FALSE(is_retryable_status(status)) << status;
  }
}

TEST(Retry, StatusKinds) {
  EXPECT_EQ(error_kind_for_status(400), ErrorKind::invalid_argument);
  EXPECT_EQ(error_kind_for_status(413), ErrorKind::invalid_argument);
  EXPECT_EQ(error_kind_for_status(401), ErrorKind::unauthenticated);
  EXPECT_EQ(error_kind_for_status(403), ErrorKind::permission_denied);
  EXPECT_EQ(error_kind_for_status(404), ErrorKind::not_found);
  EXPECT_EQ(error_kind_for_status(409), ErrorKind::conflict);
  EXPECT_EQ(error_kind_for_status(429), ErrorKind::transient);
  EXPECT_EQ(error_kind_for_status(503), ErrorKind::transient);
  EXPECT_EQ(error_kind_for_status(501), ErrorKind::internal);
  EXPECT_EQ(error_kind_for_status(418), ErrorKind::internal);
}

// One table for the HTTP client's errors and S3's (each had its own, with different entries).
TEST(Retry, ReasonPhrases) {
  EXPECT_EQ(reason_phrase(401), "Unauthorized");
  EXPECT_EQ(reason_phrase(404), "Not Found");
  EXPECT_EQ(reason_phrase(412), "Precondition Failed");
  EXPECT_EQ(reason_phrase(416), "Range Not Satisfiable");
  EXPECT_EQ(reason_phrase(429), "Too Many Requests");
  EXPECT_EQ(reason_phrase(504), "Gateway Timeout");
  for (long status : {0L, 200L, 418L, 501L, 999L})
    EXPECT_EQ(reason_phrase(status), "") << status;
}

TEST(Retry, CeilingDoublesUpToTheCap) {
  RetryPolicy policy{.max_attempts = 10,
                     .initial_backoff = milliseconds(100),
                     .max_backoff = milliseconds(1000),
                     .max_total = milliseconds(60000)};
  EXPECT_EQ(backoff_ceiling(policy, 1), milliseconds(100));
  EXPECT_EQ(backoff_ceiling(policy, 2), milliseconds(200));
  EXPECT_EQ(backoff_ceiling(policy, 3), milliseconds(400));
  EXPECT_EQ(backoff_ceiling(policy, 4), milliseconds(800));
  EXPECT_EQ(backoff_ceiling(policy, 5), milliseconds(1000));
  EXPECT_EQ(backoff_ceiling(policy, 1000), milliseconds(1000));  // no overflow
}

TEST(Retry, FullJitterStaysWithinZeroAndTheCeiling) {
  RetryPolicy policy;
  for (int attempt = 1; attempt < 20; ++attempt) {
    for (double unit : {0.0, 0.1, 0.5, 0.999999, 1.0}) {
      auto delay = backoff_delay(policy, attempt, unit);
      EXPECT_GE(delay.count(), 0);
      EXPECT_LE(delay, backoff_ceiling(policy, attempt));
    }
  }
  EXPECT_EQ(backoff_delay(policy, 3, 0.0), milliseconds(0));
  EXPECT_EQ(backoff_delay(policy, 1, 0.5), policy.initial_backoff / 2);
}

}  // namespace
}  // namespace csnap::http
