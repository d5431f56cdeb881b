// Fuzz target: kv.json (and `consul kv export` / the original tool's KV JSON) parsed entry by
// entry. Every record handed out must be valid enough to use: its key is checked for UTF-8 by
// the reader, and the parse must end with a result, never a crash.

#include <cstddef>
#include <cstdint>

#include "archive/kv_json.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace csnap;
  MemorySource source(fuzz::as_text(data, size));
  std::size_t total = 0;
  (void)archive::read_kv_json(source, [&total](archive::KvRecord&& record) -> Status {
    total += record.key.size() + record.value.size();
    return {};
  });
  return 0;
}
