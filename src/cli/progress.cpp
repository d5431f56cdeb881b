#include "cli/progress.hpp"

#include <cstdio>

#include <fmt/format.h>
#include <unistd.h>

#include "cli/table.hpp"
#include "util/log.hpp"

namespace csnap::cli {

Progress::Progress(std::string what, std::uint64_t total_entries)
    : what_(std::move(what)),
      total_(total_entries),
      enabled_(::isatty(STDERR_FILENO) != 0),
      started_(std::chrono::steady_clock::now()),
      last_draw_(started_) {}

Progress::~Progress() {
  if (drawn_)
    draw(true);
}

void Progress::update(std::uint64_t entries, std::uint64_t bytes) {
  entries_ = entries;
  bytes_ = bytes;
  if (!enabled_)
    return;
  auto now = std::chrono::steady_clock::now();
  // Nothing for quick work; then at most five times a second.
  if (now - started_ < std::chrono::milliseconds(500) ||
      now - last_draw_ < std::chrono::milliseconds(200)) {
    return;
  }
  last_draw_ = now;
  draw(false);
}

std::function<void(std::uint64_t, std::uint64_t)> Progress::callback() {
  return [this](std::uint64_t entries, std::uint64_t bytes) { update(entries, bytes); };
}

void Progress::draw(bool final) {
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  double rate = seconds > 0 ? static_cast<double>(entries_) / seconds : 0;
  std::string line = fmt::format("{}: {} entries, {}, {:.0f} entries/s", what_, entries_,
                                 human_bytes(bytes_), rate);
  if (total_ > 0) {
    double share = static_cast<double>(entries_) / static_cast<double>(total_);
    line += fmt::format(" [{:3.0f}%]", 100 * share);
    if (!final && rate > 0 && entries_ < total_) {
      line += fmt::format(" ETA {:.0f}s", static_cast<double>(total_ - entries_) / rate);
    }
  }
  std::fprintf(stderr, "\r\033[K%s%s", line.c_str(), final ? "\n" : "");
  std::fflush(stderr);
  drawn_ = true;
}

}  // namespace csnap::cli
