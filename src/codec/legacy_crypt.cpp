#include "codec/legacy_crypt.hpp"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

namespace csnap::codec {

namespace {

constexpr std::size_t kHeaderSize = kLegacyV0Magic.size() + kLegacyV0SaltSize + kLegacyV0NonceSize;
constexpr std::size_t kBlockSize = std::size_t{64} * 1024;

Result<crypto::Bytes> derive_key(const Secret& passphrase, std::span<const std::uint8_t> salt) {
  return crypto::scrypt(passphrase.reveal(), salt, 14, 8, 1, 32);
}

Error authentication_failed() {
  return Error(ErrorKind::permission_denied,
               "v0: wrong passphrase or damaged file (AES-256-GCM authentication failed)");
}

}  // namespace

bool looks_like_legacy_v0(std::span<const std::byte> first_bytes) {
  return first_bytes.size() >= kLegacyV0Magic.size() &&
         std::memcmp(first_bytes.data(), kLegacyV0Magic.data(), kLegacyV0Magic.size()) == 0;
}

LegacyV0DecryptSource::LegacyV0DecryptSource(SpoolFile spool, FileSource ciphertext,
                                             crypto::AesGcmDecryptor decryptor,
                                             std::uint64_t ciphertext_size,
                                             std::array<std::uint8_t, 16> tag)
    : spool_(std::move(spool)),
      ciphertext_(std::move(ciphertext)),
      decryptor_(std::move(decryptor)),
      remaining_(ciphertext_size),
      tag_(tag),
      in_buffer_(kBlockSize) {}

LegacyV0DecryptSource::~LegacyV0DecryptSource() = default;

Result<std::unique_ptr<LegacyV0DecryptSource>> LegacyV0DecryptSource::open(
    ByteSource& upstream, const Secret& passphrase, const std::filesystem::path& temp_directory) {
  std::array<std::uint8_t, kHeaderSize> header{};
  std::size_t have = 0;
  while (have < header.size()) {
    CSNAP_ASSIGN_OR_RETURN(std::size_t count,
                           upstream.read(std::as_writable_bytes(std::span(header).subspan(have))));
    if (count == 0)
      return Error(ErrorKind::corrupt, "v0: truncated: the file is shorter than its header");
    have += count;
  }
  if (!looks_like_legacy_v0(std::as_bytes(std::span(header))))
    return Error(ErrorKind::corrupt, "v0: not a v0 encrypted file (no \"v0:\" prefix)");
  auto salt = std::span(header).subspan(kLegacyV0Magic.size(), kLegacyV0SaltSize);
  auto nonce = std::span(header).subspan(kLegacyV0Magic.size() + kLegacyV0SaltSize);
  CSNAP_ASSIGN_OR_RETURN(crypto::Bytes key, derive_key(passphrase, salt));
  auto key_span = std::span<const std::uint8_t>(key).first<32>();
  auto checker = crypto::AesGcmDecryptor::create(key_span, nonce);
  auto reader = crypto::AesGcmDecryptor::create(key_span, nonce);
  crypto::wipe(key);
  if (!checker)
    return std::move(checker).error();
  if (!reader)
    return std::move(reader).error();

  // Pass one: spool the ciphertext and check the tag, holding back the last 16 bytes (the tag)
  // until the stream ends.
  CSNAP_ASSIGN_OR_RETURN(SpoolFile spool, SpoolFile::create(temp_directory));
  CSNAP_ASSIGN_OR_RETURN(FileSink sink, spool.rewrite());
  std::vector<std::uint8_t> block(kBlockSize + kLegacyV0TagSize);
  std::vector<std::uint8_t> scratch(kBlockSize + kLegacyV0TagSize);
  std::size_t held = 0;  // bytes at the front of `block` not yet known to be ciphertext
  std::uint64_t ciphertext_size = 0;
  while (true) {
    CSNAP_ASSIGN_OR_RETURN(std::size_t count,
                           upstream.read(std::as_writable_bytes(std::span(block).subspan(held))));
    if (count == 0)
      break;
    held += count;
    if (held <= kLegacyV0TagSize)
      continue;
    std::size_t ready = held - kLegacyV0TagSize;
    auto ciphertext = std::span<const std::uint8_t>(block).first(ready);
    CSNAP_TRY(checker->update(ciphertext, scratch));
    CSNAP_TRY_CONTEXT(sink.write(std::as_bytes(ciphertext)), "v0: spooling the ciphertext");
    ciphertext_size += ready;
    std::memmove(block.data(), block.data() + ready, kLegacyV0TagSize);
    held = kLegacyV0TagSize;
  }
  crypto::wipe(scratch);
  CSNAP_TRY_CONTEXT(sink.finish(), "v0: spooling the ciphertext");
  if (held < kLegacyV0TagSize)
    return Error(ErrorKind::corrupt, "v0: truncated: the authentication tag is missing");
  std::array<std::uint8_t, 16> tag{};
  std::copy_n(block.begin(), tag.size(), tag.begin());
  CSNAP_ASSIGN_OR_RETURN(bool verified, checker->finish(tag));
  if (!verified)
    return authentication_failed();

  // Pass two happens in `read`, from the spooled copy.
  CSNAP_ASSIGN_OR_RETURN(FileSource ciphertext, spool.read());
  return std::unique_ptr<LegacyV0DecryptSource>(new LegacyV0DecryptSource(
      std::move(spool), std::move(ciphertext), std::move(*reader), ciphertext_size, tag));
}

Result<std::size_t> LegacyV0DecryptSource::read(std::span<std::byte> buffer) {
  if (done_ || buffer.empty())
    return std::size_t{0};
  if (remaining_ == 0) {
    // The copy was checked in `open`; checking again catches a spool changed since.
    CSNAP_ASSIGN_OR_RETURN(bool verified, decryptor_.finish(tag_));
    if (!verified)
      return Error(ErrorKind::corrupt, "v0: the spooled ciphertext changed while being read");
    done_ = true;
    return std::size_t{0};
  }
  std::size_t want = static_cast<std::size_t>(
      std::min<std::uint64_t>({remaining_, buffer.size(), in_buffer_.size()}));
  CSNAP_ASSIGN_OR_RETURN(
      std::size_t count,
      ciphertext_.read(std::as_writable_bytes(std::span(in_buffer_).first(want))));
  if (count == 0)
    return Error(ErrorKind::io, "v0: the spooled ciphertext ended early");
  remaining_ -= count;
  auto out = std::span(reinterpret_cast<std::uint8_t*>(buffer.data()), count);
  CSNAP_TRY(decryptor_.update(std::span(in_buffer_).first(count), out));
  if (remaining_ == 0) {
    CSNAP_ASSIGN_OR_RETURN(bool verified, decryptor_.finish(tag_));
    if (!verified)
      return Error(ErrorKind::corrupt, "v0: the spooled ciphertext changed while being read");
    done_ = true;
  }
  return count;
}

Result<std::string> legacy_v0_encrypt(std::string_view plaintext, const Secret& passphrase) {
  std::array<std::uint8_t, kLegacyV0SaltSize + kLegacyV0NonceSize> random{};
  CSNAP_TRY(crypto::random_bytes(random));
  auto salt = std::span(random).first(kLegacyV0SaltSize);
  auto nonce = std::span(random).subspan(kLegacyV0SaltSize);
  CSNAP_ASSIGN_OR_RETURN(crypto::Bytes key, derive_key(passphrase, salt));
  auto sealed = crypto::aes_gcm_seal(std::span<const std::uint8_t>(key).first<32>(), nonce,
                                     crypto::as_span(plaintext));
  crypto::wipe(key);
  if (!sealed)
    return std::move(sealed).error();
  std::string out(kLegacyV0Magic);
  out.append(reinterpret_cast<const char*>(random.data()), random.size());
  out.append(reinterpret_cast<const char*>(sealed->data()), sealed->size());
  return out;
}

}  // namespace csnap::codec
