// The original tool's "v0:" encryption (AES-256-GCM, scrypt key), read-only.

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "codec/legacy_crypt.hpp"
#include "util/file.hpp"

namespace csnap::codec {
namespace {

// Functions, not constants: a namespace-scope path or Secret could throw before main.
std::filesystem::path original_tool_data() {
  return CSNAP_ORIGINAL_TOOL_DATA;
}
Secret passphrase() {
  return Secret("correct horse battery staple");
}

// A private temporary folder, so that a test can see that spooled files are removed.
class LegacyV0Test : public ::testing::Test {
 protected:
  void SetUp() override {
    temp_ = std::filesystem::temp_directory_path() /
            ("csnap-v0-test-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
             "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(temp_);
    std::filesystem::create_directories(temp_);
  }
  void TearDown() override {
    EXPECT_TRUE(std::filesystem::is_empty(temp_)) << "a spooled file was left behind";
    std::filesystem::remove_all(temp_);
  }

  Result<std::string> decrypt(std::string_view file, const Secret& passphrase) {
    MemorySource upstream(file);
    CSNAP_ASSIGN_OR_RETURN(auto source, LegacyV0DecryptSource::open(upstream, passphrase, temp_));
    return read_all(*source);
  }

  std::filesystem::path temp_;
};

TEST_F(LegacyV0Test, DecryptsTheOriginalToolsFixture) {
  auto encrypted = read_file(original_tool_data() / "v03-encrypted.bin");
  ASSERT_TRUE(encrypted) << encrypted.error().message();
  auto plain = read_file(original_tool_data() / "v03-plain.tar.gz");
  ASSERT_TRUE(plain) << plain.error().message();
  EXPECT_TRUE(looks_like_legacy_v0(std::as_bytes(std::span(*encrypted))));
  auto decrypted = decrypt(*encrypted, passphrase());
  ASSERT_TRUE(decrypted) << decrypted.error().message();
  EXPECT_EQ(*decrypted, *plain);
}

TEST_F(LegacyV0Test, RefusesAWrongPassphrase) {
  auto encrypted = read_file(original_tool_data() / "v03-encrypted.bin");
  ASSERT_TRUE(encrypted);
  auto decrypted = decrypt(*encrypted, Secret("correct horse battery stapler"));
  ASSERT_FALSE(decrypted);
  EXPECT_EQ(decrypted.error().kind(), ErrorKind::permission_denied);
  EXPECT_NE(decrypted.error().message().find("wrong passphrase"), std::string::npos);
  EXPECT_EQ(decrypted.error().message().find("stapler"), std::string::npos);
}

TEST_F(LegacyV0Test, RefusesAFlippedByteAnywhere) {
  auto encrypted = read_file(original_tool_data() / "v03-encrypted.bin");
  ASSERT_TRUE(encrypted);
  // Salt, nonce, ciphertext start, middle, and tag.
  for (std::size_t offset : {std::size_t{5}, std::size_t{40}, std::size_t{47},
                             encrypted->size() / 2, encrypted->size() - 1}) {
    std::string damaged = *encrypted;
    damaged[offset] = static_cast<char>(damaged[offset] ^ 0x40);
    auto decrypted = decrypt(damaged, passphrase());
    ASSERT_FALSE(decrypted) << "offset " << offset;
    EXPECT_EQ(decrypted.error().kind(), ErrorKind::permission_denied);
  }
}

TEST_F(LegacyV0Test, RefusesTruncation) {
  auto encrypted = read_file(original_tool_data() / "v03-encrypted.bin");
  ASSERT_TRUE(encrypted);
  auto cut = decrypt(std::string_view(*encrypted).substr(0, encrypted->size() - 1), passphrase());
  EXPECT_FALSE(cut);
  auto header_only = decrypt(std::string_view(*encrypted).substr(0, 20), passphrase());
  ASSERT_FALSE(header_only);
  EXPECT_EQ(header_only.error().kind(), ErrorKind::corrupt);
  auto no_tag = decrypt(std::string_view(*encrypted).substr(0, 47 + 10), passphrase());
  ASSERT_FALSE(no_tag);
  EXPECT_EQ(no_tag.error().kind(), ErrorKind::corrupt);
}

TEST_F(LegacyV0Test, RoundTripsSizesAroundItsBuffers) {
  for (std::size_t size : {std::size_t{0}, std::size_t{1}, std::size_t{15}, std::size_t{16},
                           std::size_t{65536}, std::size_t{200001}}) {
    std::string data(size, '\0');
    for (std::size_t i = 0; i < size; ++i)
      data[i] = static_cast<char>(i * 7 + i / 256);
    auto encrypted = legacy_v0_encrypt(data, passphrase());
    ASSERT_TRUE(encrypted);
    EXPECT_EQ(encrypted->size(), 3 + 32 + 12 + size + 16);
    auto decrypted = decrypt(*encrypted, passphrase());
    ASSERT_TRUE(decrypted) << "size " << size << ": " << decrypted.error().message();
    EXPECT_EQ(*decrypted, data) << "size " << size;
  }
}

TEST_F(LegacyV0Test, DetectsByContent) {
  EXPECT_FALSE(looks_like_legacy_v0(std::as_bytes(std::span(std::string_view("v1:abc")))));
  EXPECT_FALSE(looks_like_legacy_v0(std::as_bytes(std::span(std::string_view("v0")))));
  auto not_v0 = decrypt(std::string(100, 'x'), passphrase());
  ASSERT_FALSE(not_v0);
  EXPECT_EQ(not_v0.error().kind(), ErrorKind::corrupt);
}

}  // namespace
}  // namespace csnap::codec
