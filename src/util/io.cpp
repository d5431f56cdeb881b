#include "util/io.hpp"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

namespace csnap {

Result<std::size_t> MemorySource::read(std::span<std::byte> buffer) {
  std::size_t count = std::min(buffer.size(), data_.size() - offset_);
  if (count == 0)
    return count;  // an empty view's data() may be null, which memcpy may not be given
  std::memcpy(buffer.data(), data_.data() + offset_, count);
  offset_ += count;
  return count;
}

Result<std::span<const std::byte>> PeekSource::peek(std::size_t size) {
  std::byte buffer[4096];
  while (peeked_.size() < size) {
    auto want = std::min(sizeof buffer, size - peeked_.size());
    CSNAP_ASSIGN_OR_RETURN(std::size_t count, upstream_->read(std::span(buffer, want)));
    if (count == 0)
      break;
    peeked_.append(reinterpret_cast<const char*>(buffer), count);
  }
  return std::as_bytes(std::span(peeked_)).first(std::min(size, peeked_.size()));
}

Result<std::size_t> PeekSource::read(std::span<std::byte> buffer) {
  if (offset_ < peeked_.size()) {
    std::size_t count = std::min(buffer.size(), peeked_.size() - offset_);
    std::memcpy(buffer.data(), peeked_.data() + offset_, count);
    offset_ += count;
    return count;
  }
  return upstream_->read(buffer);
}

Result<std::string> read_all(ByteSource& source, std::uint64_t limit) {
  std::string out;
  std::byte buffer[64 * 1024];
  while (true) {
    CSNAP_ASSIGN_OR_RETURN(std::size_t count, source.read(buffer));
    if (count == 0)
      return out;
    if (count > limit - out.size())
      return Error(ErrorKind::corrupt, fmt::format("more than {} bytes", limit));
    out.append(reinterpret_cast<const char*>(buffer), count);
  }
}

}  // namespace csnap
