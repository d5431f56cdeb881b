// Fuzz target: a whole backup read from bytes, in every format BackupReader detects (this tool's
// tar with meta.json, the original tool's v0.2+ tar, a KV JSON array), under every compression.
// Accepted backups have each member read back, kv.json parsed, and every other JSON member
// parsed as ops/json_member reads it (bounded depth).

#include <cstddef>
#include <cstdint>

#include "archive/backup_reader.hpp"
#include "archive/kv_json.hpp"
#include "fuzz_support.hpp"
#include "util/json_parse.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace csnap;
  auto bytes = fuzz::as_text(data, size);
  {
    MemorySource source(bytes);
    (void)archive::BackupReader::read_meta(source);
  }
  MemorySource source(bytes);
  auto reader = archive::BackupReader::open(source, fuzz::spool_dir());
  if (!reader)
    return 0;
  for (const auto& member : reader->meta().members) {
    auto file = reader->open_member(member.name);
    if (!file)
      continue;
    if (member.name.ends_with(".json") && member.name != archive::kKvMember) {
      if (auto text = read_all(*file, archive::kJsonMemberMaxSize))
        (void)parse_json_document(*text, member.name);
    } else {
      fuzz::drain(*file);
    }
  }
  if (auto kv = reader->open_member(archive::kKvMember)) {
    (void)archive::read_kv_json(*kv, [](archive::KvRecord&&) -> Status { return {}; });
  }
  return 0;
}
