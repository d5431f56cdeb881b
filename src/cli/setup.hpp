#pragma once
// Turns the resolved configuration into the objects commands work with.

#include <memory>

#include "config/options.hpp"
#include "consul/client.hpp"
#include "storage/backend.hpp"

namespace csnap::cli {

consul::Settings consul_settings(const config::Config& config);
Result<std::unique_ptr<consul::Client>> connect_consul(const config::Config& config);
// The configured storage: the local directory (`--local-dir`) for now.
std::unique_ptr<storage::Backend> open_storage(const config::Config& config);

}  // namespace csnap::cli
