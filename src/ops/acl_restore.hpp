#pragma once
// Restores the ACL system from a backup's acl/ members: plan first (per object create, update,
// unchanged or skip, matched by ID, then by name), then apply in dependency order.

#include <vector>

#include "archive/backup_reader.hpp"
#include "consul/client.hpp"
#include "ops/acl_objects.hpp"

namespace csnap::ops {

// Compares the backup's acl/ members with the live cluster; writes nothing. A backup with ACL
// objects and a cluster without ACLs, or a token that cannot see secrets, is an error.
Result<AclRestorePlan> plan_acl_restore(consul::Client& consul,
                                        const archive::BackupReader& reader);

// Carries out `plan`: policies, roles, auth methods, binding rules, tokens, re-linking references
// to the IDs Consul gives created policies and roles. Returns what was done per kind; an object
// that fails is counted in `failed` with a note, and the rest go on.
Result<std::vector<KindPlan>> apply_acl_restore(consul::Client& consul, const AclRestorePlan& plan);

}  // namespace csnap::ops
