#pragma once
// Turns the resolved configuration into the objects commands work with.

#include <memory>
#include <optional>
#include <set>
#include <string>

#include "config/options.hpp"
#include "consul/client.hpp"
#include "ops/backup.hpp"
#include "ops/encryption.hpp"
#include "ops/retention.hpp"
#include "storage/backend.hpp"

namespace csnap::cli {

// The typed option constants, as every command reads them: `config.get(option::kLockTtl)`.
namespace option = config::option;

consul::Settings consul_settings(const config::Config& config);
Result<std::unique_ptr<consul::Client>> connect_consul(const config::Config& config);
// The configured storage: --storage, else S3BUCKET, else --local-dir.
Result<std::unique_ptr<storage::Backend>> open_storage(const config::Config& config);
// Passphrase, recipients and identities; files are read and keys parsed here, so a bad one is a
// configuration error before any work starts.
Result<ops::EncryptionSettings> encryption_settings(const config::Config& config);
// Which kinds --only selects (all when unset).
Result<std::set<std::string>> selected_kinds(const config::Config& config);
// The retention policy of --keep-last, --keep-within and --keep-hourly/daily/weekly/monthly;
// nothing when none is set (keep every backup). Counts below 1 are refused by the option table.
Result<std::optional<ops::RetentionPolicy>> retention_policy(const config::Config& config);

}  // namespace csnap::cli
