#pragma once
// A process-wide request to stop (SIGINT or SIGTERM to a command): long loops and every read and
// write of a local file ask for it, so that a signalled command ends through its normal error
// path and its cleanups run. The daemon has its own shutdown (cli/daemon.cpp) and sets none.

#include <string>

#include "util/result.hpp"

namespace csnap {

// Asks everything that checks to stop, naming why ("SIGTERM"). Async-signal-safe.
void request_stop(int signal_number);

// Whether a stop was requested.
bool stop_requested();

// "stopped by SIGTERM", or "" when no stop was requested.
std::string stop_reason();

// ErrorKind::cancelled naming the signal when a stop was requested; success otherwise.
Status check_stop();

}  // namespace csnap
