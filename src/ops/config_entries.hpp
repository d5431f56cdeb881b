#pragma once
// Backup and restore of Consul's config entries (service-defaults, routers, gateways,
// service-intentions...): member config-entries.json, a JSON array of Consul's own objects
// (GET /v1/config/<kind> for every kind) sorted by Kind, Partition, Namespace and Name. An entry
// is known by those four; a restore writes it with PUT /v1/config, check-and-set against the
// ModifyIndex the plan saw, and never deletes one.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "archive/backup_reader.hpp"
#include "archive/backup_writer.hpp"
#include "consul/client.hpp"
#include "ops/acl_objects.hpp"

namespace csnap::ops {

inline constexpr std::string_view kConfigEntriesMember = "config-entries.json";
inline constexpr std::string_view kConfigEntriesKind = "config-entries";

// A config-entry kind that a backup reads and a restore writes.
struct ConfigEntryKind {
  std::string_view name;             // Consul's Kind, "service-defaults"
  std::string_view read_permission;  // what listing it needs, for the error of a 403
  std::string_view restore_reason;   // why it is restored where it is in kConfigEntryKinds
};

// Every kind Consul 1.16 lets an operator write, in the order a restore applies them: Consul
// checks some entries against others when they are written (a router needs an L7 protocol from
// service-defaults or proxy-defaults, a splitter the subsets of its resolver, an intention its
// JWT provider, an API gateway its certificates), so what is referenced comes first. A kind the
// agent does not know (an Enterprise-only kind on Community Edition, a kind newer than the agent)
// is skipped by a backup. bound-api-gateway is left out: Consul's controller writes it (a PUT is
// refused) and derives it again from api-gateway and the routes.
inline constexpr ConfigEntryKind kConfigEntryKinds[] = {
    {"proxy-defaults", "no permission",
     "the mesh-wide protocol and proxy settings that every service inherits"},
    {"service-defaults", "service:read on every service",
     "each service's protocol, which routers, splitters and resolvers are checked against"},
    {"mesh", "mesh:read or operator:read", "mesh-wide TLS and HTTP settings; refers to nothing"},
    {"sameness-group", "mesh:read or operator:read",
     "referenced by resolver failover, exported services and intentions"},
    {"jwt-provider", "mesh:read or operator:read", "referenced by intentions' JWT requirements"},
    {"inline-certificate", "mesh:read or operator:read", "referenced by API gateway listeners"},
    {"service-resolver", "service:read on every service",
     "subsets and redirects, which splitters and routers name"},
    {"service-splitter", "service:read on every service",
     "splits to resolver subsets; needs an L7 protocol"},
    {"service-router", "service:read on every service",
     "routes to services and subsets; needs an L7 protocol"},
    {"ingress-gateway", "service:read on every service",
     "gateways expose services; HTTP listeners need their protocol"},
    {"terminating-gateway", "service:read on every service", "gateways expose services"},
    {"api-gateway", "mesh:read or operator:read", "needs its certificates; routes attach to it"},
    {"http-route", "mesh:read or operator:read", "attach to an API gateway"},
    {"tcp-route", "mesh:read or operator:read", "attach to an API gateway"},
    {"service-intentions", "intentions:read on every service",
     "refer to services, JWT providers and sameness groups"},
    {"exported-services", "mesh:read or operator:read",
     "refer to services and sameness groups, across partitions and peers"},
    {"control-plane-request-limit", "operator:read", "Enterprise only; refers to nothing"},
};

// Where entries of `kind` go in a restore: its index in kConfigEntryKinds; a kind not there
// after all of them.
std::size_t config_restore_rank(std::string_view kind);

// Orders config entries by Kind, Partition, Namespace, Name (the member's order).
bool config_entry_less(const nlohmann::json& left, const nlohmann::json& right);
// "service-router web", with " (partition P, namespace N)" when the entry has them.
std::string config_entry_label(const nlohmann::json& entry);
// What an entry compares on: without Consul's bookkeeping (CreateIndex, ModifyIndex, Hash) and
// empty values.
nlohmann::json comparable_config_entry(const nlohmann::json& entry);
// The body of PUT /v1/config for `entry`: without CreateIndex, ModifyIndex and Hash.
nlohmann::json config_entry_body(const nlohmann::json& entry);

// Decides every backup entry against `live` (the target's entries of the same kinds), in
// restore order (config_restore_rank, then config_entry_less); counts them in `summary`.
std::vector<PlannedObject> plan_config_objects(const nlohmann::json& backup,
                                               const nlohmann::json& live, KindPlan& summary);

struct ConfigBackupOptions {
  bool allow_partial = false;  // entries hidden by ACLs only warn
};

struct ConfigBackupResult {
  std::uint64_t count = 0;
  bool partial = false;
  std::vector<std::string> warnings;
};

// Reads every kind of kConfigEntryKinds into config-entries.json. A 403 fails naming the
// permission; entries left out by ACLs fail unless `allow_partial`.
Result<ConfigBackupResult> backup_config_entries(consul::Client& consul,
                                                 archive::BackupWriter& writer,
                                                 const ConfigBackupOptions& options = {});

// The distinct kinds of the entries in config-entries.json, sorted; none when it has no entries.
// More than kMaxConfigKindsInBackup kinds is `corrupt` (each costs a read of the target).
inline constexpr std::size_t kMaxConfigKindsInBackup = 64;
Result<std::vector<std::string>> backup_config_kinds(const archive::BackupReader& reader);

// The target's entries of `kinds`, a JSON array. A kind the target does not know has none there
// (writing one will fail, per entry). Entries left out by ACLs are an error: the plan could not
// tell a create from an update.
Result<nlohmann::json> read_live_config_entries(consul::Client& consul,
                                                const std::vector<std::string>& kinds);

struct ConfigRestorePlan {
  std::vector<PlannedObject> entries;  // in restore order
  KindPlan summary{.kind = std::string(kConfigEntriesKind)};
};

// Compares config-entries.json with `live`; reads and writes nothing of the cluster.
Result<ConfigRestorePlan> plan_config_restore(const archive::BackupReader& reader,
                                              const nlohmann::json& live);

struct ConfigApplyOptions {
  bool force = false;  // write without check-and-set
};

// Writes what `plan` says, in its order: PUT /v1/config, check-and-set against the plan's
// ModifyIndex (0 for a create) unless `force`. Refusals (an unknown kind, a failed validation, an
// entry changed after the plan) are counted as failed and noted; the others go on.
KindPlan apply_config_restore(consul::Client& consul, const ConfigRestorePlan& plan,
                              const ConfigApplyOptions& options = {});

}  // namespace csnap::ops
