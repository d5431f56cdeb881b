// Fuzz target: age decryption (header parsing, stanza unwrapping, the STREAM payload) with a
// fixed X25519 identity, and again with a fixed passphrase. The scrypt work factor is capped at
// kMaxWorkFactor: a header asking for more is refused before any scrypt work (DecryptOptions::
// max_scrypt_work_factor), so no input can make an iteration slow.
//
// The identity and passphrase are those of the C2SP age test vectors "x25519" and "scrypt"
// (../shared/testdata/age-vectors), some of which are in the corpus.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "codec/age.hpp"
#include "fuzz_support.hpp"

namespace {

constexpr int kMaxWorkFactor = 10;  // the vectors use 10: 1024 iterations of scrypt's core
constexpr std::string_view kIdentity =
    "AGE-SECRET-KEY-1EGTZVFFV20835NWYV6270LXYVK2VKNX2MMDKWYKLMGR48UAWX40Q2P2LM0";

void decrypt(std::string_view bytes, const csnap::codec::age::DecryptOptions& options) {
  csnap::MemorySource source(bytes);
  auto decrypted = csnap::codec::age::DecryptSource::open(source, options);
  if (decrypted)
    csnap::fuzz::drain(**decrypted);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace csnap;
  using namespace csnap::codec;
  auto bytes = fuzz::as_text(data, size);

  (void)age::looks_like_age(std::as_bytes(std::span(bytes.data(), bytes.size())));
  {
    MemorySource source(bytes);
    if (auto types = age::recipient_types(source))
      (void)age::describe_needed_key(*types);
  }

  auto identity = age::X25519Identity::parse(kIdentity);
  if (!identity)
    std::abort();  // the fixed identity must parse: a bug, not a finding of this input
  age::DecryptOptions with_identity;
  with_identity.identities.push_back(std::move(*identity));
  with_identity.max_scrypt_work_factor = kMaxWorkFactor;
  decrypt(bytes, with_identity);

  age::DecryptOptions with_passphrase;
  with_passphrase.passphrase = Secret("password");
  with_passphrase.max_scrypt_work_factor = kMaxWorkFactor;
  decrypt(bytes, with_passphrase);
  return 0;
}
