#pragma once
// The one table of options: for each, its flag, environment variable, config-file key, type,
// default, allowed values and help. `--help`, docs/configuration.md, the validation when the
// configuration is loaded and the typed `Option` constants of config/options.hpp all come from
// it. Read values through those constants, never by name.

#include <cstdint>
#include <optional>
#include <string_view>

namespace csnap::config {

enum class OptionType { string, path, integer, boolean, duration, choice, secret };

// Which commands take an option.
enum Scope : unsigned {
  scope_global = 1u << 0,  // every command
  scope_backup = 1u << 1,
  scope_restore = 1u << 2,
  scope_storage = 1u << 3,  // every command that reads or writes backups
  scope_prune = 1u << 4,    // retention: backup (after each success) and prune
};

inline constexpr unsigned kScopeStorageCommands = scope_backup | scope_restore | scope_storage;

struct OptionSpec {
  std::string_view name;        // canonical name, also the flag: --<name> unless `flag` is set
  std::string_view env{};       // environment variable, "" for none
  std::string_view file_key{};  // dotted key in the config file, "" for none
  OptionType type;
  std::string_view default_value{};  // "" for none
  std::string_view help;
  unsigned scope = scope_global;
  std::string_view choices{};  // for OptionType::choice: "a|b|c"
  // The allowed range, both ends included: the number of an integer option, the seconds of a
  // duration option (a duration is always longer than zero). Checked when the configuration is
  // loaded; shown in --help and the docs.
  std::optional<std::int64_t> min = std::nullopt;
  std::optional<std::int64_t> max = std::nullopt;
  // Secrets are never taken from the command line (argv is visible to every user of the
  // machine): only from the environment, the config file, or a `*-file` option.
  bool flag_allowed = true;
  // Set for options the original tool had that this build does not implement yet: setting one
  // is an error rather than silently ignored.
  std::string_view unsupported{};
  // The flag may be given several times; the values are joined with newlines.
  bool repeatable = false;
  // The flag, --<flag>, when it is not the name: two options of disjoint scopes may share a
  // flag (backup's `--mode` and restore's `--mode`). "" = the name.
  std::string_view flag{};
};

// The flag of `spec`, without its dashes.
constexpr std::string_view flag_name(const OptionSpec& spec) {
  return spec.flag.empty() ? spec.name : spec.flag;
}

// The scrypt work factors age allows here (codec::age::kMaxScryptWorkFactor is the upper one;
// cli/setup.cpp asserts at compile time that the two agree).
inline constexpr std::int64_t kMinScryptWorkFactor = 10;
inline constexpr std::int64_t kMaxScryptWorkFactor = 22;

inline constexpr OptionSpec kOptionTable[] = {
    // General

    {.name = "config",
     .env = "CONSUL_SNAPSHOT_CONFIG",
     .type = OptionType::path,
     .help = "configuration file (JSON or TOML) with the keys of this table"},
    {.name = "log-level",
     .env = "CONSUL_SNAPSHOT_LOG_LEVEL",
     .file_key = "log.level",
     .type = OptionType::choice,
     .default_value = "info",
     .help = "debug, info, warn or error",
     .choices = "debug|info|warn|error"},
    {.name = "log-format",
     .env = "CONSUL_SNAPSHOT_LOG_FORMAT",
     .file_key = "log.format",
     .type = OptionType::choice,
     .default_value = "text",
     .help = "text (the original tool's lines) or json (one object a line)",
     .choices = "text|json"},

    // Consul client: the variables of Consul's own CLI and API client.

    {.name = "consul-addr",
     .env = "CONSUL_HTTP_ADDR",
     .file_key = "consul.address",
     .type = OptionType::string,
     .default_value = "127.0.0.1:8500",
     .help = "Consul HTTP address: host:port, http://host:port, https://host:port or unix:///path"},
    {.name = "consul-token",
     .env = "CONSUL_HTTP_TOKEN",
     .file_key = "consul.token",
     .type = OptionType::secret,
     .help = "ACL token (environment or config file only)",
     .flag_allowed = false},
    {.name = "consul-token-file",
     .env = "CONSUL_HTTP_TOKEN_FILE",
     .file_key = "consul.token_file",
     .type = OptionType::path,
     .help = "file that holds the ACL token"},
    {.name = "consul-http-auth",
     .env = "CONSUL_HTTP_AUTH",
     .file_key = "consul.http_auth",
     .type = OptionType::secret,
     .help = "HTTP basic auth as user:password (environment or config file only)",
     .flag_allowed = false},
    {.name = "consul-ssl",
     .env = "CONSUL_HTTP_SSL",
     .file_key = "consul.ssl",
     .type = OptionType::boolean,
     .default_value = "false",
     .help = "use HTTPS with a host:port address"},
    {.name = "consul-ssl-verify",
     .env = "CONSUL_HTTP_SSL_VERIFY",
     .file_key = "consul.ssl_verify",
     .type = OptionType::boolean,
     .default_value = "true",
     .help = "verify Consul's TLS certificate"},
    {.name = "consul-cacert",
     .env = "CONSUL_CACERT",
     .file_key = "consul.ca_file",
     .type = OptionType::path,
     .help = "CA certificate file for Consul's TLS certificate"},
    {.name = "consul-capath",
     .env = "CONSUL_CAPATH",
     .file_key = "consul.ca_path",
     .type = OptionType::path,
     .help = "directory of CA certificates"},
    {.name = "consul-client-cert",
     .env = "CONSUL_CLIENT_CERT",
     .file_key = "consul.client_cert",
     .type = OptionType::path,
     .help = "client certificate for mutual TLS"},
    {.name = "consul-client-key",
     .env = "CONSUL_CLIENT_KEY",
     .file_key = "consul.client_key",
     .type = OptionType::path,
     .help = "client key for mutual TLS"},
    {.name = "consul-tls-server-name",
     .env = "CONSUL_TLS_SERVER_NAME",
     .file_key = "consul.tls_server_name",
     .type = OptionType::string,
     .help = "server name to verify Consul's certificate against"},
    {.name = "consul-timeout",
     .env = "CONSUL_SNAPSHOT_CONSUL_TIMEOUT",
     .file_key = "consul.timeout",
     .type = OptionType::duration,
     .default_value = "60s",
     .help =
         "timeout of one request to Consul (the leader lock's requests time out after a quarter of "
         "--lock-ttl instead)"},

    // Storage and layout

    {.name = "local-dir",
     .env = "LOCAL_DIR",
     .file_key = "local.dir",
     .type = OptionType::path,
     .default_value = "./consul-snapshots",
     .help = "directory that holds the backups",
     .scope = kScopeStorageCommands},
    {.name = "local-backup-file",
     .env = "LOCAL_BACKUP_FILE",
     .file_key = "local.backup_file",
     .type = OptionType::string,
     .help = "backup in the local directory to restore (the original tool's variable)",
     .scope = scope_restore},
    {.name = "upload-prefix",
     .env = "CONSUL_SNAPSHOT_UPLOAD_PREFIX",
     .file_key = "storage.prefix",
     .type = OptionType::string,
     .default_value = "backups",
     .help = "prefix of every backup's key",
     .scope = kScopeStorageCommands},
    {.name = "tmp-dir",
     .env = "SNAPSHOT_TMP_DIR",
     .file_key = "tmp_dir",
     .type = OptionType::path,
     .default_value = "/tmp",
     .help = "directory for temporary files",
     .scope = kScopeStorageCommands},
    {.name = "compression",
     .env = "CONSUL_SNAPSHOT_COMPRESSION",
     .file_key = "backup.compression",
     .type = OptionType::choice,
     .default_value = "zstd",
     .help = "zstd or gzip",
     .scope = scope_backup,
     .choices = "zstd|gzip"},
    {.name = "backup-mode",
     .env = "CONSUL_SNAPSHOT_MODE",
     .file_key = "mode",
     .type = OptionType::choice,
     .default_value = "logical",
     .help = "what a backup holds: logical (KV, ACLs, prepared queries, config entries), raft "
             "(Consul's own snapshot, GET /v1/snapshot, as raft.snap; needs acl = \"write\") or "
             "both",
     .scope = scope_backup,
     .choices = "logical|raft|both",
     .flag = "mode"},
    {.name = "stale",
     .env = "CONSUL_SNAPSHOT_STALE",
     .file_key = "backup.stale",
     .type = OptionType::boolean,
     .default_value = "false",
     .help = "Raft mode: let any server, not only the leader, serve the snapshot "
             "(GET /v1/snapshot?stale; it may lag the leader)",
     .scope = scope_backup},
    {.name = "hostname",
     .env = "CONSUL_SNAPSHOT_HOSTNAME",
     .file_key = "backup.hostname",
     .type = OptionType::string,
     .help = "host name in backup keys (default: this machine's)",
     .scope = scope_backup},
    {.name = "interval",
     .env = "BACKUPINTERVAL",
     .file_key = "backup.interval",
     .type = OptionType::duration,
     .default_value = "60",
     .help = "time between backups of the daemon (seconds, or 90s, 15m, 1h)",
     .scope = scope_backup},

    // The daemon (backup without --once)

    {.name = "lock",
     .env = "CONSUL_SNAPSHOT_LOCK",
     .file_key = "daemon.lock",
     .type = OptionType::boolean,
     .default_value = "true",
     .help =
         "take backups only while holding the leader lock, so that one of several daemons backs up "
         "(false: no lock, for one daemon whose token cannot create sessions)",
     .scope = scope_backup},
    {.name = "lock-key",
     .env = "CONSUL_SNAPSHOT_LOCK_KEY",
     .file_key = "daemon.lock_key",
     .type = OptionType::string,
     .default_value = "service/consul-snapshot/leader",
     .help = "KV key of the leader lock; a restore never writes or deletes it",
     .scope = scope_backup | scope_restore},
    {.name = "lock-ttl",
     .env = "CONSUL_SNAPSHOT_LOCK_TTL",
     .file_key = "daemon.lock_ttl",
     .type = OptionType::duration,
     .default_value = "15s",
     .help = "TTL of the leader's Consul session; renewed every third of it; a leader with no "
             "renewal confirmed within one TTL steps down",
     .scope = scope_backup,
     .min = 10,
     .max = 24 * 3600},
    {.name = "lock-delay",
     .env = "CONSUL_SNAPSHOT_LOCK_DELAY",
     .file_key = "daemon.lock_delay",
     .type = OptionType::duration,
     .default_value = "15s",
     .help = "Consul's lock-delay: how long the lock stays free-but-unavailable after a leader's "
             "session "
             "ends",
     .scope = scope_backup},
    {.name = "lastbackup-key",
     .env = "CONSUL_SNAPSHOT_LASTBACKUP_KEY",
     .file_key = "daemon.lastbackup_key",
     .type = OptionType::string,
     .default_value = "service/consul-snapshot/lastbackup",
     .help =
         "KV key that gets the Unix time of each successful backup (the original tool's key); a "
         "restore never writes or deletes it",
     .scope = scope_backup | scope_restore},
    {.name = "http-addr",
     .env = "CONSUL_SNAPSHOT_HTTP_ADDR",
     .file_key = "daemon.http_addr",
     .type = OptionType::string,
     .default_value = ":5001",
     .help =
         "address of the daemon's HTTP server (/, /health, /metrics, /v1/status, /v1/backups; no "
         "authentication): host:port or :port, e.g. 127.0.0.1:5001 for this machine only; 'off' "
         "for "
         "none",
     .scope = scope_backup},
    {.name = "health-max-age",
     .env = "CONSUL_SNAPSHOT_HEALTH_MAX_AGE",
     .file_key = "daemon.health_max_age",
     .type = OptionType::duration,
     .default_value = "1h",
     .help = "/health answers 500 once the last successful backup is older than this",
     .scope = scope_backup},
    {.name = "register-service",
     .env = "CONSUL_SNAPSHOT_REGISTER_SERVICE",
     .file_key = "daemon.register_service",
     .type = OptionType::boolean,
     .default_value = "false",
     .help = "register the daemon with the local Consul agent as a service with an HTTP check on "
             "/health; deregistered on shutdown",
     .scope = scope_backup},
    {.name = "service-name",
     .env = "CONSUL_SNAPSHOT_SERVICE_NAME",
     .file_key = "daemon.service_name",
     .type = OptionType::string,
     .default_value = "consul-snapshot",
     .help = "service name for --register-service",
     .scope = scope_backup},
    {.name = "shutdown-grace",
     .env = "CONSUL_SNAPSHOT_SHUTDOWN_GRACE",
     .file_key = "daemon.shutdown_grace",
     .type = OptionType::duration,
     .default_value = "30s",
     .help = "on SIGTERM or SIGINT, how long a backup in flight may take to finish before it is "
             "aborted "
             "(nothing partial is left)",
     .scope = scope_backup},

    // Retention: after each successful backup of the daemon, and in `prune`. Unset = keep all.

    {.name = "keep-last",
     .env = "CONSUL_SNAPSHOT_KEEP_LAST",
     .file_key = "retention.keep_last",
     .type = OptionType::integer,
     .help = "keep the N newest backups",
     .scope = scope_backup | scope_prune,
     .min = 1},
    {.name = "keep-within",
     .env = "CONSUL_SNAPSHOT_KEEP_WITHIN",
     .file_key = "retention.keep_within",
     .type = OptionType::duration,
     .help = "keep every backup younger than this (e.g. 7d), counted from now (backups dated more "
             "than 5 "
             "minutes in the future are ignored)",
     .scope = scope_backup | scope_prune},
    {.name = "keep-hourly",
     .env = "CONSUL_SNAPSHOT_KEEP_HOURLY",
     .file_key = "retention.keep_hourly",
     .type = OptionType::integer,
     .help = "keep the newest backup of each of the last N hours that have one",
     .scope = scope_backup | scope_prune,
     .min = 1},
    {.name = "keep-daily",
     .env = "CONSUL_SNAPSHOT_KEEP_DAILY",
     .file_key = "retention.keep_daily",
     .type = OptionType::integer,
     .help = "keep the newest backup of each of the last N days that have one",
     .scope = scope_backup | scope_prune,
     .min = 1},
    {.name = "keep-weekly",
     .env = "CONSUL_SNAPSHOT_KEEP_WEEKLY",
     .file_key = "retention.keep_weekly",
     .type = OptionType::integer,
     .help = "keep the newest backup of each of the last N ISO weeks that have one",
     .scope = scope_backup | scope_prune,
     .min = 1},
    {.name = "keep-monthly",
     .env = "CONSUL_SNAPSHOT_KEEP_MONTHLY",
     .file_key = "retention.keep_monthly",
     .type = OptionType::integer,
     .help = "keep the newest backup of each of the last N months that have one",
     .scope = scope_backup | scope_prune,
     .min = 1},
    {.name = "confirm-shrink",
     .env = "CONSUL_SNAPSHOT_CONFIRM_SHRINK",
     .file_key = "retention.confirm_shrink",
     .type = OptionType::boolean,
     .default_value = "false",
     .help = "remove backups even though the newest holds far fewer KV entries or ACL objects "
             "than one that would go (retention is held otherwise: a wiped cluster must not cost "
             "the last "
             "good backups); in the daemon it turns the guard off while set",
     .scope = scope_backup | scope_prune},

    // Restore

    {.name = "dry-run",
     .env = "LOCAL_DRY_RUN",
     .file_key = "restore.dry_run",
     .type = OptionType::boolean,
     .default_value = "false",
     .help = "verify the backup and say what would be restored, without writing",
     .scope = scope_restore},
    {.name = "yes",
     .env = "CONSUL_SNAPSHOT_ASSUME_YES",
     .file_key = "restore.yes",
     .type = OptionType::boolean,
     .default_value = "false",
     .help = "restore without asking (required when not on a terminal)",
     .scope = scope_restore},
    {.name = "only",
     .env = "CONSUL_SNAPSHOT_ONLY",
     .file_key = "only",
     .type = OptionType::string,
     .help =
         "back up or restore only these kinds: a comma-separated list of kv, acl, query, config",
     .scope = scope_backup | scope_restore},
    {.name = "prefix",
     .env = "CONSUL_SNAPSHOT_PREFIX",
     .file_key = "prefix",
     .type = OptionType::string,
     .help = "back up or restore only the keys under this prefix",
     .scope = scope_backup | scope_restore},
    {.name = "transform",
     .env = "CONSUL_SNAPSHOT_RESTORE_TRANSFORM",
     .file_key = "restore.transform",
     .type = OptionType::string,
     .help = "rewrite a key prefix while restoring: OLD=NEW, e.g. app/=app-copy/",
     .scope = scope_restore},
    {.name = "mode",
     .env = "CONSUL_SNAPSHOT_RESTORE_MODE",
     .file_key = "restore.mode",
     .type = OptionType::choice,
     .default_value = "merge",
     .help = "merge (write the backup's keys) or replace (also delete keys under --prefix that the "
             "backup lacks)",
     .scope = scope_restore,
     .choices = "merge|replace"},
    {.name = "force",
     .env = "CONSUL_SNAPSHOT_RESTORE_FORCE",
     .file_key = "restore.force",
     .type = OptionType::boolean,
     .default_value = "false",
     .help =
         "write keys without check-and-set: overwrite (or delete) keys that changed after the plan "
         "instead of reporting each as a conflict; keys held by a session and the daemon's own "
         "keys "
         "are still left alone",
     .scope = scope_restore},
    {.name = "allow-partial",
     .env = "CONSUL_SNAPSHOT_ALLOW_PARTIAL",
     .file_key = "backup.allow_partial",
     .type = OptionType::boolean,
     .default_value = "false",
     .help = "write a backup marked partial, with a warning, when the token cannot read everything "
             "(hidden token secrets, entries filtered by ACLs), instead of failing",
     .scope = scope_backup},

    // Storage: a URL, or the original tool's S3 variables, else the local directory.

    {.name = "storage",
     .env = "CONSUL_SNAPSHOT_STORAGE",
     .file_key = "storage.url",
     .type = OptionType::string,
     .help = "where backups live: s3://bucket/prefix?region=..&endpoint=.. or file:///path "
             "(default: S3BUCKET if set, else --local-dir)",
     .scope = kScopeStorageCommands},
    {.name = "s3-bucket",
     .env = "S3BUCKET",
     .file_key = "s3.bucket",
     .type = OptionType::string,
     .help = "S3 bucket for backups",
     .scope = kScopeStorageCommands},
    {.name = "s3-region",
     .env = "S3REGION",
     .file_key = "s3.region",
     .type = OptionType::string,
     .help = "S3 region (default: AWS_REGION, the profile's, us-east-1)",
     .scope = kScopeStorageCommands},
    {.name = "s3-endpoint",
     .env = "S3ENDPOINT",
     .file_key = "s3.endpoint",
     .type = OptionType::string,
     .help = "S3 endpoint for S3-compatible servers (default: AWS_ENDPOINT_URL or AWS)",
     .scope = kScopeStorageCommands},
    {.name = "s3-sse",
     .env = "CONSUL_SNAPSHOT_S3_SSE",
     .file_key = "s3.sse",
     .type = OptionType::string,
     .help = "S3 server-side encryption: AES256 or aws:kms",
     .scope = kScopeStorageCommands},
    {.name = "s3-sse-kms-key-id",
     .env = "CONSUL_SNAPSHOT_S3_SSE_KMS_KEY_ID",
     .file_key = "s3.sse_kms_key_id",
     .type = OptionType::string,
     .help = "KMS key for aws:kms server-side encryption",
     .scope = kScopeStorageCommands},
    {.name = "storage-timeout",
     .env = "CONSUL_SNAPSHOT_STORAGE_TIMEOUT",
     .file_key = "storage.timeout",
     .type = OptionType::duration,
     .default_value = "5m",
     .help =
         "timeout of one request to S3 (an upload part, a download range); a request that moves no "
         "byte for 30s fails sooner; failed requests are retried 3 times",
     .scope = kScopeStorageCommands},
    {.name = "aws-access-key-id",
     .env = "AWS_ACCESS_KEY_ID",
     .file_key = "aws.access_key_id",
     .type = OptionType::string,
     .help = "AWS access key (else AWS_PROFILE and the shared credentials files)",
     .scope = kScopeStorageCommands},
    {.name = "aws-secret-access-key",
     .env = "AWS_SECRET_ACCESS_KEY",
     .file_key = "aws.secret_access_key",
     .type = OptionType::secret,
     .help = "AWS secret key (environment or config file only)",
     .scope = kScopeStorageCommands,
     .flag_allowed = false},
    {.name = "aws-session-token",
     .env = "AWS_SESSION_TOKEN",
     .file_key = "aws.session_token",
     .type = OptionType::secret,
     .help = "AWS session token (environment or config file only)",
     .scope = kScopeStorageCommands,
     .flag_allowed = false},
    {.name = "aws-profile",
     .env = "AWS_PROFILE",
     .file_key = "aws.profile",
     .type = OptionType::string,
     .help = "profile of the shared AWS config and credentials files",
     .scope = kScopeStorageCommands},
    {.name = "gcs-bucket",
     .env = "GCSBUCKET",
     .file_key = "gcs.bucket",
     .type = OptionType::string,
     .help = "Google Cloud Storage bucket",
     .scope = kScopeStorageCommands,
     .unsupported = "Google Cloud Storage"},

    // Encryption (age format): a passphrase, or X25519 recipients so that the backup host holds

    // only public keys.

    {.name = "crypto-password",
     .env = "CRYPTO_PASSWORD",
     .file_key = "crypto.password",
     .type = OptionType::secret,
     .help = "passphrase that encrypts backups and decrypts them, also the original tool's "
             "(environment "
             "or config file only)",
     .scope = kScopeStorageCommands,
     .flag_allowed = false},
    {.name = "passphrase-file",
     .env = "CONSUL_SNAPSHOT_PASSPHRASE_FILE",
     .file_key = "crypto.passphrase_file",
     .type = OptionType::path,
     .help = "file whose first line is the passphrase",
     .scope = kScopeStorageCommands},
    {.name = "encrypt-to",
     .env = "CONSUL_SNAPSHOT_ENCRYPT_TO",
     .file_key = "crypto.encrypt_to",
     .type = OptionType::string,
     .help =
         "encrypt backups to these age1... public keys (repeat the flag, or separate with commas)",
     .scope = scope_backup,
     .repeatable = true},
    {.name = "encrypt-to-file",
     .env = "CONSUL_SNAPSHOT_ENCRYPT_TO_FILE",
     .file_key = "crypto.encrypt_to_file",
     .type = OptionType::path,
     .help = "file of age1... public keys, one a line",
     .scope = scope_backup},
    {.name = "identity-file",
     .env = "CONSUL_SNAPSHOT_IDENTITY_FILE",
     .file_key = "crypto.identity_file",
     .type = OptionType::path,
     .help = "age identity file (as age-keygen writes) that decrypts backups",
     .scope = kScopeStorageCommands},
    {.name = "allow-unencrypted",
     .env = "CONSUL_SNAPSHOT_ALLOW_UNENCRYPTED",
     .file_key = "crypto.allow_unencrypted",
     .type = OptionType::boolean,
     .default_value = "false",
     .help = "accept a backup that is not encrypted although CRYPTO_PASSWORD, --passphrase-file or "
             "--identity-file is set (refused otherwise: anyone who can write to the storage could "
             "have "
             "put it there); 'latest' then also picks unencrypted backups",
     .scope = scope_restore | scope_storage},
    {.name = "scrypt-work-factor",
     .env = "CONSUL_SNAPSHOT_SCRYPT_WORK_FACTOR",
     .file_key = "crypto.scrypt_work_factor",
     .type = OptionType::integer,
     .default_value = "18",
     .help = "log2 of scrypt's cost for passphrase encryption",
     .scope = scope_backup,
     .min = kMinScryptWorkFactor,
     .max = kMaxScryptWorkFactor},
    {.name = "max-work-factor",
     .env = "CONSUL_SNAPSHOT_MAX_WORK_FACTOR",
     .file_key = "crypto.max_work_factor",
     .type = OptionType::integer,
     .default_value = "20",
     .help = "highest scrypt work factor a passphrase-encrypted backup may ask for; a backup "
             "asking for "
             "more is refused before any work (each step doubles the cost: 22 takes 4 GiB of "
             "memory and "
             "seconds, for every backup list and inspect read)",
     .scope = kScopeStorageCommands,
     .min = kMinScryptWorkFactor,
     .max = kMaxScryptWorkFactor},
};

}  // namespace csnap::config
