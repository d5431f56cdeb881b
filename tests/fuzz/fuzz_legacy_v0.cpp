// Fuzz target: the original tool's "v0:" decryption (AES-256-GCM, key from scrypt with the fixed
// N=16384 of that format). Each input that gets as far as key derivation costs one such scrypt
// (about 16 MiB and tens of milliseconds), which is why the replay test runs few mutations here.

#include <cstddef>
#include <cstdint>

#include "codec/legacy_crypt.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace csnap;
  auto bytes = fuzz::as_text(data, size);
  (void)codec::looks_like_legacy_v0(std::as_bytes(std::span(bytes.data(), bytes.size())));
  MemorySource source(bytes);
  Secret passphrase("correct horse battery staple");
  auto decrypted = codec::LegacyV0DecryptSource::open(source, passphrase, fuzz::spool_dir());
  if (decrypted)
    fuzz::drain(**decrypted);
  return 0;
}
