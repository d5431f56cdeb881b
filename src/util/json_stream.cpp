#include "util/json_stream.hpp"

#include <span>
#include <utility>

namespace csnap {

bool JsonSourceStream::fill() {
  if (ended_)
    return false;
  auto count = source_->read(std::as_writable_bytes(std::span(buffer_)));
  if (!count.ok()) {
    error_ = std::move(count).error();
    ended_ = true;
    return false;
  }
  if (*count == 0) {
    ended_ = true;
    return false;
  }
  position_ = 0;
  size_ = *count;
  return true;
}

}  // namespace csnap
