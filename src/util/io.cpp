#include "util/io.hpp"

#include <algorithm>
#include <cstring>

namespace csnap {

Result<std::size_t> MemorySource::read(std::span<std::byte> buffer) {
  std::size_t count = std::min(buffer.size(), data_.size() - offset_);
  std::memcpy(buffer.data(), data_.data() + offset_, count);
  offset_ += count;
  return count;
}

Result<std::string> read_all(ByteSource& source) {
  std::string out;
  std::byte buffer[64 * 1024];
  while (true) {
    CSNAP_ASSIGN_OR_RETURN(std::size_t count, source.read(buffer));
    if (count == 0)
      return out;
    out.append(reinterpret_cast<const char*>(buffer), count);
  }
}

}  // namespace csnap
