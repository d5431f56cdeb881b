#include "util/base64.hpp"

#include <gtest/gtest.h>

namespace csnap {
namespace {

TEST(Base64, Rfc4648Vectors) {
  EXPECT_EQ(base64::encode(""), "");
  EXPECT_EQ(base64::encode("f"), "Zg==");
  EXPECT_EQ(base64::encode("fo"), "Zm8=");
  EXPECT_EQ(base64::encode("foo"), "Zm9v");
  EXPECT_EQ(base64::encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64::encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64::encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(*base64::decode("Zm9vYmE="), "fooba");
  EXPECT_EQ(*base64::decode(""), "");
}

TEST(Base64, EveryByteRoundTrips) {
  std::string all;
  for (int i = 0; i < 256; ++i)
    all.push_back(static_cast<char>(i));
  for (std::size_t cut = 0; cut < 4; ++cut) {
    auto part = all.substr(cut);
    auto encoded = base64::encode(part);
    EXPECT_EQ(encoded.size(), base64::encoded_size(part.size()));
    EXPECT_EQ(base64::decode(encoded), part);
  }
}

TEST(Base64, RejectsMalformed) {
  EXPECT_FALSE(base64::decode("Zm9"));       // not a multiple of 4
  EXPECT_FALSE(base64::decode("Zm9v!A=="));  // bad character
  EXPECT_FALSE(base64::decode("Zg=a"));      // data after padding
  EXPECT_FALSE(base64::decode("Zh=="));      // non-zero padding bits
  EXPECT_FALSE(base64::decode("Z==="));
  EXPECT_FALSE(base64::decode("Zg==Zg=="));  // padding in the middle
}

}  // namespace
}  // namespace csnap
