#pragma once
// Polling with a deadline, for the daemon's integration tests: nothing sleeps to synchronise.

#include <chrono>
#include <functional>
#include <thread>

namespace csnap::daemon::testing {

// Polls `condition` every `every` until it holds or `timeout` passes; its last answer.
inline bool eventually(std::chrono::milliseconds timeout, const std::function<bool()>& condition,
                       std::chrono::milliseconds every = std::chrono::milliseconds(50)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition())
      return true;
    std::this_thread::sleep_for(every);
  }
  return condition();
}

}  // namespace csnap::daemon::testing
