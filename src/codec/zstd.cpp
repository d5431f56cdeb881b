#include "codec/zstd.hpp"

#include <cassert>

#include <fmt/format.h>
#include <zstd.h>

namespace csnap::codec {

namespace {

Error zstd_error(std::string_view what, std::size_t code) {
  return Error(ErrorKind::corrupt, fmt::format("zstd: {}: {}", what, ZSTD_getErrorName(code)));
}

}  // namespace

struct ZstdCompressSink::Stream {
  ZSTD_CCtx* context = nullptr;
};

ZstdCompressSink::ZstdCompressSink(ByteSink& downstream, int level)
    : downstream_(&downstream),
      stream_(std::make_unique<Stream>()),
      out_buffer_(ZSTD_CStreamOutSize()) {
  stream_->context = ZSTD_createCCtx();
  if (stream_->context == nullptr) {
    failed_ = true;
    return;
  }
  ZSTD_CCtx_setParameter(stream_->context, ZSTD_c_compressionLevel, level);
  ZSTD_CCtx_setParameter(stream_->context, ZSTD_c_checksumFlag, 1);
}

ZstdCompressSink::~ZstdCompressSink() {
  ZSTD_freeCCtx(stream_->context);
}

Status ZstdCompressSink::compress(std::span<const std::byte> data, bool end) {
  if (failed_)
    return Error(ErrorKind::internal, "zstd: the compressor is unusable");
  ZSTD_inBuffer input{data.data(), data.size(), 0};
  while (true) {
    ZSTD_outBuffer output{out_buffer_.data(), out_buffer_.size(), 0};
    std::size_t remaining =
        ZSTD_compressStream2(stream_->context, &output, &input, end ? ZSTD_e_end : ZSTD_e_continue);
    if (ZSTD_isError(remaining)) {
      failed_ = true;
      return Error(ErrorKind::internal,
                   fmt::format("zstd: compressing: {}", ZSTD_getErrorName(remaining)));
    }
    if (output.pos > 0) {
      if (auto status = downstream_->write(std::span(out_buffer_).first(output.pos)); !status) {
        failed_ = true;
        return status;
      }
    }
    bool drained = end ? remaining == 0 : input.pos == input.size;
    if (drained)
      return {};
  }
}

Status ZstdCompressSink::write(std::span<const std::byte> data) {
  if (data.empty())
    return {};
  return compress(data, false);
}

Status ZstdCompressSink::finish() {
  CSNAP_TRY(compress({}, true));
  return downstream_->finish();
}

struct ZstdDecompressSource::Stream {
  ZSTD_DCtx* context = nullptr;
};

ZstdDecompressSource::ZstdDecompressSource(ByteSource& upstream)
    : upstream_(&upstream), stream_(std::make_unique<Stream>()), in_buffer_(ZSTD_DStreamInSize()) {
  stream_->context = ZSTD_createDCtx();
  if (stream_->context == nullptr)
    failed_ = true;
}

ZstdDecompressSource::~ZstdDecompressSource() {
  ZSTD_freeDCtx(stream_->context);
}

Result<std::size_t> ZstdDecompressSource::read(std::span<std::byte> buffer) {
  if (failed_)
    return Error(ErrorKind::internal, "zstd: the decompressor is unusable");
  if (done_ || buffer.empty())
    return std::size_t{0};
  ZSTD_outBuffer output{buffer.data(), buffer.size(), 0};
  while (output.pos == 0) {
    if (in_pos_ == in_size_ && !upstream_ended_) {
      auto count = upstream_->read(in_buffer_);
      if (!count) {
        failed_ = true;
        return std::move(count).error();
      }
      in_pos_ = 0;
      in_size_ = *count;
      total_in_ += *count;
      if (*count == 0)
        upstream_ended_ = true;
    }
    ZSTD_inBuffer input{in_buffer_.data(), in_size_, in_pos_};
    std::size_t before = input.pos;
    std::size_t hint = ZSTD_decompressStream(stream_->context, &output, &input);
    in_pos_ = input.pos;
    if (ZSTD_isError(hint)) {
      failed_ = true;
      return zstd_error(frame_open_ ? "damaged data" : "not a zstd frame (garbage)", hint);
    }
    if (hint == 0) {
      frame_open_ = false;
    } else if (input.pos > before || output.pos > 0) {
      frame_open_ = true;
    }
    if (output.pos == 0 && upstream_ended_ && in_pos_ == in_size_) {
      if (total_in_ == 0) {
        failed_ = true;
        return Error(ErrorKind::corrupt, "zstd: the stream is empty");
      }
      if (frame_open_) {
        failed_ = true;
        return Error(ErrorKind::corrupt, "zstd: truncated stream (it ends inside a frame)");
      }
      done_ = true;
      return std::size_t{0};
    }
  }
  return output.pos;
}

}  // namespace csnap::codec
