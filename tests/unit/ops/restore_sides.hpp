#pragma once
// The two sides of a restore, as data: backups written in memory through the real BackupWriter
// (kv.json entries, JSON array members such as acl/*.json, meta.json's kv_prefix), and live KV
// entries as Consul lists them.

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "archive/backup_writer.hpp"
#include "archive/kv_json.hpp"
#include "consul/kv.hpp"
#include "ops/json_member.hpp"
#include "util/io.hpp"

namespace csnap::ops {

struct BackupEntry {
  std::string key;
  std::string value;
  std::uint64_t flags = 0;
};

struct BackupContents {
  std::vector<BackupEntry> kv;
  std::map<std::string, nlohmann::json> json_members{};  // member name -> JSON array
  std::string kv_prefix{};                               // meta.json: a backup of this subtree
};

// The bytes of a zstd-compressed backup holding `contents`; spools in `temp_dir`.
inline std::string backup_bytes(const BackupContents& contents,
                                const std::filesystem::path& temp_dir) {
  archive::BackupWriter writer({.temp_dir = temp_dir});
  auto kv = writer.begin_member(archive::kKvMember);
  EXPECT_TRUE(kv.ok());
  archive::KvJsonWriter kv_writer(**kv);
  for (const auto& entry : contents.kv)
    EXPECT_TRUE(kv_writer.add(entry.key, entry.value, entry.flags).ok());
  EXPECT_TRUE(kv_writer.finish().ok());
  EXPECT_TRUE((*kv)->finish().ok());
  for (const auto& [name, objects] : contents.json_members)
    EXPECT_TRUE(write_json_member(writer, name, objects, "ID").ok()) << name;
  archive::Meta meta;
  meta.tool_version = "test";
  meta.kv_prefix = contents.kv_prefix;
  meta.counts = {{"kv", contents.kv.size()}};
  StringSink out;
  EXPECT_TRUE(writer.write(meta, out, codec::Compression::zstd).ok());
  return out.take();
}

// A live KV entry as Consul lists it, held by `session` when one is given.
inline consul::KvEntry live_entry(std::string key, std::string value, std::uint64_t modify_index,
                                  std::string session = {}) {
  consul::KvEntry entry;
  entry.key = std::move(key);
  entry.value = std::move(value);
  entry.modify_index = modify_index;
  entry.session = std::move(session);
  return entry;
}

}  // namespace csnap::ops
