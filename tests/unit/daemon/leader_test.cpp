// The leader lease: a daemon leads only until one TTL after the last request that Consul answered
// with proof that the session lives, whatever happens to its connection meanwhile.

#include "daemon/leader.hpp"

#include <gtest/gtest.h>

namespace csnap::daemon {
namespace {

using namespace std::chrono_literals;

constexpr SteadyClock::time_point kT0 = SteadyClock::time_point(1000h);

TEST(LeaderLease, NoConfirmedRenewalWithinTheTtlMeansTheLockIsLost) {
  LeaderLease lease(10s);
  EXPECT_FALSE(lease.valid(kT0)) << "no lease before the first confirmation";
  EXPECT_FALSE(lease.deadline());

  lease.confirm(kT0);
  EXPECT_TRUE(lease.valid(kT0));
  EXPECT_TRUE(lease.valid(kT0 + 9999ms));
  EXPECT_FALSE(lease.valid(kT0 + 10s)) << "a renewal that hangs past the TTL ends the lease";
  EXPECT_EQ(lease.deadline(), kT0 + 10s);

  // A renewal sent at kT0 + 3s and answered (however late) extends it from when it was sent.
  lease.confirm(kT0 + 3s);
  EXPECT_TRUE(lease.valid(kT0 + 12s));
  EXPECT_FALSE(lease.valid(kT0 + 13s));
}

TEST(LeaderLease, AnOlderConfirmationNeverShortensIt) {
  LeaderLease lease(10s);
  lease.confirm(kT0 + 5s);
  lease.confirm(kT0);  // a slow answer to an earlier request arrives last
  EXPECT_EQ(lease.deadline(), kT0 + 15s);
}

TEST(LeaderLease, EndsWhenTheSessionIsGone) {
  LeaderLease lease(10s);
  lease.confirm(kT0);
  lease.end();
  EXPECT_FALSE(lease.valid(kT0 + 1s));
  EXPECT_FALSE(lease.deadline());
  lease.confirm(kT0 + 2s);  // a new session
  EXPECT_TRUE(lease.valid(kT0 + 11s));
}

TEST(LeaderLease, LockRequestsTimeOutWellWithinTheTtl) {
  // A renewal every third of the TTL, each bounded by a quarter: one that times out leaves time
  // for another before the lease ends.
  EXPECT_EQ(lock_request_timeout(10s), 2500ms);
  EXPECT_EQ(lock_request_timeout(15s), 3750ms);
  EXPECT_LT(lock_request_timeout(10s) + 10s / 3, 10s);
}

}  // namespace
}  // namespace csnap::daemon
