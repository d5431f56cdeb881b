#include "ops/acl_backup.hpp"

#include <fmt/format.h>

#include "consul/acl.hpp"
#include "ops/acl_objects.hpp"
#include "ops/json_member.hpp"
#include "util/log.hpp"

namespace csnap::ops {

Result<AclBackupResult> backup_acls(consul::Client& consul, archive::BackupWriter& writer,
                                    const AclBackupOptions& options) {
  AclBackupResult result;
  AclObjects objects;
  for (consul::AclKind kind : kAclRestoreOrder) {
    auto listed = consul::acl_list(consul, kind);
    if (!listed.ok() && consul::is_acl_disabled(listed.error())) {
      log::info("ACLs are disabled in Consul: the backup records no ACL system");
      return result;
    }
    if (!listed.ok()) {
      return std::move(listed.error().add_context(
          fmt::format("reading ACL {} (needs acl:read)", consul::acl_kind_plural(kind))));
    }
    objects.of(kind) = std::move(*listed);
  }
  result.acls_enabled = true;

  std::uint64_t hidden = 0;
  for (const auto& token : objects.tokens) {
    if (json_text(token, "SecretID") == kHiddenSecret)
      ++hidden;
  }
  if (hidden > 0) {
    auto message = fmt::format(
        "{} of {} ACL token secrets are hidden from this token (SecretID \"<hidden>\"), so those "
        "tokens could not be restored; a token with acl:write sees them",
        hidden, objects.tokens.size());
    if (!options.allow_partial) {
      return Error(ErrorKind::permission_denied,
                   message + " (or allow a partial backup with --allow-partial)");
    }
    log::warn("{}: the backup is marked partial", message);
    result.partial = true;
    result.warnings.push_back(std::move(message));
  }

  for (consul::AclKind kind : kAclRestoreOrder) {
    auto& array = objects.of(kind);
    result.counts[acl_count_kind(kind)] = array.size();
    CSNAP_TRY(write_json_member(writer, acl_member_name(kind), std::move(array),
                                std::string(consul::acl_id_field(kind))));
  }
  log::info(
      "Wrote the ACL system: {} policies, {} roles, {} tokens, {} auth methods, {} binding "
      "rules",
      result.counts["acl-policies"], result.counts["acl-roles"], result.counts["acl-tokens"],
      result.counts["acl-auth-methods"], result.counts["acl-binding-rules"]);
  return result;
}

}  // namespace csnap::ops
