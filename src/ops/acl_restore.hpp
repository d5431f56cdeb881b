#pragma once
// Restores the ACL system from a backup's acl/ members: read the target's ACL objects, plan
// (per object create, update, unchanged or skip, matched by ID, then by name), then apply in
// dependency order. Planning reads only the backup and the live side it is given.

#include <chrono>
#include <optional>
#include <vector>

#include "archive/backup_reader.hpp"
#include "consul/client.hpp"
#include "ops/acl_objects.hpp"

namespace csnap::ops {

// The target's ACL system as a restore compares the backup with it.
struct LiveAcl {
  bool enabled = true;  // false: Consul answered that ACLs are disabled
  AclObjects objects;   // every object of the five kinds, as Consul lists them
  // When it was read: backup tokens that expired before it are not restored. Unset (a live side
  // built from data): the time of planning.
  std::optional<std::chrono::system_clock::time_point> read_at{};
};

// Lists every ACL object of the target; ACLs disabled is `enabled = false`, not an error. A
// token without acl:read is an error naming the permission.
Result<LiveAcl> read_live_acl(consul::Client& consul);

// Compares the backup's acl/ members with `live`; reads and writes nothing of the cluster. ACL
// objects in the backup are an error when `live` has ACLs disabled or hides its tokens' secrets.
Result<AclRestorePlan> plan_acl_restore(const archive::BackupReader& reader, const LiveAcl& live);

// How many ACL objects the backup's acl/ members hold (a restore reads the live ACLs only then).
Result<std::size_t> count_backup_acl_objects(const archive::BackupReader& reader);

// Carries out `plan`: policies, roles, auth methods, binding rules, tokens, re-linking references
// to the IDs Consul gives created policies and roles. Returns what was done per kind; an object
// that fails is counted in `failed` with a note, and the rest go on.
Result<std::vector<KindPlan>> apply_acl_restore(consul::Client& consul, const AclRestorePlan& plan);

}  // namespace csnap::ops
