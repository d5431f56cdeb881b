#include "util/stop.hpp"

#include <atomic>
#include <csignal>
#include <cstring>

#include <fmt/format.h>

namespace csnap {
namespace {

std::atomic<int> requested_signal{0};

}  // namespace

void request_stop(int signal_number) {
  requested_signal.store(signal_number == 0 ? SIGTERM : signal_number);
}

bool stop_requested() {
  return requested_signal.load(std::memory_order_relaxed) != 0;
}

std::string stop_reason() {
  int signal_number = requested_signal.load();
  if (signal_number == 0)
    return {};
  const char* name = signal_number == SIGINT    ? "SIGINT"
                     : signal_number == SIGTERM ? "SIGTERM"
                                                : nullptr;
  return name != nullptr ? fmt::format("stopped by {}", name)
                         : fmt::format("stopped by signal {}", signal_number);
}

Status check_stop() {
  if (!stop_requested())
    return {};
  return Error(ErrorKind::cancelled, stop_reason());
}

}  // namespace csnap
