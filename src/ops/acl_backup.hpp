#pragma once
// Backs up Consul's ACL system into archive members (docs/format.md): acl/policies.json,
// acl/roles.json, acl/tokens.json, acl/auth-methods.json and acl/binding-rules.json, each a JSON
// array of Consul's own objects sorted by ID (auth methods by Name).

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "archive/backup_writer.hpp"
#include "consul/client.hpp"

namespace csnap::ops {

struct AclBackupOptions {
  bool allow_partial = false;  // hidden secrets are warned about instead of failing the backup
};

struct AclBackupResult {
  bool acls_enabled = false;
  bool partial = false;  // some secrets are "<hidden>" in the backup
  // "acl-policies", "acl-roles", "acl-tokens", "acl-auth-methods", "acl-binding-rules"
  std::map<std::string, std::uint64_t> counts;
  std::vector<std::string> warnings;
};

// Reads every policy (with Rules), role, token (with SecretID), auth method (with Config) and
// binding rule into the five acl/ members. ACLs disabled: acls_enabled=false, no members, no
// error. A 403 fails naming the permission; hidden token secrets fail unless `allow_partial`.
Result<AclBackupResult> backup_acls(consul::Client& consul, archive::BackupWriter& writer,
                                    const AclBackupOptions& options);

}  // namespace csnap::ops
