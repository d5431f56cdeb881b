#pragma once
// The checks of option values whose syntax belongs to the module that reads them: each is that
// module's own parser, run when the configuration is loaded (config::ResolveInput::checks), so a
// bad value is a configuration error (exit 2) before any work starts.

#include <vector>

#include "config/options.hpp"

namespace csnap::cli {

std::vector<config::ValueCheck> option_checks();

}  // namespace csnap::cli
