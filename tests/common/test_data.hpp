#pragma once
// Small file and data helpers shared by the tests.

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <string_view>

#include "util/io.hpp"

namespace csnap::test_common {

// The whole content of `path` ("" when it cannot be read).
inline std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Writes `data` to `path`, replacing it.
inline void spit(const std::filesystem::path& path, std::string_view data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
}

// `size` pseudo-random bytes, the same for the same `seed`.
inline std::string random_bytes(std::size_t size, unsigned seed) {
  std::mt19937 generator(seed);
  std::string out(size, '\0');
  for (auto& c : out)
    c = static_cast<char>(generator());
  return out;
}

// A source that hands out at most `step` bytes per read: exercises buffer boundaries.
class TrickleSource final : public ByteSource {
 public:
  TrickleSource(std::string_view data, std::size_t step) : data_(data), step_(step) {}
  Result<std::size_t> read(std::span<std::byte> buffer) override {
    std::size_t count = std::min({buffer.size(), step_, data_.size() - offset_});
    std::memcpy(buffer.data(), data_.data() + offset_, count);
    offset_ += count;
    return count;
  }

 private:
  std::string_view data_;
  std::size_t step_;
  std::size_t offset_ = 0;
};

}  // namespace csnap::test_common
