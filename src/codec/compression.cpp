#include "codec/compression.hpp"

#include <algorithm>
#include <array>
#include <cstring>

#include "codec/gzip.hpp"
#include "codec/zstd.hpp"

namespace csnap::codec {

std::string_view to_string(Compression compression) {
  switch (compression) {
    case Compression::none:
      return "none";
    case Compression::zstd:
      return "zstd";
    case Compression::gzip:
      return "gzip";
  }
  return "unknown";
}

std::optional<Compression> parse_compression(std::string_view name) {
  if (name == "zstd")
    return Compression::zstd;
  if (name == "gzip")
    return Compression::gzip;
  if (name == "none")
    return Compression::none;
  return std::nullopt;
}

std::string_view tar_suffix(Compression compression) {
  switch (compression) {
    case Compression::none:
      return ".tar";
    case Compression::zstd:
      return ".tar.zst";
    case Compression::gzip:
      return ".tar.gz";
  }
  return ".tar";
}

Compression detect_compression(std::span<const std::byte> first_bytes) {
  auto starts_with = [&](std::initializer_list<unsigned char> magic) {
    if (first_bytes.size() < magic.size())
      return false;
    std::size_t i = 0;
    for (unsigned char byte : magic) {
      if (first_bytes[i++] != std::byte{byte})
        return false;
    }
    return true;
  };
  if (starts_with({0x28, 0xb5, 0x2f, 0xfd}))
    return Compression::zstd;
  if (starts_with({0x1f, 0x8b}))
    return Compression::gzip;
  return Compression::none;
}

namespace {

class PassThroughSink final : public ByteSink {
 public:
  explicit PassThroughSink(ByteSink& downstream) : downstream_(&downstream) {}
  using ByteSink::write;
  Status write(std::span<const std::byte> data) override { return downstream_->write(data); }
  Status finish() override { return downstream_->finish(); }

 private:
  ByteSink* downstream_;
};

}  // namespace

std::unique_ptr<ByteSink> make_compress_sink(Compression compression, ByteSink& downstream) {
  switch (compression) {
    case Compression::zstd:
      return std::make_unique<ZstdCompressSink>(downstream);
    case Compression::gzip:
      return std::make_unique<GzipCompressSink>(downstream);
    case Compression::none:
      break;
  }
  return std::make_unique<PassThroughSink>(downstream);
}

// Gives back the peeked bytes, then the rest of the upstream.
class DecompressSource::Replay final : public ByteSource {
 public:
  explicit Replay(ByteSource& upstream) : upstream_(&upstream) {}

  Status peek() {
    while (peeked_size_ < kDetectBytes) {
      CSNAP_ASSIGN_OR_RETURN(std::size_t count, upstream_->read(std::span(peeked_).subspan(
                                                    peeked_size_, kDetectBytes - peeked_size_)));
      if (count == 0)
        break;
      peeked_size_ += count;
    }
    return {};
  }
  std::span<const std::byte> peeked() const { return std::span(peeked_).first(peeked_size_); }

  Result<std::size_t> read(std::span<std::byte> buffer) override {
    if (offset_ < peeked_size_) {
      std::size_t count = std::min(buffer.size(), peeked_size_ - offset_);
      std::memcpy(buffer.data(), peeked_.data() + offset_, count);
      offset_ += count;
      return count;
    }
    return upstream_->read(buffer);
  }

 private:
  ByteSource* upstream_;
  std::array<std::byte, kDetectBytes> peeked_ = {};
  std::size_t peeked_size_ = 0;
  std::size_t offset_ = 0;
};

DecompressSource::~DecompressSource() = default;
DecompressSource::DecompressSource(DecompressSource&&) noexcept = default;
DecompressSource& DecompressSource::operator=(DecompressSource&&) noexcept = default;

Result<DecompressSource> DecompressSource::open(ByteSource& upstream) {
  DecompressSource source;
  source.replay_ = std::make_unique<Replay>(upstream);
  CSNAP_TRY(source.replay_->peek());
  source.compression_ = detect_compression(source.replay_->peeked());
  switch (source.compression_) {
    case Compression::zstd:
      source.decoder_ = std::make_unique<ZstdDecompressSource>(*source.replay_);
      break;
    case Compression::gzip:
      source.decoder_ = std::make_unique<GzipDecompressSource>(*source.replay_);
      break;
    case Compression::none:
      break;
  }
  return source;
}

Result<std::size_t> DecompressSource::read(std::span<std::byte> buffer) {
  if (decoder_)
    return decoder_->read(buffer);
  return replay_->read(buffer);
}

}  // namespace csnap::codec
