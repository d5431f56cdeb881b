// render_metrics: the Prometheus text of a State snapshot, read back line by line.

#include "daemon/metrics.hpp"

#include <map>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

namespace csnap::daemon {
namespace {

using namespace std::chrono_literals;

constexpr Clock::time_point kNow = Clock::time_point(1'800'000'000s);

struct Exposition {
  std::map<std::string, std::string> samples;  // "name{labels}" -> value text
  std::map<std::string, std::string> types;    // family -> counter/gauge
  std::map<std::string, std::string> help;     // family -> help text
};

Exposition parse(const std::string& text) {
  Exposition result;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty())
      continue;
    if (line.rfind("# HELP ", 0) == 0) {
      auto rest = line.substr(7);
      auto space = rest.find(' ');
      result.help[rest.substr(0, space)] = rest.substr(space + 1);
    } else if (line.rfind("# TYPE ", 0) == 0) {
      auto rest = line.substr(7);
      auto space = rest.find(' ');
      result.types[rest.substr(0, space)] = rest.substr(space + 1);
    } else {
      auto space = line.rfind(' ');
      EXPECT_NE(space, std::string::npos) << line;
      result.samples[line.substr(0, space)] = line.substr(space + 1);
    }
  }
  return result;
}

double value(const Exposition& exposition, const std::string& sample) {
  auto found = exposition.samples.find(sample);
  if (found == exposition.samples.end()) {
    ADD_FAILURE() << "no sample " << sample;
    return -1;
  }
  return std::stod(found->second);
}

Snapshot busy_snapshot() {
  Snapshot snapshot;
  snapshot.version = "0.1.0";
  snapshot.is_leader = true;
  snapshot.started = kNow - 2h;
  BackupOutcome success;
  success.started = kNow - 65s;
  success.finished = kNow - 60s;
  success.key = "backups/2027/1/15/host.consul.snapshot.1799999940.tar.zst";
  success.size_bytes = 123456789;
  success.entries = {{"kv", 100000}, {"acl_policies", 7}, {"prepared_queries", 2}};
  snapshot.last_success = success;
  snapshot.cluster_last_backup = kNow - 60s;
  snapshot.last_attempt = kNow - 5s;
  snapshot.last_duration = std::chrono::duration<double>(1.5);
  snapshot.last_error = "reading the KV store: connection refused";
  snapshot.successes = 118;
  snapshot.failures = {{"consul", 3}, {"storage", 1}};
  snapshot.failures_in_a_row = 1;
  return snapshot;
}

TEST(Metrics, EveryValueOfABusyDaemon) {
  Snapshot snapshot = busy_snapshot();
  auto text = render_metrics(snapshot, evaluate_health(snapshot, kNow, 3600s));
  Exposition metrics = parse(text);

  EXPECT_EQ(value(metrics, "consul_snapshot_build_info{version=\"0.1.0\"}"), 1);
  EXPECT_EQ(value(metrics, "consul_snapshot_start_time_seconds"), 1'800'000'000 - 7200);
  EXPECT_EQ(value(metrics, "consul_snapshot_is_leader"), 1);
  EXPECT_EQ(value(metrics, "consul_snapshot_healthy"), 1);
  EXPECT_EQ(value(metrics, "consul_snapshot_last_success_timestamp_seconds"), 1'799'999'940);
  EXPECT_EQ(value(metrics, "consul_snapshot_last_attempt_timestamp_seconds"), 1'799'999'995);
  EXPECT_EQ(value(metrics, "consul_snapshot_cluster_last_backup_timestamp_seconds"), 1'799'999'940);
  EXPECT_EQ(value(metrics, "consul_snapshot_last_duration_seconds"), 1.5);
  EXPECT_EQ(value(metrics, "consul_snapshot_last_size_bytes"), 123456789);
  EXPECT_EQ(value(metrics, "consul_snapshot_last_entries{kind=\"kv\"}"), 100000);
  EXPECT_EQ(value(metrics, "consul_snapshot_last_entries{kind=\"acl_policies\"}"), 7);
  EXPECT_EQ(value(metrics, "consul_snapshot_last_entries{kind=\"prepared_queries\"}"), 2);
  EXPECT_EQ(value(metrics, "consul_snapshot_backups_total"), 118);
  EXPECT_EQ(value(metrics, "consul_snapshot_backup_failures_total{cause=\"consul\"}"), 3);
  EXPECT_EQ(value(metrics, "consul_snapshot_backup_failures_total{cause=\"storage\"}"), 1);
  EXPECT_EQ(value(metrics, "consul_snapshot_consecutive_failures"), 1);
  EXPECT_EQ(value(metrics, "consul_snapshot_last_backup_partial"), 0);
  EXPECT_EQ(value(metrics, "consul_snapshot_retention_held"), 0);
  EXPECT_EQ(metrics.samples.size(), 18u) << text;
}

TEST(Metrics, APartialLastBackup) {
  Snapshot snapshot = busy_snapshot();
  snapshot.last_success->partial = true;
  Exposition metrics = parse(render_metrics(snapshot, evaluate_health(snapshot, kNow, 3600s)));
  EXPECT_EQ(value(metrics, "consul_snapshot_last_backup_partial"), 1);
}

TEST(Metrics, RetentionHeldByTheShrinkGuard) {
  Snapshot snapshot = busy_snapshot();
  snapshot.retention_held = "the newest backup reason-marker holds 0 KV entries, ...";
  auto text = render_metrics(snapshot, evaluate_health(snapshot, kNow, 3600s));
  EXPECT_EQ(value(parse(text), "consul_snapshot_retention_held"), 1);
  // The reason goes to the log, not into a label.
  EXPECT_EQ(text.find("reason-marker"), std::string::npos) << text;
}

TEST(Metrics, TimestampsKeepSubSecondPrecision) {
  Snapshot snapshot = busy_snapshot();
  snapshot.last_attempt = Clock::time_point(1'800'000'000'250ms);
  Exposition metrics = parse(render_metrics(snapshot, evaluate_health(snapshot, kNow, 3600s)));
  EXPECT_DOUBLE_EQ(value(metrics, "consul_snapshot_last_attempt_timestamp_seconds"),
                   1'800'000'000.25);
}

TEST(Metrics, EveryFamilyHasHelpAndTheRightType) {
  Snapshot snapshot = busy_snapshot();
  Exposition metrics = parse(render_metrics(snapshot, evaluate_health(snapshot, kNow, 3600s)));
  const std::set<std::string> counters = {"consul_snapshot_backups_total",
                                          "consul_snapshot_backup_failures_total"};
  EXPECT_EQ(metrics.types.size(), 15u);
  for (const auto& [family, type] : metrics.types) {
    EXPECT_EQ(family.rfind("consul_snapshot_", 0), 0u) << family;
    EXPECT_EQ(type, counters.count(family) ? "counter" : "gauge") << family;
    ASSERT_TRUE(metrics.help.count(family)) << family;
    EXPECT_GT(metrics.help.at(family).size(), 10u) << family;
  }
  for (const auto& [sample, text] : metrics.samples) {
    auto family = sample.substr(0, sample.find('{'));
    EXPECT_TRUE(metrics.types.count(family)) << sample << " has no # TYPE";
  }
}

TEST(Metrics, ADaemonThatNeverBackedUp) {
  Snapshot snapshot;
  snapshot.version = "0.1.0";
  snapshot.started = kNow - 2h;
  snapshot.is_leader = false;
  snapshot.failures = {{"lock", 2}};
  snapshot.failures_in_a_row = 2;
  snapshot.last_error = "acquiring the lock: 403";
  auto health = evaluate_health(snapshot, kNow, 3600s);
  ASSERT_FALSE(health.healthy());
  Exposition metrics = parse(render_metrics(snapshot, health));

  EXPECT_EQ(value(metrics, "consul_snapshot_is_leader"), 0);
  EXPECT_EQ(value(metrics, "consul_snapshot_healthy"), 0);
  EXPECT_EQ(value(metrics, "consul_snapshot_last_success_timestamp_seconds"), 0);
  EXPECT_EQ(value(metrics, "consul_snapshot_last_attempt_timestamp_seconds"), 0);
  EXPECT_EQ(value(metrics, "consul_snapshot_cluster_last_backup_timestamp_seconds"), 0);
  EXPECT_EQ(value(metrics, "consul_snapshot_last_duration_seconds"), 0);
  EXPECT_EQ(value(metrics, "consul_snapshot_last_size_bytes"), 0);
  EXPECT_EQ(value(metrics, "consul_snapshot_backups_total"), 0);
  EXPECT_EQ(value(metrics, "consul_snapshot_last_backup_partial"), 0);
  EXPECT_EQ(value(metrics, "consul_snapshot_backup_failures_total{cause=\"lock\"}"), 2);
  for (const auto& [sample, text] : metrics.samples)
    EXPECT_EQ(sample.find("consul_snapshot_last_entries"), std::string::npos) << sample;
  // prometheus-cpp leaves out a family without samples entirely.
  EXPECT_EQ(metrics.types.count("consul_snapshot_last_entries"), 0u);
}

TEST(Metrics, LabelValuesAreEscaped) {
  Snapshot snapshot = busy_snapshot();
  snapshot.version = "1.0 \"beta\"\\x";
  snapshot.failures = {{"odd\ncause", 1}};
  auto text = render_metrics(snapshot, evaluate_health(snapshot, kNow, 3600s));
  EXPECT_NE(text.find("consul_snapshot_build_info{version=\"1.0 \\\"beta\\\"\\\\x\"} 1"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("consul_snapshot_backup_failures_total{cause=\"odd\\ncause\"} 1"),
            std::string::npos)
      << text;
}

}  // namespace
}  // namespace csnap::daemon
