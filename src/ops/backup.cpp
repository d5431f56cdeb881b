#include "ops/backup.hpp"

#include <chrono>

#include <fmt/format.h>

#include "archive/backup_writer.hpp"
#include "archive/kv_json.hpp"
#include "archive/meta.hpp"
#include "codec/sha256.hpp"
#include "ops/acl_backup.hpp"
#include "ops/config_entries.hpp"
#include "ops/naming.hpp"
#include "ops/prepared_queries.hpp"
#include "ops/raft_member.hpp"
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

// The `cancelled` error when `options.stop_reason` gives a reason.
Status check_stop(const BackupOptions& options) {
  if (!options.stop_reason)
    return {};
  auto reason = options.stop_reason();
  if (reason.empty())
    return {};
  return Error(ErrorKind::cancelled, fmt::format("backup abandoned: {}", reason));
}

// Passes bytes on while the backup may go on; refuses to write or finish (the commit) once
// there is a reason to stop, so that the storage abandons the object.
class StoppableSink final : public ByteSink {
 public:
  StoppableSink(ByteSink& inner, const BackupOptions& options) : inner_(inner), options_(options) {}

  using ByteSink::write;
  Status write(std::span<const std::byte> data) override {
    CSNAP_TRY(check_stop(options_));
    return inner_.write(data);
  }
  // The commit point: the storage makes the object visible in inner_.finish().
  Status finish() override {
    CSNAP_TRY(check_stop(options_));
    if (options_.confirm_commit) {
      auto confirmed = options_.confirm_commit();
      if (!confirmed.ok())
        return std::move(confirmed.error().add_context("backup abandoned before its commit"));
    }
    return inner_.finish();
  }

 private:
  ByteSink& inner_;
  const BackupOptions& options_;
};

// Writes kv.json; returns the Consul index of the read.
Result<std::uint64_t> backup_kv(consul::Client& consul, archive::BackupWriter& writer,
                                const BackupOptions& options, archive::Meta& meta) {
  CSNAP_ASSIGN_OR_RETURN(auto* kv_sink, writer.begin_member(archive::kKvMember));
  archive::KvJsonWriter kv_json(*kv_sink);
  log::info("Listing keys from consul{}",
            options.kv_prefix.empty() ? "" : fmt::format(" under '{}'", options.kv_prefix));
  std::uint64_t value_bytes = 0;
  auto listing =
      consul.kv_list(options.kv_prefix, options.tmp_dir, [&](consul::KvEntry&& entry) -> Status {
        value_bytes += entry.value.size();
        if (options.progress)
          options.progress(kv_json.count() + 1, value_bytes);
        if ((kv_json.count() & 1023) == 0)
          CSNAP_TRY(check_stop(options));
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
  meta.counts["kv"] = kv_json.count();
  meta.kv_prefix = options.kv_prefix;
  return listing->index;
}

// Writes raft.snap: Consul's snapshot as it sent it, streamed to the member's spool, then read
// back and verified (its SHA256SUMS, as `consul snapshot inspect` checks) before the backup may
// be committed. Fills in `meta.raft`.
Status backup_raft(consul::Client& consul, archive::BackupWriter& writer,
                   const BackupOptions& options, archive::Meta& meta) {
  CSNAP_ASSIGN_OR_RETURN(auto* member, writer.begin_member(archive::kRaftMember));
  log::info("Saving Consul's Raft snapshot{}", options.raft_stale ? " (stale reads allowed)" : "");
  // Stops the download once there is a reason to stop; finishes nothing (the member does).
  StoppableSink stoppable(*member, options);
  auto download = consul.snapshot_save(
      stoppable, {.stale = options.raft_stale,
                  .rewind = [&writer, member] { return writer.restart_member(*member); }});
  if (!download.ok())
    return std::move(download.error().add_context("saving Consul's Raft snapshot"));
  CSNAP_TRY(member->finish());

  CSNAP_ASSIGN_OR_RETURN(auto spooled, writer.read_member(*member));
  auto summary = verify_raft_snapshot(spooled);
  if (!summary.ok()) {
    return std::move(
        summary.error().add_context("the Raft snapshot Consul sent does not pass its own checks"));
  }
  auto raft = raft_meta_of(*summary, meta.consul_version);
  log::info("Wrote Consul's Raft snapshot ({} bytes, index {}, term {}, {} records, {} keys) to {}",
            member->size(), raft.index, raft.term, summary->state.records, raft.kv_keys,
            archive::kRaftMember);
  if (meta.consul_index == 0)
    meta.consul_index = download->index != 0 ? download->index : raft.index;
  meta.raft = std::move(raft);
  return {};
}

}  // namespace

Result<BackupMode> parse_backup_mode(std::string_view text) {
  if (text == "logical")
    return BackupMode::logical;
  if (text == "raft")
    return BackupMode::raft;
  if (text == "both")
    return BackupMode::both;
  return Error(ErrorKind::invalid_argument,
               fmt::format("--mode: unknown backup mode '{}' (use logical, raft or both)", text));
}

std::string_view to_string(BackupMode mode) {
  switch (mode) {
    case BackupMode::logical:
      return "logical";
    case BackupMode::raft:
      return "raft";
    case BackupMode::both:
      return "both";
  }
  return "logical";
}

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
  const bool logical = options.mode != BackupMode::raft;
  if (logical && options.include_kv) {
    CSNAP_ASSIGN_OR_RETURN(meta.consul_index, backup_kv(consul, writer, options, meta));
  }
  if (logical && options.include_acl) {
    auto acls = backup_acls(consul, writer, {.allow_partial = options.allow_partial});
    if (!acls.ok())
      return std::move(acls.error().add_context("backing up the ACL system"));
    for (const auto& warning : acls->warnings)
      log::warn("{}", warning);
    if (!acls->acls_enabled)
      log::info("ACLs are disabled in this cluster: no ACL objects to back up");
    meta.counts.insert(acls->counts.begin(), acls->counts.end());
    meta.partial = meta.partial || acls->partial;
    auto tokens = acls->counts.find("acl-tokens");
    if (tokens != acls->counts.end() && tokens->second > 0 && !options.encryption.encrypts()) {
      log::warn(
          "This backup holds the secrets of {} ACL tokens and is not encrypted: set "
          "CRYPTO_PASSWORD or --encrypt-to, or keep it where only operators can read it",
          tokens->second);
    }
  }
  if (logical && options.include_queries) {
    auto queries =
        backup_prepared_queries(consul, writer, {.allow_partial = options.allow_partial});
    if (!queries.ok())
      return std::move(queries.error().add_context("backing up prepared queries"));
    for (const auto& warning : queries->warnings)
      log::warn("{}", warning);
    meta.counts["prepared-queries"] = queries->count;
    meta.partial = meta.partial || queries->partial;
  }
  if (logical && options.include_config) {
    auto config = backup_config_entries(consul, writer, {.allow_partial = options.allow_partial});
    if (!config.ok())
      return std::move(config.error().add_context("backing up config entries"));
    meta.counts[std::string(kConfigEntriesKind)] = config->count;
    meta.partial = meta.partial || config->partial;
  }
  if (options.mode != BackupMode::logical) {
    CSNAP_TRY(check_stop(options));
    CSNAP_TRY(backup_raft(consul, writer, options, meta));
    if (!options.encryption.encrypts()) {
      log::warn(
          "This backup holds Consul's Raft snapshot, and with it Consul's secrets (every ACL "
          "token's SecretID, the built-in Connect CA's private key), and is not encrypted: set "
          "CRYPTO_PASSWORD or --encrypt-to, or keep it where only operators can read it");
    }
  }
  if (meta.partial) {
    log::warn("This backup is PARTIAL (--allow-partial): some data could not be read completely");
  }

  BackupReport report;
  report.key = backup_key(options.key_prefix, meta.hostname, started_unix,
                          std::string(codec::tar_suffix(options.compression)) +
                              (options.encryption.encrypts() ? ".age" : ""));
  report.location = storage.describe();
  report.kv_entries = meta.counts.contains("kv") ? meta.counts.at("kv") : 0;
  report.counts = meta.counts;
  report.raft = meta.raft;
  report.partial = meta.partial;
  report.encrypted = options.encryption.encrypts();
  report.consul_index = meta.consul_index;
  report.started_unix = started_unix;
  meta.finished_at = std::chrono::floor<std::chrono::seconds>(Clock::now());

  log::info("Writing backup {} to {}", report.key, report.location);
  CSNAP_TRY(check_stop(options));
  CSNAP_ASSIGN_OR_RETURN(auto upload, storage.put(report.key));
  StoppableSink stoppable(*upload, options);
  codec::HashingSink counted(stoppable);
  CSNAP_ASSIGN_OR_RETURN(auto encrypted, encrypting_sink(counted, options.encryption));
  CSNAP_TRY_CONTEXT(writer.write(std::move(meta), *encrypted, options.compression),
                    fmt::format("writing {}", report.key));
  report.bytes = counted.size();
  report.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_steady).count();
  log::debug("Wrote {} bytes (SHA-256 {}) to {}", report.bytes, counted.sha256_hex(), report.key);

  if (options.record_last_backup) {
    auto recorded = consul.kv_put(options.last_backup_key, std::to_string(started_unix), 0);
    if (!recorded.ok()) {
      log::warn("Backup written, but recording its time in {} failed: {}", options.last_backup_key,
                recorded.error().message());
    }
  }
  std::string counts;
  for (const auto& [kind, count] : report.counts) {
    counts += fmt::format("{}{} {}", counts.empty() ? "" : ", ", count, kind);
  }
  if (report.raft) {
    counts +=
        fmt::format("{}Raft snapshot at index {}", counts.empty() ? "" : ", ", report.raft->index);
  }
  log::info("Backup written to {} ({} bytes, {:.2f}s): {}", report.key, report.bytes,
            report.seconds, counts);
  return report;
}

}  // namespace csnap::ops
