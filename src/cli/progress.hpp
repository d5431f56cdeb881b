#pragma once
// A one-line progress display on stderr for long backups and restores: entries, bytes, rate and,
// when the total is known, the share done and the time left. Only on a terminal; a no-op
// otherwise, so that logs and pipes stay clean.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace csnap::cli {

class Progress {
 public:
  // `what` names the work ("backup", "restore"); `total_entries` is 0 when unknown.
  explicit Progress(std::string what, std::uint64_t total_entries = 0);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // Reports that `entries` entries and `bytes` bytes are done so far (cumulative).
  void update(std::uint64_t entries, std::uint64_t bytes);
  // A callback for the ops layer.
  std::function<void(std::uint64_t, std::uint64_t)> callback();

 private:
  void draw(bool final);

  std::string what_;
  std::uint64_t total_ = 0;
  std::uint64_t entries_ = 0;
  std::uint64_t bytes_ = 0;
  bool enabled_ = false;
  std::atomic<bool> drawn_ = false;
  std::chrono::steady_clock::time_point started_;
  std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace csnap::cli
