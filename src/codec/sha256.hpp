#pragma once
// SHA-256 (OpenSSL EVP) and pass-through filters that hash and count what flows through them.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "util/io.hpp"

namespace csnap::codec {

class Sha256 {
 public:
  Sha256();
  Sha256(Sha256&& other) noexcept;
  Sha256& operator=(Sha256&& other) noexcept;
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  ~Sha256();

  void update(std::span<const std::byte> data);
  void update(std::string_view data) { update(std::as_bytes(std::span(data))); }
  // The digest as 64 lowercase hex digits; the hash starts over afterwards.
  std::string hex_digest();

  // The hex digest of `data` in one call.
  static std::string hex_of(std::string_view data);
  // The 32-byte digest of `data` in one call.
  static std::array<unsigned char, 32> digest_of(std::string_view data);

 private:
  struct Context;
  std::unique_ptr<Context> context_;
};

// Whether `text` is a SHA-256 as `Sha256::hex_digest` writes it: 64 lowercase hex digits.
bool is_sha256_hex(std::string_view text);

// Passes everything to `downstream`, counting bytes and hashing them; `finish` finishes
// `downstream` and fixes `sha256_hex`.
class HashingSink final : public ByteSink {
 public:
  explicit HashingSink(ByteSink& downstream) : downstream_(&downstream) {}

  using ByteSink::write;
  Status write(std::span<const std::byte> data) override;
  Status finish() override;

  std::uint64_t size() const { return size_; }
  bool finished() const { return finished_; }
  // Empty until `finish` succeeded.
  const std::string& sha256_hex() const { return digest_; }

 private:
  ByteSink* downstream_;
  Sha256 hash_;
  std::uint64_t size_ = 0;
  bool finished_ = false;
  std::string digest_;
};

// Reads from `upstream`, counting and hashing every byte; `sha256_hex` is set once the end of
// `upstream` was read.
class HashingSource final : public ByteSource {
 public:
  explicit HashingSource(ByteSource& upstream) : upstream_(&upstream) {}

  Result<std::size_t> read(std::span<std::byte> buffer) override;

  std::uint64_t size() const { return size_; }
  bool at_end() const { return at_end_; }
  // Empty until the end of `upstream` was read.
  const std::string& sha256_hex() const { return digest_; }

 private:
  ByteSource* upstream_;
  Sha256 hash_;
  std::uint64_t size_ = 0;
  bool at_end_ = false;
  std::string digest_;
};

}  // namespace csnap::codec
