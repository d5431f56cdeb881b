#include "ops/acl_restore.hpp"

#include <chrono>

#include <fmt/format.h>

#include "consul/acl.hpp"
#include "ops/json_member.hpp"
#include "util/log.hpp"

namespace csnap::ops {
namespace {

using consul::AclKind;

std::size_t kind_position(AclKind kind) {
  std::size_t position = 0;
  for (AclKind ordered : kAclRestoreOrder) {
    if (ordered == kind)
      return position;
    ++position;
  }
  return 0;
}

// Writes one planned object; returns the live ID it ended with.
Result<std::string> write_object(consul::Client& consul, const PlannedObject& planned,
                                 const IdMap& policy_ids, const IdMap& role_ids) {
  auto body = restore_body(planned, policy_ids, role_ids);
  const std::string id_field(consul::acl_id_field(planned.kind));
  if (planned.action == RestoreAction::update) {
    CSNAP_TRY(consul::acl_update(consul, planned.kind, planned.live_id, body));
    return planned.live_id;
  }
  CSNAP_ASSIGN_OR_RETURN(auto created, consul::acl_create(consul, planned.kind, body));
  auto id = json_text(created, id_field);
  if (id.empty()) {
    return Error(ErrorKind::corrupt,
                 fmt::format("Consul's answer to the create has no {}", id_field));
  }
  return id;
}

// Reads the backup's acl/ members into `objects`; how many objects they hold.
Result<std::size_t> read_backup_acl(const archive::BackupReader& reader, AclObjects& objects) {
  std::size_t total = 0;
  for (AclKind kind : kAclRestoreOrder) {
    CSNAP_ASSIGN_OR_RETURN(objects.of(kind), read_json_member(reader, acl_member_name(kind)));
    total += objects.of(kind).size();
  }
  return total;
}

}  // namespace

Result<LiveAcl> read_live_acl(consul::Client& consul) {
  LiveAcl live;
  live.read_at = std::chrono::system_clock::now();
  for (AclKind kind : kAclRestoreOrder) {
    auto listed = consul::acl_list(consul, kind);
    if (!listed.ok() && consul::is_acl_disabled(listed.error())) {
      live.enabled = false;
      live.objects = {};
      return live;
    }
    if (!listed.ok()) {
      return std::move(listed.error().add_context(fmt::format(
          "reading ACL {} (a restore needs acl:write)", consul::acl_kind_plural(kind))));
    }
    live.objects.of(kind) = std::move(*listed);
  }
  return live;
}

Result<AclRestorePlan> plan_acl_restore(const archive::BackupReader& reader, const LiveAcl& live) {
  AclObjects backup;
  CSNAP_ASSIGN_OR_RETURN(auto total, read_backup_acl(reader, backup));
  if (total > 0 && !live.enabled) {
    return Error(ErrorKind::invalid_argument,
                 fmt::format("the backup holds {} ACL objects but Consul has ACLs disabled "
                             "(leave ACLs out of the restore, or enable them first)",
                             total));
  }
  if (total > 0) {
    for (const auto& token : live.objects.tokens) {
      if (json_text(token, "SecretID") == kHiddenSecret) {
        return Error(ErrorKind::permission_denied,
                     "the target's token secrets are hidden from this token: restoring ACL "
                     "tokens needs a token with acl:write");
      }
    }
  }
  return plan_acl_objects(backup, live.objects,
                          live.read_at.value_or(std::chrono::system_clock::now()));
}

Result<std::size_t> count_backup_acl_objects(const archive::BackupReader& reader) {
  AclObjects backup;
  return read_backup_acl(reader, backup);
}

Result<std::vector<KindPlan>> apply_acl_restore(consul::Client& consul,
                                                const AclRestorePlan& plan) {
  std::vector<KindPlan> done;
  for (AclKind kind : kAclRestoreOrder)
    done.push_back(KindPlan{.kind = acl_count_kind(kind)});
  IdMap policy_ids = plan.policy_ids;
  IdMap role_ids = plan.role_ids;
  for (const auto& planned : plan.objects) {
    auto& summary = done[kind_position(planned.kind)];
    if (count_unwritten(summary, planned))
      continue;
    auto written = write_object(consul, planned, policy_ids, role_ids);
    if (!written.ok()) {
      count_write(summary, planned, written.error().message());
      continue;
    }
    if (planned.kind == AclKind::policy)
      policy_ids[planned.backup_id] = *written;
    if (planned.kind == AclKind::role)
      role_ids[planned.backup_id] = *written;
    count_write(summary, planned);
  }
  return done;
}

}  // namespace csnap::ops
