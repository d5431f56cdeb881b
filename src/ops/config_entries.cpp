#include "ops/config_entries.hpp"

#include <algorithm>
#include <array>
#include <map>
#include <set>
#include <tuple>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "consul/config_entry.hpp"
#include "ops/json_member.hpp"
#include "util/log.hpp"

namespace csnap::ops {
namespace {

using nlohmann::json;

// Fields Consul maintains itself: never sent, never compared.
constexpr std::array<const char*, 3> kConfigBookkeeping = {"CreateIndex", "ModifyIndex", "Hash"};

// Written by Consul's API gateway controller; a PUT is refused ("only writeable by controller").
constexpr std::string_view kControllerKind = "bound-api-gateway";

auto identity(const json& entry) {
  return std::make_tuple(json_text(entry, "Kind"), json_text(entry, "Partition"),
                         json_text(entry, "Namespace"), json_text(entry, "Name"));
}

json without_bookkeeping(const json& entry) {
  json result = entry;
  if (result.is_object()) {
    for (const char* field : kConfigBookkeeping)
      result.erase(field);
  }
  return result;
}

std::uint64_t modify_index(const json& entry) {
  auto found = entry.find("ModifyIndex");
  return found != entry.end() && found->is_number_unsigned() ? found->get<std::uint64_t>() : 0;
}

}  // namespace

std::size_t config_restore_rank(std::string_view kind) {
  const auto* found =
      std::find_if(std::begin(kConfigEntryKinds), std::end(kConfigEntryKinds),
                   [&](const ConfigEntryKind& known) { return known.name == kind; });
  return static_cast<std::size_t>(found - std::begin(kConfigEntryKinds));
}

bool config_entry_less(const json& left, const json& right) {
  return identity(left) < identity(right);
}

std::string config_entry_label(const json& entry) {
  auto [kind, partition, name_space, name] = identity(entry);
  auto label = name.empty() ? kind : fmt::format("{} {}", kind, name);
  if (!partition.empty() || !name_space.empty()) {
    label += fmt::format(" (partition {}, namespace {})", partition.empty() ? "-" : partition,
                         name_space.empty() ? "-" : name_space);
  }
  return label;
}

json comparable_config_entry(const json& entry) {
  json result = without_bookkeeping(entry);
  strip_empty(result);
  return result;
}

json config_entry_body(const json& entry) {
  return without_bookkeeping(entry);
}

std::vector<PlannedObject> plan_config_objects(const json& backup, const json& live,
                                               KindPlan& summary) {
  using Identity = decltype(identity(json()));
  std::map<Identity, const json*> live_by_key;
  if (live.is_array()) {
    for (const auto& entry : live)
      live_by_key[identity(entry)] = &entry;
  }
  std::vector<const json*> ordered;
  if (backup.is_array()) {
    for (const auto& entry : backup)
      ordered.push_back(&entry);
  }
  std::stable_sort(ordered.begin(), ordered.end(), [](const json* left, const json* right) {
    auto left_rank = config_restore_rank(json_text(*left, "Kind"));
    auto right_rank = config_restore_rank(json_text(*right, "Kind"));
    if (left_rank != right_rank)
      return left_rank < right_rank;
    return config_entry_less(*left, *right);
  });
  std::vector<PlannedObject> planned_entries;
  std::set<Identity> seen;
  for (const json* entry : ordered) {
    PlannedObject planned{.label = config_entry_label(*entry), .object = *entry};
    const auto key = identity(*entry);
    const json* match = nullptr;
    if (auto found = live_by_key.find(key); found != live_by_key.end())
      match = found->second;
    // No Name is no error: the mesh entry has none (Consul refuses an entry that needs one).
    if (!entry->is_object() || json_text(*entry, "Kind").empty()) {
      planned.action = RestoreAction::skip;
      planned.note = "no Kind";
    } else if (!seen.insert(key).second) {
      planned.action = RestoreAction::skip;
      planned.note = "a second entry with the same Kind and Name in the backup";
    } else if (json_text(*entry, "Kind") == kControllerKind) {
      planned.action = RestoreAction::skip;
      planned.note = "written by Consul's API gateway controller, not by clients";
    } else if (match == nullptr) {
      planned.action = RestoreAction::create;
    } else {
      planned.live_index = modify_index(*match);
      planned.action = comparable_config_entry(*entry) == comparable_config_entry(*match)
                           ? RestoreAction::unchanged
                           : RestoreAction::update;
    }
    count_planned(summary, planned);
    planned_entries.push_back(std::move(planned));
  }
  return planned_entries;
}

Result<ConfigBackupResult> backup_config_entries(consul::Client& consul,
                                                 archive::BackupWriter& writer,
                                                 const ConfigBackupOptions& options) {
  ConfigBackupResult result;
  json entries = json::array();
  std::vector<std::string_view> filtered;
  for (const auto& kind : kConfigEntryKinds) {
    auto listing = consul::list_config_entries(consul, kind.name);
    if (!listing.ok()) {
      return std::move(listing.error().add_context(fmt::format(
          "reading the {} config entries (needs {})", kind.name, kind.read_permission)));
    }
    if (!listing->kind_known) {
      log::debug("Consul does not know config entries of kind {}: none to back up", kind.name);
      continue;
    }
    if (listing->filtered_by_acls)
      filtered.push_back(kind.name);
    for (auto& entry : listing->entries)
      entries.push_back(std::move(entry));
  }
  if (!filtered.empty()) {
    auto problem = fmt::format(
        "Consul left out config entries that this token may not read "
        "(X-Consul-Results-Filtered-By-Acls) of kind {}; reading them all needs {}",
        fmt::join(filtered, ", "),
        R"(service_prefix "" { policy = "read" intentions = "read" } and mesh = "read")");
    if (!options.allow_partial) {
      return Error(ErrorKind::permission_denied,
                   fmt::format("reading config entries: {} (or allow a partial backup with "
                               "--allow-partial)",
                               problem));
    }
    log::warn("{}: the backup is marked partial", problem);
    result.partial = true;
    result.warnings.push_back(std::move(problem));
  }
  for (const auto& entry : entries) {
    if (!entry.is_object()) {
      return Error(ErrorKind::corrupt,
                   "reading config entries: an element of Consul's answer is not a JSON object");
    }
  }
  std::stable_sort(entries.begin(), entries.end(), config_entry_less);
  result.count = entries.size();
  // Already in order: the stable sort by Kind keeps it.
  CSNAP_TRY(write_json_member(writer, kConfigEntriesMember, std::move(entries), "Kind"));
  log::info("Wrote {} config entries", result.count);
  return result;
}

Result<std::vector<std::string>> backup_config_kinds(const archive::BackupReader& reader) {
  CSNAP_ASSIGN_OR_RETURN(auto backup, read_json_member(reader, kConfigEntriesMember));
  std::set<std::string> kinds;
  for (const auto& entry : backup) {
    auto kind = json_text(entry, "Kind");
    if (kind.empty())
      continue;
    kinds.insert(std::move(kind));
    if (kinds.size() > kMaxConfigKindsInBackup) {
      return Error(ErrorKind::corrupt,
                   fmt::format("{}: entries of more than {} kinds (Consul has fewer than 20)",
                               kConfigEntriesMember, kMaxConfigKindsInBackup));
    }
  }
  return std::vector<std::string>(kinds.begin(), kinds.end());
}

Result<json> read_live_config_entries(consul::Client& consul,
                                      const std::vector<std::string>& kinds) {
  json live = json::array();
  for (const auto& kind : kinds) {
    auto listing = consul::list_config_entries(consul, kind);
    if (!listing.ok()) {
      return std::move(
          listing.error().add_context(fmt::format("reading the live {} config entries", kind)));
    }
    if (!listing->kind_known) {
      log::debug("The target does not know config entries of kind {}", kind);
      continue;
    }
    if (listing->filtered_by_acls) {
      return Error(ErrorKind::permission_denied,
                   fmt::format("reading the live {} config entries: Consul left out entries this "
                               "token may not read, so the plan cannot tell a create from an "
                               "update; use a token that can read them all",
                               kind));
    }
    for (auto& entry : listing->entries)
      live.push_back(std::move(entry));
  }
  return live;
}

Result<ConfigRestorePlan> plan_config_restore(const archive::BackupReader& reader,
                                              const json& live) {
  ConfigRestorePlan plan;
  CSNAP_ASSIGN_OR_RETURN(auto backup, read_json_member(reader, kConfigEntriesMember));
  plan.entries = plan_config_objects(backup, live, plan.summary);
  return plan;
}

KindPlan apply_config_restore(consul::Client& consul, const ConfigRestorePlan& plan,
                              const ConfigApplyOptions& options) {
  KindPlan done{.kind = std::string(kConfigEntriesKind)};
  for (const auto& planned : plan.entries) {
    if (count_unwritten(done, planned))
      continue;
    std::optional<std::uint64_t> cas;
    if (!options.force)
      cas = planned.action == RestoreAction::create ? 0 : planned.live_index;
    auto written = consul::write_config_entry(consul, config_entry_body(planned.object), cas);
    std::string failure;
    if (!written.ok()) {
      failure = written.error().message();
    } else if (!*written) {
      failure =
          "it changed in the target after the plan (check-and-set refused; run the restore "
          "again, or overwrite with --force)";
    }
    count_write(done, planned, failure);
  }
  return done;
}

}  // namespace csnap::ops
