#pragma once
// The cryptographic primitives age and the original tool's v0 format are built on, as thin
// wrappers over OpenSSL 3 EVP. Failures of OpenSSL itself are ErrorKind::internal errors.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace csnap::codec::crypto {

using Bytes = std::vector<std::uint8_t>;
using Key32 = std::array<std::uint8_t, 32>;

inline std::span<const std::uint8_t> as_span(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

// Fills `out` from the operating system's CSPRNG.
Status random_bytes(std::span<std::uint8_t> out);

// HKDF-SHA-256 (RFC 5869) of `size` bytes; an empty `salt` means the RFC's default.
Result<Bytes> hkdf_sha256(std::span<const std::uint8_t> key, std::span<const std::uint8_t> salt,
                          std::string_view info, std::size_t size);

Result<Key32> hmac_sha256(std::span<const std::uint8_t> key, std::span<const std::uint8_t> data);

// scrypt with N = 2^`log_n`, r, p; the memory cap is raised to what these parameters need.
Result<Bytes> scrypt(std::string_view passphrase, std::span<const std::uint8_t> salt, int log_n,
                     std::uint32_t r, std::uint32_t p, std::size_t size);

// The X25519 public key of `secret_key`.
Result<Key32> x25519_public_key(std::span<const std::uint8_t, 32> secret_key);
// X25519(`secret_key`, `peer_public`); nothing when the result is the all-zero value (a low-order
// `peer_public`), which callers must refuse.
Result<std::optional<Key32>> x25519(std::span<const std::uint8_t, 32> secret_key,
                                    std::span<const std::uint8_t, 32> peer_public);

// Constant-time equality of two byte strings of the same length.
bool equal_constant_time(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b);

// Overwrites `bytes` with zeros in a way the compiler keeps.
void wipe(std::span<std::uint8_t> bytes);

// ChaCha20-Poly1305 (RFC 8439) with one key and many 12-byte nonces; the 16-byte tag follows the
// ciphertext. Holds one OpenSSL context, so sealing many chunks allocates nothing.
class ChaChaPoly {
 public:
  static constexpr std::size_t kTagSize = 16;
  static constexpr std::size_t kNonceSize = 12;

  static Result<ChaChaPoly> create(std::span<const std::uint8_t, 32> key);
  ChaChaPoly(ChaChaPoly&&) noexcept;
  ChaChaPoly& operator=(ChaChaPoly&&) noexcept;
  ~ChaChaPoly();

  // Writes `plaintext.size() + kTagSize` bytes to `out`.
  Status seal(std::span<const std::uint8_t, kNonceSize> nonce,
              std::span<const std::uint8_t> plaintext, std::span<std::uint8_t> out);
  // Writes `sealed.size() - kTagSize` bytes to `out` and returns false when the tag does not
  // verify (then `out` holds garbage that must not be used).
  Result<bool> open(std::span<const std::uint8_t, kNonceSize> nonce,
                    std::span<const std::uint8_t> sealed, std::span<std::uint8_t> out);

 private:
  struct Context;
  explicit ChaChaPoly(std::unique_ptr<Context> context);
  std::unique_ptr<Context> context_;
};

// AES-256-GCM decryption in pieces (no associated data): `update` any number of times, then
// `finish` with the tag; plaintext from `update` is unauthenticated until `finish` returns true.
class AesGcmDecryptor {
 public:
  static Result<AesGcmDecryptor> create(std::span<const std::uint8_t, 32> key,
                                        std::span<const std::uint8_t> nonce);
  AesGcmDecryptor(AesGcmDecryptor&&) noexcept;
  AesGcmDecryptor& operator=(AesGcmDecryptor&&) noexcept;
  ~AesGcmDecryptor();

  // Writes `in.size()` bytes to `out`.
  Status update(std::span<const std::uint8_t> in, std::span<std::uint8_t> out);
  Result<bool> finish(std::span<const std::uint8_t, 16> tag);

 private:
  struct Context;
  explicit AesGcmDecryptor(std::unique_ptr<Context> context);
  std::unique_ptr<Context> context_;
};

// AES-256-GCM encryption, for tests that make v0 files: returns ciphertext followed by the tag.
Result<Bytes> aes_gcm_seal(std::span<const std::uint8_t, 32> key,
                           std::span<const std::uint8_t> nonce,
                           std::span<const std::uint8_t> plaintext);

}  // namespace csnap::codec::crypto
