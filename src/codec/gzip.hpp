#pragma once
// gzip (RFC 1952) as stream filters, through zlib.

#include <memory>
#include <vector>

#include "util/io.hpp"

namespace csnap::codec {

// Compresses everything written into one gzip member on `downstream`; `finish` writes the
// trailer and finishes `downstream`.
class GzipCompressSink final : public ByteSink {
 public:
  explicit GzipCompressSink(ByteSink& downstream, int level = 6);
  GzipCompressSink(const GzipCompressSink&) = delete;
  GzipCompressSink& operator=(const GzipCompressSink&) = delete;
  ~GzipCompressSink() override;

  using ByteSink::write;
  Status write(std::span<const std::byte> data) override;
  Status finish() override;

 private:
  struct Stream;
  Status deflate_some(std::span<const std::byte> data, bool end);

  ByteSink* downstream_;
  std::unique_ptr<Stream> stream_;
  std::vector<std::byte> out_buffer_;
  bool failed_ = false;
};

// Decompresses one or more concatenated gzip members from `upstream`. Anything else after a
// member, damaged data (CRC-32 or length mismatch) and a stream that ends inside a member are
// ErrorKind::corrupt errors starting with "gzip: ".
class GzipDecompressSource final : public ByteSource {
 public:
  explicit GzipDecompressSource(ByteSource& upstream);
  GzipDecompressSource(const GzipDecompressSource&) = delete;
  GzipDecompressSource& operator=(const GzipDecompressSource&) = delete;
  ~GzipDecompressSource() override;

  Result<std::size_t> read(std::span<std::byte> buffer) override;

 private:
  struct Stream;
  Status fill();
  Error fail(ErrorKind kind, std::string message);

  ByteSource* upstream_;
  std::unique_ptr<Stream> stream_;
  std::vector<std::byte> in_buffer_;
  std::uint64_t total_in_ = 0;
  bool upstream_ended_ = false;
  bool member_open_ = false;
  bool done_ = false;
  bool failed_ = false;
};

}  // namespace csnap::codec
