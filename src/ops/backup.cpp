#include "ops/backup.hpp"

#include <chrono>

#include <fmt/format.h>

#include "archive/backup_writer.hpp"
#include "archive/kv_json.hpp"
#include "archive/meta.hpp"
#include "codec/sha256.hpp"
#include "ops/naming.hpp"
#include "util/log.hpp"

namespace csnap::ops {
namespace {

using Clock = std::chrono::system_clock;

std::string json_string(const nlohmann::json& object, std::string_view section,
                        std::string_view field) {
  auto outer = object.find(section);
  if (outer == object.end() || !outer->is_object())
    return {};
  auto inner = outer->find(field);
  if (inner == outer->end() || !inner->is_string())
    return {};
  return inner->get<std::string>();
}

bool acls_enabled(const nlohmann::json& self) {
  auto debug = self.find("DebugConfig");
  if (debug == self.end() || !debug->is_object())
    return false;
  auto enabled = debug->find("ACLsEnabled");
  return enabled != debug->end() && enabled->is_boolean() && enabled->get<bool>();
}

// Fills in who we are talking to. With ACLs enabled, Consul hides what a token may not read
// without saying so (a recursive read of a fully hidden KV is a plain 404), so the token is
// checked first: a missing or unknown token fails here with Consul's own reason.
Status describe_cluster(consul::Client& consul, archive::Meta& meta) {
  CSNAP_ASSIGN_OR_RETURN(auto self, consul.agent_self());
  meta.datacenter = json_string(self, "Config", "Datacenter");
  meta.node = json_string(self, "Config", "NodeName");
  meta.consul_version = json_string(self, "Config", "Version");
  if (acls_enabled(self)) {
    auto token = consul.token_self();
    if (!token.ok()) {
      return std::move(token.error().add_context(
          "Consul has ACLs enabled and the token could not be checked (set CONSUL_HTTP_TOKEN or "
          "CONSUL_HTTP_TOKEN_FILE to a token with key:read on every key)"));
    }
  }
  CSNAP_ASSIGN_OR_RETURN(meta.leader, consul.leader());
  return {};
}

}  // namespace

Result<BackupReport> run_backup(consul::Client& consul, storage::Backend& storage,
                                const BackupOptions& options) {
  const auto started = std::chrono::floor<std::chrono::seconds>(Clock::now());
  const auto started_steady = std::chrono::steady_clock::now();
  const std::int64_t started_unix = started.time_since_epoch().count();
  log::info("Starting Backup At: {}", started_unix);

  archive::Meta meta;
  meta.tool_version = options.tool_version;
  meta.started_at = started;
  meta.hostname = options.hostname.empty() ? local_hostname() : options.hostname;
  CSNAP_TRY_CONTEXT(describe_cluster(consul, meta), "reading Consul's agent information");

  archive::BackupWriter writer({.temp_dir = options.tmp_dir});
  CSNAP_ASSIGN_OR_RETURN(auto* kv_sink, writer.begin_member(archive::kKvMember));
  archive::KvJsonWriter kv_json(*kv_sink);
  log::info("Listing keys from consul");
  auto listing = consul.kv_list("", options.tmp_dir, [&](consul::KvEntry&& entry) {
    return kv_json.add(entry.key, entry.value, entry.flags);
  });
  if (!listing.ok())
    return std::move(listing.error().add_context("reading the KV store"));
  if (listing->filtered_by_acls) {
    return Error(ErrorKind::permission_denied,
                 "reading the KV store: Consul left out entries that this token may not read "
                 "(X-Consul-Results-Filtered-By-Acls), so the backup would be incomplete; use a "
                 "token with key:read on every key (key_prefix \"\" { policy = \"read\" })");
  }
  CSNAP_TRY(kv_json.finish());
  CSNAP_TRY(kv_sink->finish());
  log::info("Wrote {} keys ({} bytes of JSON) to {}", kv_json.count(), kv_sink->size(),
            archive::kKvMember);
  meta.consul_index = listing->index;
  meta.counts["kv"] = kv_json.count();

  BackupReport report;
  report.key = backup_key(options.key_prefix, meta.hostname, started_unix,
                          codec::tar_suffix(options.compression));
  report.location = storage.describe();
  report.kv_entries = kv_json.count();
  report.consul_index = listing->index;
  report.started_unix = started_unix;
  meta.finished_at = std::chrono::floor<std::chrono::seconds>(Clock::now());

  log::info("Writing backup {} to {}", report.key, report.location);
  CSNAP_ASSIGN_OR_RETURN(auto upload, storage.put(report.key));
  codec::HashingSink counted(*upload);
  CSNAP_TRY_CONTEXT(writer.write(std::move(meta), counted, options.compression),
                    fmt::format("writing {}", report.key));
  report.bytes = counted.size();
  report.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_steady).count();
  log::debug("Wrote {} bytes (SHA-256 {}) to {}", report.bytes, counted.sha256_hex(), report.key);

  if (options.record_last_backup) {
    auto recorded = consul.kv_put(kLastBackupKey, std::to_string(started_unix), 0);
    if (!recorded.ok()) {
      log::warn("Backup written, but recording its time in {} failed: {}", kLastBackupKey,
                recorded.error().message());
    }
  }
  log::info("Backup of {} keys written to {} ({} bytes, {:.2f}s)", report.kv_entries, report.key,
            report.bytes, report.seconds);
  return report;
}

}  // namespace csnap::ops
