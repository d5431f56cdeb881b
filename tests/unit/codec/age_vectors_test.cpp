// The C2SP age test vectors (CCTV, age/testdata): every X25519 and scrypt vector must give the
// expected outcome and release exactly the expected plaintext. Vectors for features not
// implemented here (ASCII armor, hybrid post-quantum recipients) are skipped by name.

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
// With ZLIB_CONST, zlib declares `next_in`, which it only reads, as `const Bytef*`.
#define ZLIB_CONST
#include <zlib.h>

#include "codec/age.hpp"
#include "codec/sha256.hpp"
#include "util/file.hpp"

namespace csnap::codec::age {
namespace {

// A function: a namespace-scope path could throw before main.
std::filesystem::path vector_dir() {
  return CSNAP_AGE_VECTORS_DIR;
}

std::vector<std::string> vector_names() {
  std::vector<std::string> names;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(vector_dir(), error)) {
    auto name = entry.path().filename().string();
    if (entry.is_regular_file() && name != "ABOUT.md")
      names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

struct TestVector {
  std::string expect;
  std::optional<std::string> payload_sha256;
  std::vector<std::string> identities;
  std::vector<std::string> passphrases;
  bool armored = false;
  bool compressed = false;
  std::string file;
};

std::optional<std::string> inflate_zlib(std::string_view compressed) {
  z_stream stream{};
  if (inflateInit(&stream) != Z_OK)
    return std::nullopt;
  std::string out;
  std::vector<unsigned char> buffer(1 << 16);
  stream.next_in = reinterpret_cast<const Bytef*>(compressed.data());
  stream.avail_in = static_cast<uInt>(compressed.size());
  int status = Z_OK;
  while (status == Z_OK) {
    stream.next_out = buffer.data();
    stream.avail_out = static_cast<uInt>(buffer.size());
    status = inflate(&stream, Z_NO_FLUSH);
    out.append(reinterpret_cast<const char*>(buffer.data()), buffer.size() - stream.avail_out);
  }
  inflateEnd(&stream);
  if (status != Z_STREAM_END)
    return std::nullopt;
  return out;
}

std::optional<TestVector> load(const std::string& name) {
  auto text = read_file(vector_dir() / name);
  if (!text)
    return std::nullopt;
  TestVector vector;
  std::string_view rest = *text;
  while (true) {
    std::size_t newline = rest.find('\n');
    if (newline == std::string_view::npos)
      return std::nullopt;
    std::string_view line = rest.substr(0, newline);
    rest.remove_prefix(newline + 1);
    if (line.empty())
      break;
    std::size_t colon = line.find(": ");
    if (colon == std::string_view::npos)
      return std::nullopt;
    std::string_view key = line.substr(0, colon);
    std::string value(line.substr(colon + 2));
    if (key == "expect") {
      vector.expect = value;
    } else if (key == "payload") {
      vector.payload_sha256 = value;
    } else if (key == "identity") {
      vector.identities.push_back(value);
    } else if (key == "passphrase") {
      vector.passphrases.push_back(value);
    } else if (key == "armored") {
      vector.armored = value == "yes";
    } else if (key == "compressed") {
      vector.compressed = value == "zlib";
    }
  }
  vector.file = rest;
  if (vector.compressed) {
    auto inflated = inflate_zlib(vector.file);
    if (!inflated)
      return std::nullopt;
    vector.file = std::move(*inflated);
  }
  return vector;
}

// Why a vector is out of scope, or nothing when it must pass.
std::optional<std::string> skip_reason(const std::string& name, const TestVector& vector) {
  if (vector.armored || name.starts_with("armor_"))
    return "ASCII armor is not implemented";
  if (name.starts_with("hybrid"))
    return "hybrid post-quantum recipients are not implemented";
  for (const auto& identity : vector.identities) {
    if (!identity.starts_with("AGE-SECRET-KEY-1"))
      return "hybrid post-quantum identities are not implemented";
  }
  return std::nullopt;
}

struct Outcome {
  std::string expect;  // in the vectors' words
  std::string released_sha256;
  std::string message;
};

Outcome decrypt(const TestVector& vector, std::optional<std::string> passphrase) {
  DecryptOptions options;
  for (const auto& text : vector.identities) {
    auto identity = X25519Identity::parse(text);
    EXPECT_TRUE(identity) << "identity does not parse";
    if (identity)
      options.identities.push_back(std::move(*identity));
  }
  if (passphrase)
    options.passphrase = Secret(*passphrase);
  MemorySource upstream(vector.file);
  auto source = DecryptSource::open(upstream, options);
  Sha256 released;
  if (!source) {
    const auto& error = source.error();
    std::string expect = "header failure";
    if (error.kind() == ErrorKind::permission_denied)
      expect = "no match";
    else if (error.message().find("header MAC mismatch") != std::string::npos)
      expect = "HMAC failure";
    return {expect, released.hex_digest(), error.message()};
  }
  std::vector<std::byte> buffer(4096);
  while (true) {
    auto count = (*source)->read(buffer);
    if (!count)
      return {"payload failure", released.hex_digest(), count.error().message()};
    if (*count == 0)
      break;
    released.update(std::span<const std::byte>(buffer).first(*count));
  }
  return {"success", released.hex_digest(), ""};
}

class AgeVectorTest : public ::testing::TestWithParam<std::string> {};

TEST_P(AgeVectorTest, GivesTheExpectedOutcome) {
  const std::string& name = GetParam();
  auto vector = load(name);
  ASSERT_TRUE(vector) << "cannot read or parse vector " << name;
  if (auto reason = skip_reason(name, *vector))
    GTEST_SKIP() << name << ": " << *reason;
  ASSERT_FALSE(vector->expect.empty());

  // With several passphrases (or none), each is tried the way a user would: until one opens it.
  std::vector<std::optional<std::string>> attempts;
  for (const auto& passphrase : vector->passphrases)
    attempts.emplace_back(passphrase);
  if (attempts.empty())
    attempts.emplace_back(std::nullopt);
  Outcome outcome;
  for (const auto& passphrase : attempts) {
    outcome = decrypt(*vector, passphrase);
    if (outcome.expect != "no match")
      break;
  }
  std::cout << name << ": " << outcome.expect
            << (outcome.message.empty() ? "" : " (" + outcome.message + ")") << "\n";
  EXPECT_EQ(outcome.expect, vector->expect) << name << ": " << outcome.message;
  if (vector->payload_sha256) {
    EXPECT_EQ(outcome.released_sha256, *vector->payload_sha256) << name;
  }
}

INSTANTIATE_TEST_SUITE_P(C2sp, AgeVectorTest, ::testing::ValuesIn(vector_names()),
                         [](const auto& param_info) { return param_info.param; });

// Missing vectors are a failure, not a silent pass; the skipped ones are listed by name.
TEST(AgeVectors, AreAllPresentAndSkipsAreNamed) {
  auto names = vector_names();
  ASSERT_GE(names.size(), 140U) << "age vectors missing from " << vector_dir();
  std::vector<std::string> skipped;
  std::size_t checked = 0;
  for (const auto& name : names) {
    auto vector = load(name);
    ASSERT_TRUE(vector) << name;
    if (skip_reason(name, *vector)) {
      skipped.push_back(name);
    } else {
      ++checked;
    }
  }
  std::string list;
  for (const auto& name : skipped)
    list += " " + name;
  std::cout << "age vectors: " << checked << " checked, " << skipped.size()
            << " skipped (armor, hybrid):" << list << "\n";
  EXPECT_GE(checked, 90U);
}

}  // namespace
}  // namespace csnap::codec::age
