#pragma once
// Helpers shared by the fuzz targets: draining a source with an output cap, and one private
// spool folder per process for the readers that spool to disk.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "util/io.hpp"

namespace csnap::fuzz {

// No target reads more than this from a decoder, so a decompression bomb cannot eat memory.
inline constexpr std::size_t kMaxOutput = std::size_t{64} * 1024 * 1024;

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Reads `source` until its end, an error, or `cap` bytes; the bytes are thrown away.
inline void drain(ByteSource& source, std::size_t cap = kMaxOutput) {
  std::vector<std::byte> buffer(std::size_t{64} * 1024);
  std::size_t total = 0;
  while (total < cap) {
    auto got = source.read(buffer);
    if (!got || *got == 0)
      return;
    total += *got;
  }
}

// A folder made at first use and removed with everything in it at exit. Each input's files are
// removed by the code under test when its objects go away, so nothing carries over between inputs.
class SpoolDir {
 public:
  SpoolDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "csnap-fuzz-XXXXXX").string();
    if (char* made = ::mkdtemp(pattern.data()))
      path_ = made;
    else
      std::abort();
  }
  SpoolDir(const SpoolDir&) = delete;
  SpoolDir& operator=(const SpoolDir&) = delete;
  ~SpoolDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline const std::filesystem::path& spool_dir() {
  static SpoolDir dir;
  return dir.path();
}

}  // namespace csnap::fuzz
