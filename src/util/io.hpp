#pragma once
// Byte streams. A backup flows through a chain of sinks (archive -> compressor -> encryptor ->
// storage), a restore through a chain of sources; every stage holds a bounded buffer.

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace csnap {

class ByteSink {
 public:
  virtual ~ByteSink() = default;
  // Appends `data`; on error the sink is unusable.
  virtual Status write(std::span<const std::byte> data) = 0;
  // Flushes everything written; `write` must not be called afterwards.
  virtual Status finish() = 0;

  Status write(std::string_view text) { return write(std::as_bytes(std::span(text))); }
};

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Reads up to `buffer.size()` bytes; 0 means the end of the stream.
  virtual Result<std::size_t> read(std::span<std::byte> buffer) = 0;
};

// A sink that appends to a string: for tests and small members.
class StringSink final : public ByteSink {
 public:
  Status write(std::span<const std::byte> data) override {
    text_.append(reinterpret_cast<const char*>(data.data()), data.size());
    return {};
  }
  using ByteSink::write;
  Status finish() override { return {}; }
  const std::string& text() const { return text_; }
  std::string take() { return std::move(text_); }

 private:
  std::string text_;
};

// A source over bytes it does not own.
class MemorySource final : public ByteSource {
 public:
  explicit MemorySource(std::string_view data) : data_(data) {}
  Result<std::size_t> read(std::span<std::byte> buffer) override;

 private:
  std::string_view data_;
  std::size_t offset_ = 0;
};

// Lets a reader look at the first bytes of `upstream` and then read the whole stream from its
// start, those bytes included.
class PeekSource final : public ByteSource {
 public:
  explicit PeekSource(ByteSource& upstream) : upstream_(&upstream) {}
  // Up to `size` first bytes (fewer only when the stream is shorter); call before any read.
  Result<std::span<const std::byte>> peek(std::size_t size);
  Result<std::size_t> read(std::span<std::byte> buffer) override;

 private:
  ByteSource* upstream_;
  std::string peeked_;
  std::size_t offset_ = 0;
};

// Reads `source` to its end into a string (only for small inputs); more than `limit` bytes is
// ErrorKind::corrupt.
Result<std::string> read_all(ByteSource& source, std::uint64_t limit = ~std::uint64_t{0});

}  // namespace csnap
