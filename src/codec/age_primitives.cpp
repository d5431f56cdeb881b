#include "codec/age_primitives.hpp"

#include <cassert>
#include <climits>

#include <fmt/format.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

namespace csnap::codec::crypto {

namespace {

Error openssl_error(std::string_view what) {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  char text[256] = "unknown error";
  if (code != 0)
    ERR_error_string_n(code, text, sizeof(text));
  return Error(ErrorKind::internal, fmt::format("openssl: {}: {}", what, text));
}

struct KdfDeleter {
  void operator()(EVP_KDF* kdf) const { EVP_KDF_free(kdf); }
  void operator()(EVP_KDF_CTX* context) const { EVP_KDF_CTX_free(context); }
  void operator()(EVP_MAC* mac) const { EVP_MAC_free(mac); }
  void operator()(EVP_MAC_CTX* context) const { EVP_MAC_CTX_free(context); }
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
  void operator()(EVP_PKEY_CTX* context) const { EVP_PKEY_CTX_free(context); }
  void operator()(EVP_CIPHER_CTX* context) const { EVP_CIPHER_CTX_free(context); }
};
template <typename T>
using Owned = std::unique_ptr<T, KdfDeleter>;

// OpenSSL takes non-const pointers for input parameters.
void* mutable_data(std::span<const std::uint8_t> bytes) {
  return const_cast<std::uint8_t*>(bytes.data());  // NOLINT(cppcoreguidelines-pro-type-const-cast)
}
char* mutable_text(std::string_view text) {
  return const_cast<char*>(text.data());  // NOLINT(cppcoreguidelines-pro-type-const-cast)
}

Result<Bytes> derive(const char* algorithm, const OSSL_PARAM* params, std::size_t size) {
  Owned<EVP_KDF> kdf(EVP_KDF_fetch(nullptr, algorithm, nullptr));
  if (!kdf)
    return openssl_error(fmt::format("fetching {}", algorithm));
  Owned<EVP_KDF_CTX> context(EVP_KDF_CTX_new(kdf.get()));
  if (!context)
    return openssl_error(fmt::format("creating a {} context", algorithm));
  Bytes out(size);
  if (EVP_KDF_derive(context.get(), out.data(), out.size(), params) != 1)
    return openssl_error(fmt::format("deriving with {}", algorithm));
  return out;
}

int to_int(std::size_t size) {
  return size > INT_MAX ? -1 : static_cast<int>(size);
}

}  // namespace

Status random_bytes(std::span<std::uint8_t> out) {
  if (RAND_bytes(out.data(), to_int(out.size())) != 1)
    return openssl_error("generating random bytes");
  return {};
}

Result<Bytes> hkdf_sha256(std::span<const std::uint8_t> key, std::span<const std::uint8_t> salt,
                          std::string_view info, std::size_t size) {
  std::array<OSSL_PARAM, 5> params{};
  std::size_t n = 0;
  params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, mutable_text("SHA256"), 0);
  params[n++] =
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, mutable_data(key), key.size());
  if (!salt.empty()) {
    params[n++] =
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, mutable_data(salt), salt.size());
  }
  params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, mutable_data(as_span(info)),
                                                  info.size());
  params[n] = OSSL_PARAM_construct_end();
  return derive("HKDF", params.data(), size);
}

Result<Key32> hmac_sha256(std::span<const std::uint8_t> key, std::span<const std::uint8_t> data) {
  Owned<EVP_MAC> mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  if (!mac)
    return openssl_error("fetching HMAC");
  Owned<EVP_MAC_CTX> context(EVP_MAC_CTX_new(mac.get()));
  if (!context)
    return openssl_error("creating an HMAC context");
  std::array<OSSL_PARAM, 2> params{
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, mutable_text("SHA256"), 0),
      OSSL_PARAM_construct_end()};
  Key32 out{};
  std::size_t out_size = 0;
  if (EVP_MAC_init(context.get(), key.data(), key.size(), params.data()) != 1 ||
      EVP_MAC_update(context.get(), data.data(), data.size()) != 1 ||
      EVP_MAC_final(context.get(), out.data(), &out_size, out.size()) != 1 ||
      out_size != out.size()) {
    return openssl_error("computing HMAC-SHA-256");
  }
  return out;
}

Result<Bytes> scrypt(std::string_view passphrase, std::span<const std::uint8_t> salt, int log_n,
                     std::uint32_t r, std::uint32_t p, std::size_t size) {
  if (log_n < 1 || log_n > 40)
    return Error(ErrorKind::invalid_argument, fmt::format("scrypt: bad work factor {}", log_n));
  std::uint64_t n = std::uint64_t{1} << log_n;
  // OpenSSL needs 128*r*(N+2) bytes for V plus 128*r*p for B; allow that plus slack.
  std::uint64_t max_memory =
      128 * std::uint64_t{r} * (n + 2) + 128 * std::uint64_t{r} * p + (std::uint64_t{1} << 20);
  std::array<OSSL_PARAM, 7> params{
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, mutable_data(as_span(passphrase)),
                                        passphrase.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, mutable_data(salt), salt.size()),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &max_memory),
      OSSL_PARAM_construct_end()};
  return derive("SCRYPT", params.data(), size);
}

namespace {

Result<Owned<EVP_PKEY>> x25519_private(std::span<const std::uint8_t, 32> secret_key) {
  Owned<EVP_PKEY> key(
      EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, secret_key.data(), secret_key.size()));
  if (!key)
    return openssl_error("loading an X25519 secret key");
  return key;
}

}  // namespace

Result<Key32> x25519_public_key(std::span<const std::uint8_t, 32> secret_key) {
  CSNAP_ASSIGN_OR_RETURN(auto key, x25519_private(secret_key));
  Key32 out{};
  std::size_t size = out.size();
  if (EVP_PKEY_get_raw_public_key(key.get(), out.data(), &size) != 1 || size != out.size())
    return openssl_error("computing an X25519 public key");
  return out;
}

Result<std::optional<Key32>> x25519(std::span<const std::uint8_t, 32> secret_key,
                                    std::span<const std::uint8_t, 32> peer_public) {
  CSNAP_ASSIGN_OR_RETURN(auto key, x25519_private(secret_key));
  Owned<EVP_PKEY> peer(EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, peer_public.data(),
                                                   peer_public.size()));
  if (!peer)
    return openssl_error("loading an X25519 public key");
  Owned<EVP_PKEY_CTX> context(EVP_PKEY_CTX_new(key.get(), nullptr));
  if (!context || EVP_PKEY_derive_init(context.get()) != 1)
    return openssl_error("starting X25519");
  Key32 shared{};
  std::size_t size = shared.size();
  // OpenSSL refuses (fails) when the result is all zeros: a low-order peer point.
  if (EVP_PKEY_derive_set_peer(context.get(), peer.get()) != 1 ||
      EVP_PKEY_derive(context.get(), shared.data(), &size) != 1 || size != shared.size()) {
    ERR_clear_error();
    return std::optional<Key32>();
  }
  Key32 zero{};
  if (equal_constant_time(shared, zero))
    return std::optional<Key32>();
  return std::optional<Key32>(shared);
}

bool equal_constant_time(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

void wipe(std::span<std::uint8_t> bytes) {
  OPENSSL_cleanse(bytes.data(), bytes.size());
}

struct ChaChaPoly::Context {
  Owned<EVP_CIPHER_CTX> encrypt;
  Owned<EVP_CIPHER_CTX> decrypt;
};

ChaChaPoly::ChaChaPoly(std::unique_ptr<Context> context) : context_(std::move(context)) {}
ChaChaPoly::ChaChaPoly(ChaChaPoly&&) noexcept = default;
ChaChaPoly& ChaChaPoly::operator=(ChaChaPoly&&) noexcept = default;
ChaChaPoly::~ChaChaPoly() = default;

Result<ChaChaPoly> ChaChaPoly::create(std::span<const std::uint8_t, 32> key) {
  auto context = std::make_unique<Context>();
  context->encrypt.reset(EVP_CIPHER_CTX_new());
  context->decrypt.reset(EVP_CIPHER_CTX_new());
  if (!context->encrypt || !context->decrypt ||
      EVP_EncryptInit_ex(context->encrypt.get(), EVP_chacha20_poly1305(), nullptr, key.data(),
                         nullptr) != 1 ||
      EVP_DecryptInit_ex(context->decrypt.get(), EVP_chacha20_poly1305(), nullptr, key.data(),
                         nullptr) != 1) {
    return openssl_error("setting up ChaCha20-Poly1305");
  }
  return ChaChaPoly(std::move(context));
}

Status ChaChaPoly::seal(std::span<const std::uint8_t, kNonceSize> nonce,
                        std::span<const std::uint8_t> plaintext, std::span<std::uint8_t> out) {
  assert(out.size() >= plaintext.size() + kTagSize);
  EVP_CIPHER_CTX* context = context_->encrypt.get();
  int written = 0;
  int final_written = 0;
  if (EVP_EncryptInit_ex(context, nullptr, nullptr, nullptr, nonce.data()) != 1)
    return openssl_error("ChaCha20-Poly1305 nonce");
  if (!plaintext.empty() && EVP_EncryptUpdate(context, out.data(), &written, plaintext.data(),
                                              to_int(plaintext.size())) != 1) {
    return openssl_error("ChaCha20-Poly1305 encryption");
  }
  if (EVP_EncryptFinal_ex(context, out.data() + written, &final_written) != 1 ||
      static_cast<std::size_t>(written) + static_cast<std::size_t>(final_written) !=
          plaintext.size() ||
      EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_AEAD_GET_TAG, kTagSize,
                          out.data() + plaintext.size()) != 1) {
    return openssl_error("ChaCha20-Poly1305 encryption");
  }
  return {};
}

Result<bool> ChaChaPoly::open(std::span<const std::uint8_t, kNonceSize> nonce,
                              std::span<const std::uint8_t> sealed, std::span<std::uint8_t> out) {
  if (sealed.size() < kTagSize)
    return false;
  std::size_t size = sealed.size() - kTagSize;
  assert(out.size() >= size);
  EVP_CIPHER_CTX* context = context_->decrypt.get();
  int written = 0;
  int final_written = 0;
  if (EVP_DecryptInit_ex(context, nullptr, nullptr, nullptr, nonce.data()) != 1)
    return openssl_error("ChaCha20-Poly1305 nonce");
  if (size > 0 &&
      EVP_DecryptUpdate(context, out.data(), &written, sealed.data(), to_int(size)) != 1) {
    return openssl_error("ChaCha20-Poly1305 decryption");
  }
  if (EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_AEAD_SET_TAG, kTagSize,
                          mutable_data(sealed.last(16))) != 1) {
    return openssl_error("ChaCha20-Poly1305 tag");
  }
  bool verified = EVP_DecryptFinal_ex(context, out.data() + written, &final_written) == 1;
  ERR_clear_error();
  return verified;
}

struct AesGcmDecryptor::Context {
  Owned<EVP_CIPHER_CTX> cipher;
};

AesGcmDecryptor::AesGcmDecryptor(std::unique_ptr<Context> context) : context_(std::move(context)) {}
AesGcmDecryptor::AesGcmDecryptor(AesGcmDecryptor&&) noexcept = default;
AesGcmDecryptor& AesGcmDecryptor::operator=(AesGcmDecryptor&&) noexcept = default;
AesGcmDecryptor::~AesGcmDecryptor() = default;

Result<AesGcmDecryptor> AesGcmDecryptor::create(std::span<const std::uint8_t, 32> key,
                                                std::span<const std::uint8_t> nonce) {
  auto context = std::make_unique<Context>();
  context->cipher.reset(EVP_CIPHER_CTX_new());
  EVP_CIPHER_CTX* cipher = context->cipher.get();
  if (cipher == nullptr ||
      EVP_DecryptInit_ex(cipher, EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(cipher, EVP_CTRL_AEAD_SET_IVLEN, to_int(nonce.size()), nullptr) != 1 ||
      EVP_DecryptInit_ex(cipher, nullptr, nullptr, key.data(), nonce.data()) != 1) {
    return openssl_error("setting up AES-256-GCM");
  }
  return AesGcmDecryptor(std::move(context));
}

Status AesGcmDecryptor::update(std::span<const std::uint8_t> in, std::span<std::uint8_t> out) {
  assert(out.size() >= in.size());
  if (in.empty())
    return {};
  int written = 0;
  if (EVP_DecryptUpdate(context_->cipher.get(), out.data(), &written, in.data(),
                        to_int(in.size())) != 1 ||
      static_cast<std::size_t>(written) != in.size()) {
    return openssl_error("AES-256-GCM decryption");
  }
  return {};
}

Result<bool> AesGcmDecryptor::finish(std::span<const std::uint8_t, 16> tag) {
  EVP_CIPHER_CTX* cipher = context_->cipher.get();
  if (EVP_CIPHER_CTX_ctrl(cipher, EVP_CTRL_AEAD_SET_TAG, 16,
                          mutable_data(std::span<const std::uint8_t>(tag))) != 1) {
    return openssl_error("AES-256-GCM tag");
  }
  std::array<std::uint8_t, 32> rest{};
  int written = 0;
  bool verified = EVP_DecryptFinal_ex(cipher, rest.data(), &written) == 1;
  ERR_clear_error();
  return verified;
}

Result<Bytes> aes_gcm_seal(std::span<const std::uint8_t, 32> key,
                           std::span<const std::uint8_t> nonce,
                           std::span<const std::uint8_t> plaintext) {
  Owned<EVP_CIPHER_CTX> cipher(EVP_CIPHER_CTX_new());
  Bytes out(plaintext.size() + 16);
  int written = 0;
  int final_written = 0;
  if (!cipher ||
      EVP_EncryptInit_ex(cipher.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(cipher.get(), EVP_CTRL_AEAD_SET_IVLEN, to_int(nonce.size()), nullptr) !=
          1 ||
      EVP_EncryptInit_ex(cipher.get(), nullptr, nullptr, key.data(), nonce.data()) != 1 ||
      (!plaintext.empty() && EVP_EncryptUpdate(cipher.get(), out.data(), &written, plaintext.data(),
                                               to_int(plaintext.size())) != 1) ||
      EVP_EncryptFinal_ex(cipher.get(), out.data() + written, &final_written) != 1 ||
      EVP_CIPHER_CTX_ctrl(cipher.get(), EVP_CTRL_AEAD_GET_TAG, 16, out.data() + plaintext.size()) !=
          1) {
    return openssl_error("AES-256-GCM encryption");
  }
  return out;
}

}  // namespace csnap::codec::crypto
