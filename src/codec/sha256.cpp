#include "codec/sha256.hpp"

#include <algorithm>
#include <cassert>
#include <cstdlib>

#include <openssl/evp.h>
#include <openssl/sha.h>

namespace csnap::codec {

struct Sha256::Context {
  EVP_MD_CTX* ctx = nullptr;
};

namespace {

void reset(EVP_MD_CTX* ctx) {
  if (EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) != 1)
    std::abort();
}

}  // namespace

Sha256::Sha256() : context_(std::make_unique<Context>()) {
  context_->ctx = EVP_MD_CTX_new();
  if (context_->ctx == nullptr)
    std::abort();
  reset(context_->ctx);
}

Sha256::Sha256(Sha256&& other) noexcept = default;
Sha256& Sha256::operator=(Sha256&& other) noexcept {
  if (this != &other) {
    if (context_)
      EVP_MD_CTX_free(context_->ctx);
    context_ = std::move(other.context_);
  }
  return *this;
}

Sha256::~Sha256() {
  if (context_)
    EVP_MD_CTX_free(context_->ctx);
}

void Sha256::update(std::span<const std::byte> data) {
  assert(context_);
  if (data.empty())
    return;
  if (EVP_DigestUpdate(context_->ctx, data.data(), data.size()) != 1)
    std::abort();
}

std::string Sha256::hex_digest() {
  assert(context_);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(context_->ctx, digest, &length) != 1)
    std::abort();
  reset(context_->ctx);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(std::size_t{length} * 2);
  for (unsigned int i = 0; i < length; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0xf]);
  }
  return out;
}

std::string Sha256::hex_of(std::string_view data) {
  Sha256 hash;
  hash.update(data);
  return hash.hex_digest();
}

std::array<unsigned char, 32> Sha256::digest_of(std::string_view data) {
  std::array<unsigned char, 32> digest{};
  ::SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest.data());
  return digest;
}

Status HashingSink::write(std::span<const std::byte> data) {
  assert(!finished_);
  hash_.update(data);
  size_ += data.size();
  return downstream_->write(data);
}

Status HashingSink::finish() {
  assert(!finished_);
  CSNAP_TRY(downstream_->finish());
  finished_ = true;
  digest_ = hash_.hex_digest();
  return {};
}

bool is_sha256_hex(std::string_view text) {
  return text.size() == 64 && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

Result<std::size_t> HashingSource::read(std::span<std::byte> buffer) {
  if (at_end_ || buffer.empty())
    return std::size_t{0};
  CSNAP_ASSIGN_OR_RETURN(std::size_t count, upstream_->read(buffer));
  if (count == 0) {
    at_end_ = true;
    digest_ = hash_.hex_digest();
    return count;
  }
  hash_.update(buffer.first(count));
  size_ += count;
  return count;
}

}  // namespace csnap::codec
