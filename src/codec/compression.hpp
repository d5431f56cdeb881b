#pragma once
// Choosing a compression: by name for writing (`--compression`), by content for reading.

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "util/io.hpp"

namespace csnap::codec {

enum class Compression { none, zstd, gzip };

std::string_view to_string(Compression compression);
// "zstd", "gzip" or "none".
std::optional<Compression> parse_compression(std::string_view name);
// The file name suffix a compressed tar gets: ".tar.zst", ".tar.gz", ".tar".
std::string_view tar_suffix(Compression compression);

// How many leading bytes `detect_compression` looks at.
inline constexpr std::size_t kDetectBytes = 4;
// zstd or gzip when `first_bytes` start with their magic, none otherwise.
Compression detect_compression(std::span<const std::byte> first_bytes);

// A compressor onto `downstream` (a pass-through for `none`); its `finish` finishes `downstream`.
std::unique_ptr<ByteSink> make_compress_sink(Compression compression, ByteSink& downstream);

// Reads `upstream` decompressed, choosing the decompressor by the first bytes of the stream.
class DecompressSource final : public ByteSource {
 public:
  // Peeks at the first bytes of `upstream`, which must outlive the returned source.
  static Result<DecompressSource> open(ByteSource& upstream);
  DecompressSource(DecompressSource&&) noexcept;
  DecompressSource& operator=(DecompressSource&&) noexcept;
  ~DecompressSource() override;

  Compression compression() const { return compression_; }
  Result<std::size_t> read(std::span<std::byte> buffer) override;

 private:
  class Replay;
  DecompressSource() = default;

  Compression compression_ = Compression::none;
  std::unique_ptr<Replay> replay_;
  std::unique_ptr<ByteSource> decoder_;
};

}  // namespace csnap::codec
