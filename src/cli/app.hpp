#pragma once

namespace csnap::cli {

// Parses the command line, resolves the configuration and runs the command; returns the exit
// code.
int run(int argc, char** argv);

}  // namespace csnap::cli
