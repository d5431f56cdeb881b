#include "codec/compression.hpp"

#include <algorithm>
#include <cstring>
#include <random>
#include <string>

#include <gtest/gtest.h>

#include "codec/gzip.hpp"
#include "codec/zstd.hpp"
#include "test_data.hpp"

namespace csnap::codec {
namespace {

using test_common::random_bytes;

// Compressible but not trivial: lines of JSON-ish text with random numbers.
std::string text_bytes(std::size_t size) {
  std::mt19937 generator(7);
  std::string out;
  while (out.size() < size)
    out += R"({"key": "app/)" + std::to_string(generator() % 1000) + "\"}\n";
  out.resize(size);
  return out;
}

using test_common::TrickleSource;

std::string compress(Compression compression, std::string_view data, std::size_t chunk = 1000) {
  StringSink out;
  auto sink = make_compress_sink(compression, out);
  for (std::size_t offset = 0; offset < data.size(); offset += chunk) {
    EXPECT_TRUE(sink->write(data.substr(offset, chunk)));
  }
  EXPECT_TRUE(sink->finish());
  return out.take();
}

Result<std::string> decompress(std::string_view data, std::size_t step = 1 << 20) {
  TrickleSource upstream(data, step);
  CSNAP_ASSIGN_OR_RETURN(DecompressSource source, DecompressSource::open(upstream));
  return read_all(source);
}

class RoundTripTest : public ::testing::TestWithParam<Compression> {};

TEST_P(RoundTripTest, RoundTripsVariousSizes) {
  for (std::size_t size : {std::size_t{0}, std::size_t{1}, std::size_t{4096}, std::size_t{524288},
                           std::size_t{3000001}}) {
    std::string data = size % 2 ? random_bytes(size, 1) : text_bytes(size);
    std::string compressed = compress(GetParam(), data, 70000);
    auto back = decompress(compressed);
    ASSERT_TRUE(back) << back.error().message();
    EXPECT_EQ(*back, data) << "size " << size;
    // Tiny upstream reads cross every internal boundary.
    if (size <= 4096) {
      auto trickled = decompress(compressed, 1);
      ASSERT_TRUE(trickled) << trickled.error().message();
      EXPECT_EQ(*trickled, data);
    }
  }
}

TEST_P(RoundTripTest, DetectsItsOwnOutput) {
  std::string compressed = compress(GetParam(), "hello");
  EXPECT_EQ(detect_compression(std::as_bytes(std::span(compressed))), GetParam());
}

INSTANTIATE_TEST_SUITE_P(AllCompressions, RoundTripTest,
                         ::testing::Values(Compression::zstd, Compression::gzip, Compression::none),
                         [](const auto& param_info) {
                           return std::string(to_string(param_info.param));
                         });

class DamageTest : public ::testing::TestWithParam<Compression> {};

TEST_P(DamageTest, TruncationIsCorrupt) {
  std::string data = random_bytes(200000, 2);
  std::string compressed = compress(GetParam(), data);
  // Below 4 bytes the magic is incomplete: such input is not detected as compressed at all.
  for (std::size_t cut : {std::size_t{4}, std::size_t{5}, std::size_t{20}, compressed.size() / 2,
                          compressed.size() - 5, compressed.size() - 1}) {
    auto back = decompress(std::string_view(compressed).substr(0, cut));
    ASSERT_FALSE(back) << "cut at " << cut;
    EXPECT_EQ(back.error().kind(), ErrorKind::corrupt) << back.error().message();
    EXPECT_NE(back.error().message().find(to_string(GetParam())), std::string::npos)
        << back.error().message();
  }
}

TEST_P(DamageTest, FlippedBytesAreCorrupt) {
  std::string data = text_bytes(300000);
  std::string compressed = compress(GetParam(), data);
  // Skip the first 10 bytes: gzip's header (mtime, OS) is not covered by its checksum.
  for (std::size_t at : {std::size_t{12}, compressed.size() / 3, compressed.size() / 2,
                         compressed.size() - 6, compressed.size() - 1}) {
    std::string damaged = compressed;
    damaged[at] = static_cast<char>(damaged[at] ^ 0x5a);
    auto back = decompress(damaged);
    ASSERT_FALSE(back) << "flip at " << at;
    EXPECT_EQ(back.error().kind(), ErrorKind::corrupt) << back.error().message();
  }
}

TEST_P(DamageTest, TrailingGarbageIsCorrupt) {
  std::string compressed = compress(GetParam(), "some data") + "garbage!";
  auto back = decompress(compressed);
  ASSERT_FALSE(back);
  EXPECT_EQ(back.error().kind(), ErrorKind::corrupt);
  EXPECT_NE(back.error().message().find("garbage"), std::string::npos) << back.error().message();
}

TEST_P(DamageTest, ConcatenatedStreamsAreRead) {
  std::string compressed = compress(GetParam(), "first,") + compress(GetParam(), "second");
  auto back = decompress(compressed, 3);
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(*back, "first,second");
}

INSTANTIATE_TEST_SUITE_P(Compressed, DamageTest,
                         ::testing::Values(Compression::zstd, Compression::gzip),
                         [](const auto& param_info) {
                           return std::string(to_string(param_info.param));
                         });

TEST(DetectCompressionTest, ByMagic) {
  auto detect = [](std::string_view bytes) {
    return detect_compression(std::as_bytes(std::span(bytes)));
  };
  EXPECT_EQ(detect("\x28\xb5\x2f\xfd"), Compression::zstd);
  EXPECT_EQ(detect("\x1f\x8b\x08"), Compression::gzip);
  EXPECT_EQ(detect("\x28\xb5\x2f"), Compression::none);
  EXPECT_EQ(detect(""), Compression::none);
  EXPECT_EQ(detect("[\n\t{"), Compression::none);
  EXPECT_EQ(detect("v0:"), Compression::none);
}

TEST(DecompressTest, EmptyInputIsNotCompressed) {
  auto back = decompress("");
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, "");
}

TEST(DecompressTest, ZstdGarbageIsNamed) {
  MemorySource upstream("\x28\xb5\x2f\xfd garbage garbage garbage");
  ZstdDecompressSource source(upstream);
  auto back = read_all(source);
  ASSERT_FALSE(back);
  EXPECT_EQ(back.error().kind(), ErrorKind::corrupt);
  EXPECT_EQ(back.error().message().rfind("zstd: ", 0), 0u) << back.error().message();
}

TEST(DecompressTest, GzipOfNonGzipIsNamed) {
  MemorySource upstream("plain text, not gzip");
  GzipDecompressSource source(upstream);
  auto back = read_all(source);
  ASSERT_FALSE(back);
  EXPECT_EQ(back.error().kind(), ErrorKind::corrupt);
  EXPECT_EQ(back.error().message().rfind("gzip: ", 0), 0u) << back.error().message();
}

TEST(ParseCompressionTest, Names) {
  EXPECT_EQ(parse_compression("zstd"), Compression::zstd);
  EXPECT_EQ(parse_compression("gzip"), Compression::gzip);
  EXPECT_EQ(parse_compression("none"), Compression::none);
  EXPECT_FALSE(parse_compression("xz"));
  EXPECT_EQ(tar_suffix(Compression::zstd), ".tar.zst");
  EXPECT_EQ(tar_suffix(Compression::gzip), ".tar.gz");
}

}  // namespace
}  // namespace csnap::codec
