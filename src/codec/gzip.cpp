#include "codec/gzip.hpp"

#include <algorithm>
#include <climits>

#include <fmt/format.h>
// With ZLIB_CONST, zlib declares `next_in`, which it only reads, as `const Bytef*`.
#define ZLIB_CONST
#include <zlib.h>

namespace csnap::codec {

namespace {

constexpr std::size_t kBufferSize = std::size_t{64} * 1024;

Bytef* as_bytef(std::byte* data) {
  return reinterpret_cast<Bytef*>(data);
}
const Bytef* as_bytef(const std::byte* data) {
  return reinterpret_cast<const Bytef*>(data);
}

std::string zlib_message(const z_stream& stream, int code) {
  if (stream.msg != nullptr)
    return stream.msg;
  return fmt::format("zlib error {}", code);
}

}  // namespace

struct GzipCompressSink::Stream {
  z_stream z{};
  bool initialized = false;
};

GzipCompressSink::GzipCompressSink(ByteSink& downstream, int level)
    : downstream_(&downstream), stream_(std::make_unique<Stream>()), out_buffer_(kBufferSize) {
  // 15 + 16: the largest window, with a gzip header and trailer.
  if (deflateInit2(&stream_->z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    failed_ = true;
    return;
  }
  stream_->initialized = true;
}

GzipCompressSink::~GzipCompressSink() {
  if (stream_->initialized)
    deflateEnd(&stream_->z);
}

Status GzipCompressSink::deflate_some(std::span<const std::byte> data, bool end) {
  if (failed_)
    return Error(ErrorKind::internal, "gzip: the compressor is unusable");
  z_stream& z = stream_->z;
  std::size_t offset = 0;
  while (true) {
    // avail_in is 32 bits: feed large writes in slices.
    std::size_t slice = std::min<std::size_t>(data.size() - offset, UINT_MAX / 2);
    z.next_in = as_bytef(data.data() + offset);
    z.avail_in = static_cast<uInt>(slice);
    bool last_slice = offset + slice == data.size();
    int flush = end && last_slice ? Z_FINISH : Z_NO_FLUSH;
    int code = Z_OK;
    do {
      z.next_out = as_bytef(out_buffer_.data());
      z.avail_out = static_cast<uInt>(out_buffer_.size());
      code = deflate(&z, flush);
      if (code == Z_STREAM_ERROR) {
        failed_ = true;
        return Error(ErrorKind::internal, "gzip: compressing: " + zlib_message(z, code));
      }
      std::size_t produced = out_buffer_.size() - z.avail_out;
      if (produced > 0) {
        if (auto status = downstream_->write(std::span(out_buffer_).first(produced)); !status) {
          failed_ = true;
          return status;
        }
      }
    } while (z.avail_out == 0 || (flush == Z_FINISH && code != Z_STREAM_END));
    offset += slice;
    if (last_slice)
      return {};
  }
}

Status GzipCompressSink::write(std::span<const std::byte> data) {
  if (data.empty())
    return {};
  return deflate_some(data, false);
}

Status GzipCompressSink::finish() {
  CSNAP_TRY(deflate_some({}, true));
  return downstream_->finish();
}

struct GzipDecompressSource::Stream {
  z_stream z{};
  bool initialized = false;
};

GzipDecompressSource::GzipDecompressSource(ByteSource& upstream)
    : upstream_(&upstream), stream_(std::make_unique<Stream>()), in_buffer_(kBufferSize) {
  // 15 + 16: any window size, gzip wrapping only.
  if (inflateInit2(&stream_->z, 15 + 16) != Z_OK) {
    failed_ = true;
    return;
  }
  stream_->initialized = true;
}

GzipDecompressSource::~GzipDecompressSource() {
  if (stream_->initialized)
    inflateEnd(&stream_->z);
}

Error GzipDecompressSource::fail(ErrorKind kind, std::string message) {
  failed_ = true;
  return Error(kind, std::move(message));
}

Status GzipDecompressSource::fill() {
  auto count = upstream_->read(in_buffer_);
  if (!count) {
    failed_ = true;
    return std::move(count).error();
  }
  stream_->z.next_in = as_bytef(in_buffer_.data());
  stream_->z.avail_in = static_cast<uInt>(*count);
  total_in_ += *count;
  if (*count == 0)
    upstream_ended_ = true;
  return {};
}

Result<std::size_t> GzipDecompressSource::read(std::span<std::byte> buffer) {
  if (failed_)
    return Error(ErrorKind::internal, "gzip: the decompressor is unusable");
  if (done_ || buffer.empty())
    return std::size_t{0};
  z_stream& z = stream_->z;
  std::size_t capacity = std::min<std::size_t>(buffer.size(), UINT_MAX / 2);
  z.next_out = as_bytef(buffer.data());
  z.avail_out = static_cast<uInt>(capacity);
  while (z.avail_out == capacity) {
    if (z.avail_in == 0 && !upstream_ended_)
      CSNAP_TRY(fill());
    if (z.avail_in == 0 && upstream_ended_) {
      // Nothing more will come: flush what inflate still holds, then judge where we stopped.
      int code = inflate(&z, Z_SYNC_FLUSH);
      if (z.avail_out != capacity)
        break;
      if (code == Z_STREAM_END)
        member_open_ = false;
      if (total_in_ == 0)
        return fail(ErrorKind::corrupt, "gzip: the stream is empty");
      if (member_open_) {
        return fail(ErrorKind::corrupt, "gzip: truncated stream (it ends inside a member)");
      }
      done_ = true;
      return std::size_t{0};
    }
    if (!member_open_) {
      // A new member must start with the gzip magic; anything else is trailing garbage.
      if (z.avail_in < 2 && !upstream_ended_) {
        // Rare: a read boundary splits the magic. Keep the byte and read more.
        std::byte first = *reinterpret_cast<const std::byte*>(z.next_in);
        in_buffer_[0] = first;
        auto count = upstream_->read(std::span(in_buffer_).subspan(1));
        if (!count) {
          failed_ = true;
          return std::move(count).error();
        }
        z.next_in = as_bytef(in_buffer_.data());
        z.avail_in = static_cast<uInt>(1 + *count);
        total_in_ += *count;
        if (*count == 0)
          upstream_ended_ = true;
      }
      if (z.avail_in < 2 || z.next_in[0] != 0x1f || z.next_in[1] != 0x8b) {
        return fail(ErrorKind::corrupt, total_in_ == z.avail_in
                                            ? "gzip: not gzip data (bad magic)"
                                            : "gzip: garbage after the end of the compressed data");
      }
      if (inflateReset(&z) != Z_OK)
        return fail(ErrorKind::internal, "gzip: inflateReset failed");
      member_open_ = true;
    }
    int code = inflate(&z, Z_NO_FLUSH);
    switch (code) {
      case Z_OK:
      case Z_BUF_ERROR:
        break;
      case Z_STREAM_END:
        member_open_ = false;
        break;
      case Z_NEED_DICT:
        return fail(ErrorKind::corrupt, "gzip: damaged data (asks for a preset dictionary)");
      case Z_DATA_ERROR:
        return fail(ErrorKind::corrupt, "gzip: damaged data: " + zlib_message(z, code));
      case Z_MEM_ERROR:
        return fail(ErrorKind::internal, "gzip: out of memory");
      default:
        return fail(ErrorKind::internal, "gzip: " + zlib_message(z, code));
    }
  }
  return capacity - z.avail_out;
}

}  // namespace csnap::codec
