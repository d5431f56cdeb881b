#include "util/json_stream.hpp"

#include <algorithm>
#include <string>

#include <gtest/gtest.h>

namespace csnap {
namespace {

// Hands out `text` a few bytes at a time, then fails with `error` instead of ending (if set).
class ChunkedSource final : public ByteSource {
 public:
  ChunkedSource(std::string text, std::size_t chunk, std::optional<Error> error = std::nullopt)
      : text_(std::move(text)), chunk_(chunk), error_(std::move(error)) {}

  Result<std::size_t> read(std::span<std::byte> buffer) override {
    ++reads_;
    if (offset_ == text_.size() && error_)
      return *error_;
    std::size_t count = std::min({buffer.size(), chunk_, text_.size() - offset_});
    std::copy_n(reinterpret_cast<const std::byte*>(text_.data() + offset_), count, buffer.data());
    offset_ += count;
    return count;
  }
  int reads() const { return reads_; }

 private:
  int reads_ = 0;
  std::string text_;
  std::size_t chunk_;
  std::size_t offset_ = 0;
  std::optional<Error> error_;
};

std::string take_all(JsonSourceStream& stream) {
  std::string out;
  while (stream.Peek() != '\0')
    out.push_back(stream.Take());
  return out;
}

TEST(JsonSourceStream, ReadsEveryByteAcrossRefills) {
  // More than the 64 KiB buffer, from a source that answers in odd-sized reads.
  std::string text(200'000, 'x');
  for (std::size_t i = 0; i < text.size(); i += 7)
    text[i] = static_cast<char>('a' + i % 26);
  ChunkedSource source(text, 65'537);
  JsonSourceStream stream(source);
  EXPECT_EQ(take_all(stream), text);
  EXPECT_EQ(stream.Tell(), text.size());
  EXPECT_FALSE(stream.error());
  EXPECT_EQ(stream.Take(), '\0');  // the end stays the end
  EXPECT_EQ(stream.Tell(), text.size());
}

TEST(JsonSourceStream, PeekDoesNotConsume) {
  ChunkedSource source("[1]", 1);
  JsonSourceStream stream(source);
  EXPECT_EQ(stream.Peek(), '[');
  EXPECT_EQ(stream.Peek(), '[');
  EXPECT_EQ(stream.Tell(), 0u);
  EXPECT_EQ(stream.Take(), '[');
  EXPECT_EQ(stream.Take(), '1');
  EXPECT_EQ(stream.Tell(), 2u);
}

TEST(JsonSourceStream, AReadErrorEndsTheStreamAndIsKept) {
  ChunkedSource source("{\"a\":", 2, Error(ErrorKind::unavailable, "connection reset"));
  JsonSourceStream stream(source);
  EXPECT_EQ(take_all(stream), "{\"a\":");
  ASSERT_TRUE(stream.error());
  EXPECT_EQ(stream.error()->message(), "connection reset");
  // The source is not asked again after it failed.
  int reads = source.reads();
  EXPECT_EQ(stream.Peek(), '\0');
  EXPECT_EQ(source.reads(), reads);
}

}  // namespace
}  // namespace csnap
