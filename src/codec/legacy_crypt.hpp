#pragma once
// The original Go tool's encryption ("v0:"), read-only: the bytes "v0:", a 32-byte salt, a
// 12-byte nonce, then AES-256-GCM ciphertext and its 16-byte tag, no associated data; key =
// scrypt(passphrase, salt, N=16384, r=8, p=1, 32 bytes). New backups use age instead.

#include <cstddef>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "codec/age_primitives.hpp"
#include "util/file.hpp"
#include "util/io.hpp"
#include "util/secret.hpp"

namespace csnap::codec {

inline constexpr std::string_view kLegacyV0Magic = "v0:";
inline constexpr std::size_t kLegacyV0SaltSize = 32;
inline constexpr std::size_t kLegacyV0NonceSize = 12;
inline constexpr std::size_t kLegacyV0TagSize = 16;

// True when `first_bytes` start with "v0:".
bool looks_like_legacy_v0(std::span<const std::byte> first_bytes);

// Decrypts a v0 stream. The GCM tag is at the end, so `open` spools the ciphertext (never the
// plaintext) to a 0600 temporary file in `temp_directory` and checks the tag before `read`
// returns a byte; the file is removed with this object. Wrong passphrase and damage are
// indistinguishable in GCM: both are ErrorKind::permission_denied; a short file is corrupt.
class LegacyV0DecryptSource final : public ByteSource {
 public:
  static Result<std::unique_ptr<LegacyV0DecryptSource>> open(
      ByteSource& upstream, const Secret& passphrase,
      const std::filesystem::path& temp_directory = std::filesystem::temp_directory_path());
  LegacyV0DecryptSource(const LegacyV0DecryptSource&) = delete;
  LegacyV0DecryptSource& operator=(const LegacyV0DecryptSource&) = delete;
  ~LegacyV0DecryptSource() override;

  Result<std::size_t> read(std::span<std::byte> buffer) override;

 private:
  LegacyV0DecryptSource(SpoolFile spool, FileSource ciphertext, crypto::AesGcmDecryptor decryptor,
                        std::uint64_t ciphertext_size, std::array<std::uint8_t, 16> tag);

  SpoolFile spool_;
  FileSource ciphertext_;
  crypto::AesGcmDecryptor decryptor_;
  std::uint64_t remaining_;
  std::array<std::uint8_t, 16> tag_;
  std::vector<std::uint8_t> in_buffer_;
  bool done_ = false;
};

// Writes `plaintext` in the v0 format with a fresh salt and nonce. Only tests use it: the
// original tool made these files, this project never does.
Result<std::string> legacy_v0_encrypt(std::string_view plaintext, const Secret& passphrase);

}  // namespace csnap::codec
