// Fuzz target: DecompressSource (zstd, gzip or pass-through, chosen by content). At most
// fuzz::kMaxOutput bytes are read, so a decompression bomb stops there.

#include <cstddef>
#include <cstdint>

#include "codec/compression.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace csnap;
  MemorySource source(fuzz::as_text(data, size));
  auto decompressed = codec::DecompressSource::open(source);
  if (decompressed)
    fuzz::drain(*decompressed);
  return 0;
}
