#pragma once
// A rapidjson input stream over a ByteSource, for SAX parsing of documents too large to hold
// (Consul's KV listing, a backup's kv.json). rapidjson's stream concept needs no rapidjson
// header, so the adapter lives here and the modules that parse include rapidjson themselves.

#include <array>
#include <cstddef>
#include <optional>

#include "util/io.hpp"
#include "util/result.hpp"

namespace csnap {

// Reads `source` through a bounded buffer. A read error ends the stream early (Peek and Take
// return '\0', as at the end) and is kept in error() for the caller, who must check it before
// trusting what the parser made of the bytes. Not for in-situ parsing (the Put* members).
class JsonSourceStream {
 public:
  using Ch = char;
  explicit JsonSourceStream(ByteSource& source) : source_(&source) {}

  // The names are rapidjson's stream concept (.clang-tidy exempts them from the naming rule).
  Ch Peek() {
    if (position_ == size_ && !fill())
      return '\0';
    return buffer_[position_];
  }
  Ch Take() {
    if (position_ == size_ && !fill())
      return '\0';
    ++consumed_;
    return buffer_[position_++];
  }
  // The bytes taken so far.
  std::size_t Tell() const { return consumed_; }

  // Writing is not supported (rapidjson's concept asks for these; only in-situ parsing calls).
  Ch* PutBegin() { return nullptr; }
  void Put(Ch /*c*/) {}
  void Flush() {}
  std::size_t PutEnd(Ch* /*begin*/) { return 0; }

  // The read error that ended the stream, if one did.
  std::optional<Error>& error() { return error_; }

 private:
  // Refills the buffer; false at the end of `source_` or after a read error.
  bool fill();

  ByteSource* source_;
  std::array<char, std::size_t{64} * 1024> buffer_{};
  std::size_t position_ = 0;
  std::size_t size_ = 0;
  std::size_t consumed_ = 0;
  bool ended_ = false;
  std::optional<Error> error_;
};

}  // namespace csnap
