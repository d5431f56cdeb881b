// Fuzz target: Consul's Raft snapshot read offline. Input that starts like gzip is a whole
// snapshot archive (gzip, tar, meta.json, state.bin, SHA256SUMS); anything else is a bare
// state.bin, so that mutations reach the msgpack framing without first breaking a CRC. Every
// record is decoded as the types we restore are: KV entries and config entries.

#include <cstddef>
#include <cstdint>

#include "archive/raft_snapshot.hpp"
#include "fuzz_support.hpp"

// NOLINTNEXTLINE(readability-identifier-naming): libFuzzer's entry point
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace csnap;
  archive::RaftReadOptions options;
  options.decode = [](std::uint8_t) { return true; };  // every record through msgpack-c
  std::uint64_t total = 0;
  options.on_record = [&total](const archive::RaftRecord& record) -> Status {
    if (record.value == nullptr)
      return {};
    if (record.type == static_cast<std::uint8_t>(archive::RaftRecordType::kv)) {
      CSNAP_ASSIGN_OR_RETURN(auto entry, archive::decode_raft_kv_entry(*record.value));
      total += entry.key.size() + entry.value.size();
    } else if (record.type == static_cast<std::uint8_t>(archive::RaftRecordType::config_entry)) {
      CSNAP_ASSIGN_OR_RETURN(auto entry, archive::decode_raft_config_entry(*record.value));
      total += entry.kind.size() + (archive::raft_field(*entry.entry, "Name") != nullptr ? 1 : 0);
    }
    return {};
  };
  MemorySource source(fuzz::as_text(data, size));
  if (size >= 2 && data[0] == 0x1f && data[1] == 0x8b)
    (void)archive::read_raft_snapshot(source, options);
  else
    (void)archive::read_raft_state(source, options);
  return 0;
}
