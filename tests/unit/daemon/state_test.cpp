// State: what succeeded and failed record, and the bounded history of attempts.

#include "daemon/state.hpp"

#include <string>

#include <gtest/gtest.h>

#include "daemon/health.hpp"
#include "daemon/http_server.hpp"
#include "daemon/metrics.hpp"
#include "daemon/web_page.hpp"
#include "util/log.hpp"

namespace csnap::daemon {
namespace {

using namespace std::chrono_literals;

BackupOutcome outcome(int number, bool partial = false) {
  BackupOutcome result;
  result.finished = Clock::time_point(std::chrono::seconds(1'800'000'000 + number * 60));
  result.started = result.finished - 3s;
  result.key = "backups/" + std::to_string(number) + ".tar.zst";
  result.size_bytes = 1000 + static_cast<std::uint64_t>(number);
  result.entries = {{"kv", 10}, {"acl_tokens", 2}};
  result.partial = partial;
  return result;
}

TEST(State, SuccessesAndFailuresGoIntoTheHistoryInOrder) {
  State state("0.1.0", false);
  EXPECT_TRUE(state.snapshot().history.empty());

  state.succeeded(outcome(1, /*partial=*/true));
  auto before = Clock::now();
  state.failed("storage", "uploading: 503 Slow Down", 1500ms);
  auto after = Clock::now();
  state.succeeded(outcome(2));

  Snapshot snapshot = state.snapshot();
  ASSERT_EQ(snapshot.history.size(), 3u);
  const Attempt& first = snapshot.history[0];
  EXPECT_TRUE(first.succeeded);
  EXPECT_EQ(first.key, "backups/1.tar.zst");
  EXPECT_EQ(first.size_bytes, 1001u);
  EXPECT_EQ(first.started, outcome(1).started);
  EXPECT_DOUBLE_EQ(first.duration.count(), 3.0);
  EXPECT_TRUE(first.partial);
  EXPECT_EQ(first.total_entries(), 12u);
  EXPECT_TRUE(first.cause.empty());

  const Attempt& failure = snapshot.history[1];
  EXPECT_FALSE(failure.succeeded);
  EXPECT_EQ(failure.cause, "storage");
  EXPECT_EQ(failure.error, "uploading: 503 Slow Down");
  EXPECT_DOUBLE_EQ(failure.duration.count(), 1.5);
  // Started `took` before it was recorded.
  EXPECT_GE(failure.started, before - 1500ms);
  EXPECT_LE(failure.started, after - 1500ms);
  EXPECT_TRUE(failure.key.empty());

  EXPECT_FALSE(snapshot.history[2].partial);
  ASSERT_TRUE(snapshot.last_success);
  EXPECT_FALSE(snapshot.last_success->partial);
  EXPECT_EQ(snapshot.last_success->key, "backups/2.tar.zst");
}

TEST(State, TheLastSuccessKeepsPartial) {
  State state("0.1.0", false);
  state.succeeded(outcome(1, /*partial=*/true));
  ASSERT_TRUE(state.snapshot().last_success);
  EXPECT_TRUE(state.snapshot().last_success->partial);
}

TEST(State, TheHistoryKeepsTheLastAttemptsOnly) {
  State state("0.1.0", false);
  for (int i = 0; i < 250; ++i) {
    if (i % 5 == 4)
      state.failed("consul", "failure " + std::to_string(i), 1s);
    else
      state.succeeded(outcome(i));
  }
  Snapshot snapshot = state.snapshot();
  ASSERT_EQ(snapshot.history.size(), State::kDefaultHistoryLimit);
  // Attempts 150 to 249, oldest first.
  EXPECT_EQ(snapshot.history.front().key, "backups/150.tar.zst");
  EXPECT_EQ(snapshot.history.back().error, "failure 249");
  EXPECT_EQ(snapshot.history[98].key, "backups/248.tar.zst");
  // The counters still count everything.
  EXPECT_EQ(snapshot.successes, 200u);
  EXPECT_EQ(snapshot.failures.at("consul"), 50u);
}

TEST(State, AHistoryOfOne) {
  State state("0.1.0", false, 1);
  state.succeeded(outcome(1));
  state.succeeded(outcome(2));
  ASSERT_EQ(state.snapshot().history.size(), 1u);
  EXPECT_EQ(state.snapshot().history[0].key, "backups/2.tar.zst");

  State at_least_one("0.1.0", false, 0);
  at_least_one.failed("lock", "lost", 0s);
  EXPECT_EQ(at_least_one.snapshot().history.size(), 1u);
}

TEST(State, LongErrorsAreCutInTheHistoryOnly) {
  State state("0.1.0", false);
  // A 2-byte character straddles the cut: it is dropped whole.
  std::string message = std::string(Attempt::kMaxErrorBytes - 1, 'x') + "\xC3\xA9" + "tail";
  state.failed("storage", message, 1s);
  Snapshot snapshot = state.snapshot();
  EXPECT_EQ(snapshot.last_error, message);
  EXPECT_EQ(snapshot.history[0].error, std::string(Attempt::kMaxErrorBytes - 1, 'x') + "...");
}

// An error message can carry a secret (a token echoed in a URL, a key in a server's answer): what
// the daemon shows on /health, /v1/status, the page and /metrics has it redacted, as its log does.
TEST(State, ErrorsShownByTheDaemonHaveSecretsRedacted) {
  const std::string secret = "e1f2a3b4-secret-token-daemon-state";
  log::register_secret(secret);
  State state("0.1.0", false);
  state.failed("consul", "GET /v1/kv/?recurse&token=" + secret + ": 403 Forbidden", 1s);

  Snapshot snapshot = state.snapshot();
  EXPECT_EQ(snapshot.last_error, "GET /v1/kv/?recurse&token=**redacted**: 403 Forbidden");
  ASSERT_EQ(snapshot.history.size(), 1u);
  EXPECT_EQ(snapshot.history[0].error, snapshot.last_error);
  const auto now = Clock::now();
  HealthAnswer health = evaluate_health(snapshot, now, 3600s);
  EXPECT_NE(health.body.find("**redacted**"), std::string::npos) << health.body;
  for (const std::string& shown :
       {health.body, render_status(snapshot, health, 3600s, now),
        render_page(snapshot, health, 3600s, now, std::nullopt), render_metrics(snapshot, health)})
    EXPECT_EQ(shown.find(secret), std::string::npos) << shown;
}

}  // namespace
}  // namespace csnap::daemon
