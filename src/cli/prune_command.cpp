// prune: apply the retention policy to the backups in the storage now, and say what is kept and
// why, and what is removed.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/command_set.hpp"
#include "cli/commands.hpp"
#include "cli/setup.hpp"
#include "cli/table.hpp"
#include "cli/time_text.hpp"
#include "ops/naming.hpp"
#include "ops/retention.hpp"
#include "util/duration.hpp"
#include "util/log.hpp"

namespace csnap::cli {
namespace {

// prune: apply the retention policy now. Exit 2 without a policy, 1 when a removal failed.
struct PruneCommand {
  bool dry_run = false;  // list what would be removed, remove nothing
  bool json = false;
};

constexpr std::string_view kPruneExamples = R"(
Examples:
  # what the policy would remove, removing nothing
  consul-snapshot prune --keep-last 3 --dry-run

  # keep the 24 newest hourly, 7 daily and 4 weekly backups, and everything of the last 2 days
  consul-snapshot prune --keep-hourly 24 --keep-daily 7 --keep-weekly 4 --keep-within 2d

  # the same policy as the daemon, from the environment
  CONSUL_SNAPSHOT_KEEP_DAILY=14 LOCAL_DIR=/var/backups consul-snapshot prune --json

The newest backup is never removed, and objects whose names are not backups are left alone.
Buckets are UTC hours, days, ISO weeks and months; each keeps its newest backup.)";

using Json = nlohmann::json;

// The age to two units at most: "3d4h", "2h15m", "40s".
std::string age_text(std::chrono::seconds age) {
  using namespace std::chrono;
  if (age.count() < 0)
    return "in the future";
  if (age >= days{1})
    return format_duration(floor<hours>(age));
  if (age >= hours{1})
    return format_duration(floor<minutes>(age));
  return format_duration(age);
}

Json policy_json(const ops::RetentionPolicy& policy) {
  Json out = Json::object();
  auto add = [&](const char* name, const std::optional<std::int64_t>& count) {
    if (count)
      out[name] = *count;
  };
  add("keep_last", policy.keep_last);
  if (policy.keep_within)
    out["keep_within_seconds"] = policy.keep_within->count();
  add("keep_hourly", policy.keep_hourly);
  add("keep_daily", policy.keep_daily);
  add("keep_weekly", policy.keep_weekly);
  add("keep_monthly", policy.keep_monthly);
  return out;
}

std::string plural(std::size_t count, std::string_view one, std::string_view many) {
  return fmt::format("{} {}", count, count == 1 ? one : many);
}

Result<int> prune_command(const config::Config& config, const PruneCommand& command) {
  CSNAP_ASSIGN_OR_RETURN(auto policy, retention_policy(config));
  if (!policy) {
    return Error(ErrorKind::invalid_argument,
                 "prune: no retention policy is set, so nothing would be removed; set at least "
                 "one of --keep-last N, --keep-within DURATION, --keep-hourly N, --keep-daily N, "
                 "--keep-weekly N, --keep-monthly N (or CONSUL_SNAPSHOT_KEEP_LAST, ...)");
  }
  CSNAP_ASSIGN_OR_RETURN(auto storage, open_storage(config));
  CSNAP_ASSIGN_OR_RETURN(auto encryption, encryption_settings(config));
  ops::PruneOptions options;
  options.dry_run = command.dry_run;
  options.read_counts =
      ops::meta_counts_reader(*storage, std::move(encryption), config.get(option::kTmpDir));
  options.confirm_shrink = config.get(option::kConfirmShrink);
  CSNAP_ASSIGN_OR_RETURN(auto report,
                         ops::prune(*storage, config.get(option::kUploadPrefix), *policy, options));
  std::map<std::string, std::string, std::less<>> failed(report.failures.begin(),
                                                         report.failures.end());

  if (command.json) {
    Json backups = Json::array();
    Json others = Json::array();
    for (const auto& decision : report.decisions) {
      if (decision.action == ops::RetentionAction::not_a_backup) {
        others.push_back(decision.key);
        continue;
      }
      Json item = {{"key", decision.key},
                   {"time", *decision.time},
                   {"size", decision.size},
                   {"action", ops::to_string(decision.action)},
                   {"reasons", decision.reasons}};
      if (decision.action == ops::RetentionAction::remove) {
        auto failure = failed.find(decision.key);
        item["removed"] = !report.dry_run && failure == failed.end();
        if (failure != failed.end())
          item["error"] = failure->second;
      }
      backups.push_back(std::move(item));
    }
    Json out = {{"storage", storage->describe()},
                {"prefix", report.prefix},
                {"policy", policy_json(*policy)},
                {"dry_run", report.dry_run},
                {"held", report.held ? Json(report.held->describe()) : Json(nullptr)},
                {"future_dated", report.future_dated},
                {"kept", report.kept},
                {"removed", report.removed},
                {"failed", report.failures.size()},
                {"bytes_kept", report.bytes_kept},
                {"bytes_freed", report.bytes_freed},
                {"backups", std::move(backups)},
                {"not_backups", std::move(others)}};
    fmt::print("{}\n", out.dump(2, ' ', false, Json::error_handler_t::replace));
    return report.ok() ? exit_ok : exit_failed;
  }

  fmt::print("Retention policy: {}\n", policy->describe());
  fmt::print("Backups under '{}' in {}:\n", report.prefix, storage->describe());
  Table table({"action", "time", "age", "size", "key", "why"});
  for (const auto& decision : report.decisions) {
    std::string action;
    std::string why;
    switch (decision.action) {
      case ops::RetentionAction::keep:
        action = "keep";
        why = fmt::format("{}", fmt::join(decision.reasons, ", "));
        break;
      case ops::RetentionAction::remove:
        if (report.dry_run) {
          action = "would remove";
        } else if (failed.contains(decision.key)) {
          action = "FAILED";
          why = "could not remove: " + failed.find(decision.key)->second;
        } else {
          action = "removed";
        }
        if (why.empty())
          why = "no rule keeps it";
        break;
      case ops::RetentionAction::not_a_backup:
        table.add({"left alone", "-", "-", human_bytes(decision.size), decision.key,
                   "not a backup: its name does not follow the backup layout"});
        continue;
      case ops::RetentionAction::future_dated:
        action = "left alone";
        why = fmt::format(
            "dated more than {} in the future: not counted (a wrong clock, or "
            "planted); remove it by hand if it is not yours",
            format_duration(ops::kMaxFutureSkew));
        break;
    }
    table.add({action, time_text(*decision.time), age_text(decision.age),
               human_bytes(decision.size), decision.key, why});
  }
  if (report.decisions.empty()) {
    fmt::print("(none)\n");
  } else {
    fmt::print("{}", table.render());
  }

  std::string kept = fmt::format("Kept {} ({})", plural(report.kept, "backup", "backups"),
                                 human_bytes(report.bytes_kept));
  if (report.dry_run) {
    fmt::print("{}; would remove {} ({}). Dry run: nothing was removed.\n", kept,
               plural(report.removed, "backup", "backups"), human_bytes(report.bytes_freed));
  } else {
    fmt::print("{}; removed {} ({} freed).\n", kept, plural(report.removed, "backup", "backups"),
               human_bytes(report.bytes_freed));
  }
  if (report.held) {
    fmt::print("Retention held, nothing {}removed: {}.\n", report.dry_run ? "would be " : "",
               report.held->describe());
  }
  if (report.not_backups > 0) {
    fmt::print("Left alone {} under '{}' not named like a backup.\n",
               plural(report.not_backups, "object", "objects"), report.prefix);
  }
  if (!report.ok()) {
    log::error("Could not remove {} (see above); the other removals went ahead",
               plural(report.failures.size(), "backup", "backups"));
    return exit_failed;
  }
  return exit_ok;
}

}  // namespace

void add_prune_command(CommandSet& commands) {
  auto args = std::make_shared<PruneCommand>();
  auto& app = commands.add({
      .name = "prune",
      .help = "apply the retention policy (--keep-*) now: remove the backups it does not keep",
      .examples = kPruneExamples,
      .scope = config::scope_storage | config::scope_prune,
      .run = [args](const config::Config& config) { return prune_command(config, *args); },
  });
  app.add_flag("--dry-run", args->dry_run, "list what would be removed, remove nothing");
  app.add_flag("--json", args->json, "print JSON");
}

}  // namespace csnap::cli
