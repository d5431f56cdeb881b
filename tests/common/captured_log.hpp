#pragma once
// Captures what csnap::log writes while it lives (at `level` and above), then restores stderr,
// the text format and the info level.

#include <cstdio>
#include <string>

#include "util/log.hpp"

namespace csnap::test_common {

class CapturedLog {
 public:
  explicit CapturedLog(log::Level level = log::Level::debug) : file_(std::tmpfile()) {
    log::set_output(file_);
    log::set_level(level);
  }
  ~CapturedLog() {
    log::set_output(stderr);
    log::set_format(log::Format::text);
    log::set_level(log::Level::info);
    std::fclose(file_);
  }
  CapturedLog(const CapturedLog&) = delete;
  CapturedLog& operator=(const CapturedLog&) = delete;

  std::string text() {
    std::fflush(file_);
    std::rewind(file_);
    std::string out;
    char buffer[4096];
    while (auto count = std::fread(buffer, 1, sizeof buffer, file_))
      out.append(buffer, count);
    return out;
  }

 private:
  std::FILE* file_;
};

}  // namespace csnap::test_common
