#include "codec/sha256.hpp"

#include <cctype>
#include <string>

#include <gtest/gtest.h>

namespace csnap::codec {
namespace {

TEST(Sha256Test, KnownVectors) {
  EXPECT_EQ(Sha256::hex_of(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256::hex_of("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256Test, IsSha256HexAcceptsOnlyWhatHexDigestWrites) {
  EXPECT_TRUE(is_sha256_hex(Sha256::hex_of("abc")));
  EXPECT_FALSE(is_sha256_hex(""));
  EXPECT_FALSE(is_sha256_hex(Sha256::hex_of("abc").substr(1)));
  EXPECT_FALSE(is_sha256_hex(Sha256::hex_of("abc") + "0"));
  std::string upper = Sha256::hex_of("abc");
  for (char& c : upper)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_FALSE(is_sha256_hex(upper));
  EXPECT_FALSE(is_sha256_hex(std::string(63, '0') + "g"));
}

TEST(Sha256Test, IncrementalEqualsOneShotAndRestarts) {
  Sha256 hash;
  hash.update("a");
  hash.update("bc");
  EXPECT_EQ(hash.hex_digest(), Sha256::hex_of("abc"));
  hash.update("abc");
  EXPECT_EQ(hash.hex_digest(), Sha256::hex_of("abc"));
}

TEST(HashingSinkTest, CountsHashesAndPassesThrough) {
  StringSink downstream;
  HashingSink sink(downstream);
  ASSERT_TRUE(sink.write(std::string_view("hello ")));
  ASSERT_TRUE(sink.write(std::string_view("world")));
  EXPECT_TRUE(sink.sha256_hex().empty());
  ASSERT_TRUE(sink.finish());
  EXPECT_EQ(downstream.text(), "hello world");
  EXPECT_EQ(sink.size(), 11u);
  EXPECT_EQ(sink.sha256_hex(), Sha256::hex_of("hello world"));
}

TEST(HashingSourceTest, HashesEverythingRead) {
  std::string data(100000, 'x');
  for (std::size_t i = 0; i < data.size(); ++i)
    data[i] = static_cast<char>(i * 7);
  MemorySource upstream(data);
  HashingSource source(upstream);
  auto all = read_all(source);
  ASSERT_TRUE(all);
  EXPECT_EQ(*all, data);
  EXPECT_TRUE(source.at_end());
  EXPECT_EQ(source.size(), data.size());
  EXPECT_EQ(source.sha256_hex(), Sha256::hex_of(data));
}

}  // namespace
}  // namespace csnap::codec
