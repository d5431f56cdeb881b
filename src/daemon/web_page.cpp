#include "daemon/web_page.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <unordered_map>

#include <fmt/format.h>

#include "util/text.hpp"

namespace csnap::daemon {

namespace {

// Rows of the attempts and backups tables; the rest is in /v1/status and /v1/backups.
constexpr std::size_t kAttemptsShown = 20;
constexpr std::size_t kBackupsShown = 500;

std::string human_bytes(std::uint64_t bytes) {
  if (bytes < 1024)
    return fmt::format("{} B", bytes);
  static constexpr const char* units[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
  double value = static_cast<double>(bytes) / 1024;
  std::size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(units)) {
    value /= 1024;
    ++unit;
  }
  return fmt::format("{:.1f} {}", value, units[unit]);
}

std::string bytes_text(std::uint64_t bytes) {
  if (bytes < 1024)
    return human_bytes(bytes);
  return fmt::format("{} ({} bytes)", human_bytes(bytes), bytes);
}

std::string human_duration(double seconds) {
  if (!(seconds >= 0))
    seconds = 0;
  if (seconds < 10)
    return fmt::format("{:.2f} s", seconds);
  if (seconds < 60)
    return fmt::format("{:.1f} s", seconds);
  auto whole = static_cast<long long>(seconds);
  if (whole < 3600)
    return fmt::format("{} min {} s", whole / 60, whole % 60);
  if (whole < 86400)
    return fmt::format("{} h {} min", whole / 3600, whole % 3600 / 60);
  return fmt::format("{} d {} h", whole / 86400, whole % 86400 / 3600);
}

double seconds_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

// "2027-01-15T07:59:00Z (1 min 0 s ago)"; a time ahead of `now` (another host's clock) as "now".
std::string time_and_age(Clock::time_point time, Clock::time_point now) {
  double age = seconds_between(time, now);
  return fmt::format("{} ({})", format_utc(time),
                     age < 1 ? std::string("just now") : human_duration(std::floor(age)) + " ago");
}

std::string entries_text(const std::map<std::string, std::uint64_t>& entries) {
  if (entries.empty())
    return "none";
  std::string text;
  std::uint64_t total = 0;
  for (const auto& [kind, count] : entries) {
    if (!text.empty())
      text += ", ";
    text += fmt::format("{} {}", kind, count);
    total += count;
  }
  if (entries.size() > 1)
    text += fmt::format(" ({} in all)", total);
  return text;
}

void row(std::string& out, std::string_view header, std::string_view escaped_cell,
         std::string_view cell_class = "") {
  if (cell_class.empty())
    out += fmt::format("<tr><th>{}</th><td>{}</td></tr>\n", header, escaped_cell);
  else
    out += fmt::format("<tr><th>{}</th><td class=\"{}\">{}</td></tr>\n", header, cell_class,
                       escaped_cell);
}

constexpr const char* kStyle = R"(
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;
max-width:980px;padding:0 16px;color:#1f2328;background:#fff}
h1{font-size:22px;margin:0 0 12px}h1 .version{font-size:14px;color:#656d76;font-weight:normal}
h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:4px 8px;
vertical-align:top;border-bottom:1px solid #eaeef2}th{font-weight:600;white-space:nowrap}
table.status th{width:190px}td.num{text-align:right;white-space:nowrap}
code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace;word-break:break-all}
.health{padding:10px 14px;border-radius:6px;font-weight:600;margin:0}
.health.ok{background:#dafbe1;color:#116329}.health.bad{background:#ffebe9;color:#a40e26}
.bad{color:#a40e26}.warn{color:#9a6700;font-weight:600}.muted{color:#656d76}
svg text{font:11px system-ui,sans-serif;fill:#57606a}
.size-line{fill:none;stroke:#1f6feb;stroke-width:2}.size-point{fill:#1f6feb}
.duration-line{fill:none;stroke:#d97706;stroke-width:2;stroke-dasharray:5 3}
.duration-point{fill:#d97706}.duration-point.failed,.legend-failed{fill:#dc2626;stroke:#fff}
.grid{stroke:#eaeef2}
)";

void status_section(std::string& out, const Snapshot& snapshot, const HealthAnswer& health,
                    std::chrono::seconds health_max_age, Clock::time_point now) {
  out += fmt::format(
      "<p id=\"health\" class=\"health {}\">{} <span class=\"muted\">(GET /health: "
      "{}; maximum age {})</span></p>\n",
      health.healthy() ? "ok" : "bad", html_escape(health.body), health.status,
      human_duration(static_cast<double>(health_max_age.count())));

  out += "<h2>Status</h2>\n<table class=\"status\">\n";
  std::string role;
  if (!snapshot.lock_enabled)
    role = "takes the backups (single daemon: no leader lock)";
  else if (snapshot.is_leader)
    role = "leader: holds the lock and takes the backups";
  else
    role = "standby: another replica holds the lock (or this one is acquiring it)";
  row(out, "Role", role);
  row(out, "Started",
      html_escape(fmt::format("{}, uptime {}", format_utc(snapshot.started),
                              human_duration(std::floor(seconds_between(snapshot.started, now))))));

  if (const auto& success = snapshot.last_success) {
    row(out, "Last success", html_escape(time_and_age(success->finished, now)));
    row(out, "Key", "<code>" + html_escape(success->key) + "</code>");
    row(out, "Size", bytes_text(success->size_bytes));
    row(out, "Entries", html_escape(entries_text(success->entries)));
    row(out, "Duration", human_duration(seconds_between(success->started, success->finished)));
    if (success->partial)
      row(out, "Partial", "yes: entries the token could not read were left out (--allow-partial)",
          "warn");
    else
      row(out, "Partial", "no");
  } else {
    row(out, "Last success", "none yet by this process", "muted");
  }
  if (snapshot.cluster_last_backup)
    row(out, "Cluster's last backup",
        html_escape(time_and_age(*snapshot.cluster_last_backup, now)) +
            " <span class=\"muted\">(any replica, from the lastbackup key)</span>");
  if (snapshot.last_attempt) {
    std::string text = time_and_age(*snapshot.last_attempt, now);
    if (snapshot.last_duration)
      text += ", took " + human_duration(snapshot.last_duration->count());
    row(out, "Last attempt", html_escape(text));
  }
  if (!snapshot.last_error.empty())
    row(out, "Last error", html_escape(snapshot.last_error), "bad");
  row(out, "Successes", fmt::format("{}", snapshot.successes));
  std::uint64_t failures = 0;
  std::string causes;
  for (const auto& [cause, count] : snapshot.failures) {
    failures += count;
    causes += fmt::format("{}{} {}", causes.empty() ? "" : ", ", cause, count);
  }
  std::string failure_text = fmt::format("{}", failures);
  if (!causes.empty())
    failure_text +=
        fmt::format(" ({}); {} since the last success", causes, snapshot.failures_in_a_row);
  row(out, "Failures", html_escape(failure_text), snapshot.failures_in_a_row > 0 ? "bad" : "");
  out += "</table>\n";
}

void attempts_section(std::string& out, const std::vector<Attempt>& history) {
  out += fmt::format("<h2>Size and duration of the last {} attempts of this process</h2>\n",
                     history.size());
  out += render_chart(history);
  if (history.empty())
    return;
  std::size_t shown = std::min(history.size(), kAttemptsShown);
  out += fmt::format(
      "<h2>Recent attempts</h2>\n<table class=\"attempts\">\n<tr><th>Started</th><th>Result</th>"
      "<th>Duration</th><th>Size</th><th>Entries</th><th>Key or error</th></tr>\n");
  for (std::size_t i = 0; i < shown; ++i) {
    const Attempt& attempt = history[history.size() - 1 - i];
    std::string result =
        attempt.succeeded
            ? (attempt.partial ? "<span class=\"warn\">partial</span>" : "ok")
            : "<span class=\"bad\">failed (" + html_escape(attempt.cause) + ")</span>";
    out += fmt::format(
        "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>"
        "<td class=\"num\">{}</td><td>{}</td></tr>\n",
        format_utc(attempt.started), result, human_duration(attempt.duration.count()),
        attempt.succeeded ? human_bytes(attempt.size_bytes) : "",
        attempt.succeeded ? fmt::format("{}", attempt.total_entries()) : "",
        attempt.succeeded ? "<code>" + html_escape(attempt.key) + "</code>"
                          : "<span class=\"bad\">" + html_escape(attempt.error) + "</span>");
  }
  out += "</table>\n";
  if (history.size() > shown)
    out += fmt::format(
        "<p class=\"muted\">{} older attempts in <a href=\"/v1/status\">/v1/status"
        "</a>.</p>\n",
        history.size() - shown);
}

void backups_section(std::string& out, const std::vector<Attempt>& history,
                     const std::optional<Result<BackupListing>>& backups) {
  if (!backups)
    return;
  if (!backups->ok()) {
    out += "<h2>Backups</h2>\n";
    out += fmt::format("<p class=\"bad\">Listing the backups failed: {}</p>\n",
                       html_escape((*backups).error().message()));
    return;
  }
  const BackupListing& listing = **backups;
  out += fmt::format("<h2>Backups in <code>{}</code></h2>\n", html_escape(listing.storage));
  if (listing.backups.empty()) {
    out += "<p class=\"muted\">No backups in the storage yet.</p>\n";
    return;
  }
  // Counts are known for the backups this process wrote (reading every archive to count would
  // make the page as slow as a restore).
  std::unordered_map<std::string_view, const Attempt*> written;
  for (const Attempt& attempt : history)
    if (attempt.succeeded)
      written[attempt.key] = &attempt;

  std::uint64_t total = 0;
  for (const StoredBackup& backup : listing.backups)
    total += backup.size_bytes;
  out += fmt::format("<p>{} backups, {} in all. <a href=\"/v1/backups\">JSON</a></p>\n",
                     listing.backups.size(), bytes_text(total));
  out +=
      "<table class=\"backups\">\n<tr><th>Time</th><th>Key</th><th>Size</th><th>Entries</th>"
      "</tr>\n";
  std::size_t shown = std::min(listing.backups.size(), kBackupsShown);
  for (std::size_t i = 0; i < shown; ++i) {
    const StoredBackup& backup = listing.backups[i];
    auto found = written.find(backup.key);
    out += fmt::format(
        "<tr><td>{}</td><td><code>{}</code></td><td class=\"num\">{}</td><td>{}</td></tr>\n",
        backup.time ? format_utc(*backup.time) : "", html_escape(backup.key),
        human_bytes(backup.size_bytes),
        found == written.end() ? std::string("<span class=\"muted\">not known here</span>")
                               : html_escape(entries_text(found->second->entries)));
  }
  out += "</table>\n";
  if (listing.backups.size() > shown)
    out += fmt::format(
        "<p class=\"muted\">{} older backups in <a href=\"/v1/backups\">"
        "/v1/backups</a>.</p>\n",
        listing.backups.size() - shown);
}

}  // namespace

std::string render_chart(const std::vector<Attempt>& history) {
  if (history.empty())
    return "<p class=\"muted\">No attempts yet: the chart appears after the first backup.</p>\n";

  constexpr double width = 760, height = 250;
  constexpr double left = 80, right = 80, top = 14, bottom = 52;
  constexpr double plot_width = width - left - right, plot_height = height - top - bottom;

  // Oldest first by start (a failure's start is estimated, so the history may be slightly out of
  // order).
  std::vector<const Attempt*> attempts;
  attempts.reserve(history.size());
  for (const Attempt& attempt : history)
    attempts.push_back(&attempt);
  std::stable_sort(attempts.begin(), attempts.end(),
                   [](const Attempt* a, const Attempt* b) { return a->started < b->started; });
  const Clock::time_point first = attempts.front()->started, last = attempts.back()->started;
  const double span = seconds_between(first, last);

  std::uint64_t max_size = 1;
  double max_duration = 0;
  for (const Attempt* attempt : attempts) {
    if (attempt->succeeded)
      max_size = std::max(max_size, attempt->size_bytes);
    max_duration = std::max(max_duration, attempt->duration.count());
  }
  if (!(max_duration > 0))
    max_duration = 1;

  auto x_of = [&](const Attempt& attempt) {
    return span > 0 ? left + plot_width * seconds_between(first, attempt.started) / span
                    : left + plot_width / 2;
  };
  auto y_of = [&](double value, double maximum) {
    return top + plot_height * (1 - std::clamp(value / maximum, 0.0, 1.0));
  };

  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" viewBox=\"0 0 {0} {1}\" "
      "width=\"100%\" role=\"img\" aria-label=\"Size and duration of the last {2} backup "
      "attempts\">\n",
      width, height, attempts.size());
  // Grid and axis labels: size on the left, duration on the right.
  for (double fraction : {0.0, 0.5, 1.0}) {
    double y = top + plot_height * (1 - fraction);
    svg += fmt::format(
        "<line class=\"grid\" x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" />\n"
        "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n"
        "<text x=\"{:.1f}\" y=\"{:.1f}\">{}</text>\n",
        left, y, left + plot_width, y, left - 6, y + 4,
        human_bytes(
            static_cast<std::uint64_t>(std::llround(static_cast<double>(max_size) * fraction))),
        left + plot_width + 6, y + 4, human_duration(max_duration * fraction));
  }
  svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\">{}</text>\n", left, top + plot_height + 16,
                     format_utc(first));
  if (span > 0)
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n",
                       left + plot_width, top + plot_height + 16, format_utc(last));

  std::string size_line, duration_line, points;
  for (const Attempt* attempt : attempts) {
    double x = x_of(*attempt);
    double y_duration = y_of(attempt->duration.count(), max_duration);
    duration_line +=
        fmt::format("{}{:.1f},{:.1f}", duration_line.empty() ? "" : " ", x, y_duration);
    std::string when = format_utc(attempt->started);
    if (attempt->succeeded) {
      double y_size = y_of(static_cast<double>(attempt->size_bytes), static_cast<double>(max_size));
      size_line += fmt::format("{}{:.1f},{:.1f}", size_line.empty() ? "" : " ", x, y_size);
      points += fmt::format(
          "<circle class=\"size-point\" cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3.5\"><title>{}: {}{}"
          "</title></circle>\n",
          x, y_size, when, bytes_text(attempt->size_bytes), attempt->partial ? " (partial)" : "");
    }
    points += fmt::format(
        "<circle class=\"duration-point{}\" cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"{}\"><title>{}: took "
        "{}{}</title></circle>\n",
        attempt->succeeded ? "" : " failed", x, y_duration, attempt->succeeded ? "3" : "4.5", when,
        human_duration(attempt->duration.count()),
        attempt->succeeded ? "" : ", failed (" + html_escape(attempt->cause) + ")");
  }
  if (!size_line.empty())
    svg += fmt::format("<polyline class=\"size-line\" points=\"{}\" />\n", size_line);
  svg += fmt::format("<polyline class=\"duration-line\" points=\"{}\" />\n", duration_line);
  svg += points;

  // Legend.
  double legend_y = height - 12;
  svg += fmt::format(
      "<line class=\"size-line\" x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{2:.1f}\" y2=\"{1:.1f}\" />"
      "<text x=\"{3:.1f}\" y=\"{4:.1f}\">stored size (left axis)</text>\n"
      "<line class=\"duration-line\" x1=\"{5:.1f}\" y1=\"{1:.1f}\" x2=\"{6:.1f}\" y2=\"{1:.1f}\" />"
      "<text x=\"{7:.1f}\" y=\"{4:.1f}\">duration (right axis)</text>\n"
      "<circle class=\"legend-failed\" cx=\"{8:.1f}\" cy=\"{1:.1f}\" r=\"4.5\" />"
      "<text x=\"{9:.1f}\" y=\"{4:.1f}\">failed attempt</text>\n",
      left, legend_y - 4, left + 24, left + 30, legend_y, left + 190, left + 214, left + 220,
      left + 380, left + 390);
  svg += "</svg>\n";
  return svg;
}

std::string render_page(const Snapshot& snapshot, const HealthAnswer& health,
                        std::chrono::seconds health_max_age, Clock::time_point now,
                        const std::optional<Result<BackupListing>>& backups) {
  std::string out;
  out.reserve(std::size_t{16} * 1024);
  out += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\" />\n";
  out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\" />\n";
  out += "<meta http-equiv=\"refresh\" content=\"60\" />\n";
  out += fmt::format("<title>consul-snapshot: {}</title>\n",
                     health.healthy() ? "healthy" : "unhealthy");
  out += fmt::format("<style>{}</style>\n</head>\n<body>\n", kStyle);
  out += fmt::format("<h1>consul-snapshot <span class=\"version\">{}</span></h1>\n",
                     html_escape(snapshot.version));
  status_section(out, snapshot, health, health_max_age, now);
  attempts_section(out, snapshot.history);
  backups_section(out, snapshot.history, backups);
  out += fmt::format(
      "<p class=\"muted\">Rendered {}; refreshes every minute. Also: <a href=\"/health\">/health"
      "</a>, <a href=\"/metrics\">/metrics</a>, <a href=\"/v1/status\">/v1/status</a>{}.</p>\n",
      format_utc(now), backups ? ", <a href=\"/v1/backups\">/v1/backups</a>" : "");
  out += "</body>\n</html>\n";
  return out;
}

}  // namespace csnap::daemon
