// The web page of GET / and its chart: escaping, the chart's points, partial backups, the list of
// stored backups.

#include "daemon/web_page.hpp"

#include <regex>
#include <string>

#include <gtest/gtest.h>

namespace csnap::daemon {
namespace {

using namespace std::chrono_literals;

constexpr Clock::time_point kNow = Clock::time_point(1'800'000'000s);  // 2027-01-15T08:00:00Z

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t found = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1))
    ++found;
  return found;
}

// The "x,y" pairs of the <polyline> of class `line_class`; -1 when there is none.
int polyline_points(const std::string& svg, const std::string& line_class) {
  std::smatch match;
  if (!std::regex_search(svg, match,
                         std::regex("<polyline class=\"" + line_class + "\" points=\"([^\"]*)\"")))
    return -1;
  std::string points = match[1];
  return static_cast<int>(count(points, ",") == 0 ? 0 : count(points, " ") + 1);
}

Attempt success(Clock::time_point started, std::uint64_t size, std::string key = "backups/x") {
  Attempt attempt;
  attempt.started = started;
  attempt.duration = std::chrono::duration<double>(2.5);
  attempt.succeeded = true;
  attempt.key = std::move(key);
  attempt.size_bytes = size;
  attempt.entries = {{"kv", 40}, {"acl_tokens", 2}};
  return attempt;
}

Attempt failure(Clock::time_point started, std::string error) {
  Attempt attempt;
  attempt.started = started;
  attempt.duration = std::chrono::duration<double>(7.0);
  attempt.cause = "storage";
  attempt.error = std::move(error);
  return attempt;
}

Snapshot busy_snapshot() {
  Snapshot snapshot;
  snapshot.version = "0.1.0";
  snapshot.is_leader = true;
  snapshot.started = kNow - 3h;
  BackupOutcome last;
  last.started = kNow - 62s;
  last.finished = kNow - 60s;
  last.key = "backups/2027/1/15/host.consul.snapshot.1799999938.tar.zst";
  last.size_bytes = 4096;
  last.entries = {{"kv", 12}, {"acl_tokens", 3}};
  snapshot.last_success = last;
  snapshot.cluster_last_backup = last.finished;
  snapshot.last_attempt = last.started;
  snapshot.last_duration = last.finished - last.started;
  snapshot.successes = 3;
  snapshot.failures = {{"storage", 2}};
  snapshot.history = {success(kNow - 3600s, 1000), failure(kNow - 2400s, "first failure"),
                      success(kNow - 1800s, 2000), failure(kNow - 1200s, "second failure"),
                      success(last.started, last.size_bytes, last.key)};
  snapshot.history.back().entries = last.entries;
  return snapshot;
}

std::string page(const Snapshot& snapshot,
                 const std::optional<Result<BackupListing>>& backups = std::nullopt) {
  return render_page(snapshot, evaluate_health(snapshot, kNow, 3600s), 3600s, kNow, backups);
}

TEST(WebPage, StatusOfABusyDaemon) {
  Snapshot snapshot = busy_snapshot();
  std::string html = page(snapshot);
  EXPECT_EQ(html.rfind("<!DOCTYPE html>\n", 0), 0u);
  EXPECT_NE(html.find("<p id=\"health\" class=\"health ok\">Last backup 60 seconds ago "),
            std::string::npos)
      << html;
  EXPECT_NE(html.find("leader: holds the lock"), std::string::npos);
  EXPECT_NE(html.find("<code>" + snapshot.last_success->key + "</code>"), std::string::npos);
  EXPECT_NE(html.find("4.0 KiB (4096 bytes)"), std::string::npos);
  EXPECT_NE(html.find("acl_tokens 3, kv 12 (15 in all)"), std::string::npos);
  EXPECT_NE(html.find("2027-01-15T07:59:00Z (1 min 0 s ago)"), std::string::npos);
  EXPECT_NE(html.find("<tr><th>Partial</th><td>no</td></tr>"), std::string::npos);
  EXPECT_NE(html.find("2 (storage 2); 0 since the last success"), std::string::npos);
  // Self-contained: no scripts, no external assets.
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("src="), std::string::npos);
  EXPECT_EQ(html.find("http://"), html.find("http://www.w3.org/2000/svg"));
  EXPECT_EQ(count(html, "://"), 1u);
  EXPECT_EQ(html.find("Backups in"), std::string::npos) << "no listing was given";
}

TEST(WebPage, AnUnhealthyDaemonShowsTheError) {
  Snapshot snapshot;
  snapshot.version = "0.1.0";
  snapshot.started = kNow - 2h;
  snapshot.lock_enabled = true;
  snapshot.failures = {{"consul", 1}};
  snapshot.failures_in_a_row = 1;
  snapshot.last_error = "reading the KV store: <b>connection refused</b> & \"more\"";
  std::string html = page(snapshot);
  EXPECT_NE(html.find("class=\"health bad\">No backup yet; last error: reading the KV store: "
                      "&lt;b&gt;connection refused&lt;/b&gt; &amp; &quot;more&quot;"),
            std::string::npos)
      << html;
  EXPECT_NE(html.find("<td class=\"bad\">reading the KV store: &lt;b&gt;"), std::string::npos);
  EXPECT_EQ(html.find("<b>"), std::string::npos);
  EXPECT_NE(html.find("standby: another replica holds the lock"), std::string::npos);
  EXPECT_NE(html.find("none yet by this process"), std::string::npos);
  EXPECT_NE(html.find("No attempts yet"), std::string::npos);
  EXPECT_EQ(html.find("<svg"), std::string::npos);
}

TEST(WebPage, EveryStringFromOutsideIsEscaped) {
  const std::string evil = "backups/<script>alert('x')</script>&amp;.tar.zst";
  const std::string escaped =
      "backups/&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;amp;.tar.zst";
  Snapshot snapshot = busy_snapshot();
  snapshot.version = "<i>1</i>";
  snapshot.last_success->key = evil;
  snapshot.history.push_back(success(kNow - 30s, 10, evil));
  snapshot.history.push_back(failure(kNow - 20s, "<img src=x onerror=alert(1)>"));
  snapshot.history.back().cause = "<cause>";
  BackupListing listing;
  listing.storage = "s3://bucket/<prefix>";
  listing.backups = {{evil, 10, kNow - 30s}};
  std::string html = page(snapshot, Result<BackupListing>(listing));

  EXPECT_EQ(html.find("<script"), std::string::npos) << html;
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_EQ(html.find("<i>"), std::string::npos);
  EXPECT_EQ(html.find("<prefix>"), std::string::npos);
  EXPECT_EQ(html.find("<cause>"), std::string::npos);
  // Status, the attempts table and the backups table.
  EXPECT_EQ(count(html, "<code>" + escaped + "</code>"), 3u) << html;
  EXPECT_NE(html.find("&lt;img src=x onerror=alert(1)&gt;"), std::string::npos);
  EXPECT_NE(html.find("s3://bucket/&lt;prefix&gt;"), std::string::npos);
  EXPECT_NE(html.find("failed (&lt;cause&gt;)"), std::string::npos);

  Result<BackupListing> error(Error(ErrorKind::transient, "listing <backups/>: 503"));
  html = page(snapshot, error);
  EXPECT_NE(html.find("Listing the backups failed: listing &lt;backups/&gt;: 503"),
            std::string::npos);
}

TEST(WebPage, APartialBackupIsShown) {
  Snapshot snapshot = busy_snapshot();
  snapshot.last_success->partial = true;
  snapshot.history.back().partial = true;
  std::string html = page(snapshot);
  EXPECT_NE(html.find("<tr><th>Partial</th><td class=\"warn\">yes: entries the token could not "
                      "read were left out"),
            std::string::npos)
      << html;
  EXPECT_EQ(count(html, "<span class=\"warn\">partial</span>"), 1u);
  EXPECT_EQ(count(html, " (partial)</title>"), 1u);
}

TEST(WebPage, BackupsWithCountsWhereKnown) {
  Snapshot snapshot = busy_snapshot();
  BackupListing listing;
  listing.storage = "file:///var/backups";
  listing.backups = {{snapshot.last_success->key, 4096, kNow - 60s},
                     {"backups/older.tar.zst", std::uint64_t{3} * 1024 * 1024, kNow - 86400s}};
  std::string html = page(snapshot, Result<BackupListing>(listing));
  EXPECT_NE(html.find("<h2>Backups in <code>file:///var/backups</code></h2>"), std::string::npos);
  EXPECT_NE(html.find("2 backups, 3.0 MiB (3149824 bytes) in all."), std::string::npos) << html;
  EXPECT_NE(html.find("<tr><td>2027-01-15T07:59:00Z</td><td><code>" + snapshot.last_success->key +
                      "</code></td><td class=\"num\">4.0 KiB</td><td>acl_tokens 3, kv 12 (15 in "
                      "all)</td></tr>"),
            std::string::npos)
      << html;
  EXPECT_NE(html.find("<tr><td>2027-01-14T08:00:00Z</td><td><code>backups/older.tar.zst</code>"
                      "</td><td class=\"num\">3.0 MiB</td><td><span class=\"muted\">not known "
                      "here</span></td></tr>"),
            std::string::npos)
      << html;

  listing.backups.clear();
  html = page(snapshot, Result<BackupListing>(listing));
  EXPECT_NE(html.find("No backups in the storage yet."), std::string::npos);
}

TEST(Chart, OnePointPerAttempt) {
  Snapshot snapshot = busy_snapshot();  // 3 successes, 2 failures
  std::string svg = render_chart(snapshot.history);
  EXPECT_EQ(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u);
  EXPECT_EQ(count(svg, "<circle class=\"size-point\""), 3u);
  EXPECT_EQ(count(svg, "<circle class=\"duration-point\""), 3u);
  EXPECT_EQ(count(svg, "<circle class=\"duration-point failed\""), 2u);
  EXPECT_EQ(polyline_points(svg, "size-line"), 3);
  EXPECT_EQ(polyline_points(svg, "duration-line"), 5);
  // Time runs left to right over the plot (x from 80 to 680): the oldest attempt at the left,
  // the newest at the right; the largest size and the longest duration at the top (y = 14).
  EXPECT_NE(svg.find("<polyline class=\"size-line\" points=\"80.0,"), std::string::npos) << svg;
  EXPECT_NE(svg.find(" 680.0,14.0\" />"), std::string::npos) << svg;
  EXPECT_NE(svg.find("<title>2027-01-15T07:00:00Z: 1000 B</title>"), std::string::npos);
  EXPECT_NE(svg.find("took 7.00 s, failed (storage)</title>"), std::string::npos);
  EXPECT_EQ(svg.find("NaN"), std::string::npos);
  EXPECT_EQ(count(render_page(snapshot, evaluate_health(snapshot, kNow, 3600s), 3600s, kNow,
                              std::nullopt),
                  "<svg "),
            1u);
}

TEST(Chart, OneAttemptAndOnlyFailures) {
  std::string svg = render_chart({success(kNow, 0)});
  EXPECT_EQ(count(svg, "<circle class=\"size-point\""), 1u);
  EXPECT_EQ(polyline_points(svg, "size-line"), 1);
  EXPECT_NE(svg.find("380.0,"), std::string::npos) << "a lone point sits in the middle";
  EXPECT_EQ(svg.find("nan"), std::string::npos);
  EXPECT_EQ(svg.find("inf"), std::string::npos);

  Attempt instant = failure(kNow, "x");
  instant.duration = std::chrono::duration<double>(0);
  svg = render_chart({instant, failure(kNow + 60s, "y")});
  EXPECT_EQ(count(svg, "<circle class=\"size-point\""), 0u);
  EXPECT_EQ(polyline_points(svg, "size-line"), -1);
  EXPECT_EQ(polyline_points(svg, "duration-line"), 2);
  EXPECT_EQ(svg.find("nan"), std::string::npos);
}

TEST(Chart, AFullHistory) {
  std::vector<Attempt> history;
  for (int i = 0; i < 100; ++i)
    history.push_back(success(kNow + std::chrono::minutes(i), 1000 + i));
  std::string svg = render_chart(history);
  EXPECT_EQ(count(svg, "<circle class=\"size-point\""), 100u);
  EXPECT_EQ(polyline_points(svg, "duration-line"), 100);
}

}  // namespace
}  // namespace csnap::daemon
