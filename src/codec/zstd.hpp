#pragma once
// Zstandard as stream filters. Frames carry a content checksum, so damage is detected by the
// decompressor even before the archive's own SHA-256 checks.

#include <memory>
#include <vector>

#include "util/io.hpp"

namespace csnap::codec {

// Compresses everything written into one zstd frame on `downstream`; `finish` ends the frame
// and finishes `downstream`.
class ZstdCompressSink final : public ByteSink {
 public:
  explicit ZstdCompressSink(ByteSink& downstream, int level = 3);
  ZstdCompressSink(const ZstdCompressSink&) = delete;
  ZstdCompressSink& operator=(const ZstdCompressSink&) = delete;
  ~ZstdCompressSink() override;

  using ByteSink::write;
  Status write(std::span<const std::byte> data) override;
  Status finish() override;

 private:
  struct Stream;
  Status compress(std::span<const std::byte> data, bool end);

  ByteSink* downstream_;
  std::unique_ptr<Stream> stream_;
  std::vector<std::byte> out_buffer_;
  bool failed_ = false;
};

// Decompresses one or more concatenated zstd frames from `upstream`. Garbage and a stream that
// ends inside a frame are ErrorKind::corrupt errors starting with "zstd: ".
class ZstdDecompressSource final : public ByteSource {
 public:
  explicit ZstdDecompressSource(ByteSource& upstream);
  ZstdDecompressSource(const ZstdDecompressSource&) = delete;
  ZstdDecompressSource& operator=(const ZstdDecompressSource&) = delete;
  ~ZstdDecompressSource() override;

  Result<std::size_t> read(std::span<std::byte> buffer) override;

 private:
  struct Stream;
  ByteSource* upstream_;
  std::unique_ptr<Stream> stream_;
  std::vector<std::byte> in_buffer_;
  std::size_t in_pos_ = 0;
  std::size_t in_size_ = 0;
  std::uint64_t total_in_ = 0;
  bool upstream_ended_ = false;
  bool frame_open_ = false;
  bool done_ = false;
  bool failed_ = false;
};

}  // namespace csnap::codec
