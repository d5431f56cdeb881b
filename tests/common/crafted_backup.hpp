#pragma once
// Crafted backups for the hostile-input tests: tar archives built by hand, so that their headers
// can say what no honest writer would (a size larger than the data, a sparse member, a name of
// 60,000 digits), in this tool's format or the original Go tool's.

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "archive/meta.hpp"
#include "codec/compression.hpp"
#include "codec/sha256.hpp"

namespace csnap::test_common {

class TarBuilder {
 public:
  // A regular file holding `data`; its header says `declared_size` when given.
  TarBuilder& file(std::string_view name, std::string_view data,
                   std::optional<std::uint64_t> declared_size = std::nullopt) {
    if (name.size() > 99)
      pax_path(name);
    append_header(name.substr(0, std::min<std::size_t>(name.size(), 99)),
                  declared_size.value_or(data.size()), '0');
    append_data(data);
    return *this;
  }

  TarBuilder& directory(std::string_view name) {
    append_header(name, 0, '5');
    return *this;
  }

  // A GNU sparse member of `real_size` bytes that are all hole but its last 512: a few blocks of
  // archive that read as `real_size` bytes of zeros.
  TarBuilder& sparse(std::string_view name, std::uint64_t real_size) {
    std::string header = header_block(name, 512, 'S');
    std::memcpy(&header[257], "ustar  ", 8);  // GNU magic and version
    octal(header, 386, 12, real_size - 512);  // sparse[0].offset
    octal(header, 398, 12, 512);              // sparse[0].numbytes
    octal(header, 483, 12, real_size);        // realsize
    checksum(header);
    bytes_ += header;
    append_data(std::string(512, '0'));
    return *this;
  }

  std::string finish() {
    bytes_.append(1024, '\0');
    return std::move(bytes_);
  }

 private:
  static void octal(std::string& header, std::size_t at, std::size_t width, std::uint64_t value) {
    auto text = fmt::format("{:0{}o}", value, width - 1);
    std::memcpy(&header[at], text.data(), width - 1);
  }

  static void checksum(std::string& header) {
    std::memset(&header[148], ' ', 8);
    unsigned sum = 0;
    for (char c : header)
      sum += static_cast<unsigned char>(c);
    auto text = fmt::format("{:06o}", sum);
    std::memcpy(&header[148], text.data(), 6);
    header[154] = '\0';
  }

  static std::string header_block(std::string_view name, std::uint64_t size, char type) {
    std::string header(512, '\0');
    std::memcpy(header.data(), name.data(), std::min<std::size_t>(name.size(), 100));
    octal(header, 100, 8, type == '5' ? 0755 : 0600);
    octal(header, 108, 8, 0);
    octal(header, 116, 8, 0);
    octal(header, 124, 12, size);
    octal(header, 136, 12, 1700000000);
    header[156] = type;
    std::memcpy(&header[257], "ustar", 6);
    std::memcpy(&header[263], "00", 2);
    return header;
  }

  void append_header(std::string_view name, std::uint64_t size, char type) {
    auto header = header_block(name, size, type);
    checksum(header);
    bytes_ += header;
  }

  void append_data(std::string_view data) {
    bytes_ += data;
    bytes_.append((512 - data.size() % 512) % 512, '\0');
  }

  // A pax extended header giving the next entry the long name `name`.
  void pax_path(std::string_view name) {
    std::string body = fmt::format(" path={}\n", name);
    std::size_t length = body.size() + 1;
    while (std::to_string(length).size() + body.size() != length)
      length = std::to_string(length).size() + body.size();
    std::string record = std::to_string(length) + body;
    append_header("PaxHeader", record.size(), 'x');
    append_data(record);
  }

  std::string bytes_;
};

// meta.json of this tool's format listing `members` (name and contents; `declared_size` overrides
// a member's size) and `kv_count` KV entries.
struct CraftedMember {
  CraftedMember(std::string member_name, std::string member_data,
                std::optional<std::uint64_t> declared = std::nullopt)
      : name(std::move(member_name)), data(std::move(member_data)), declared_size(declared) {}
  std::string name;
  std::string data;
  std::optional<std::uint64_t> declared_size;
};

inline std::string crafted_meta(const std::vector<CraftedMember>& members,
                                std::uint64_t kv_count = 0) {
  archive::Meta meta;
  meta.tool_version = "crafted";
  meta.hostname = "crafted";
  meta.counts["kv"] = kv_count;
  for (const auto& member : members) {
    meta.members.push_back({member.name, member.declared_size.value_or(member.data.size()),
                            codec::Sha256::hex_of(member.data)});
  }
  return archive::meta_to_json(meta);
}

// A backup in this tool's format: meta.json, then `members` as they are.
inline std::string crafted_backup(const std::vector<CraftedMember>& members,
                                  std::uint64_t kv_count = 0) {
  TarBuilder tar;
  tar.file(archive::kMetaMember, crafted_meta(members, kv_count));
  for (const auto& member : members)
    tar.file(member.name, member.data);
  return tar.finish();
}

// `head`, then `zeros` zero bytes, then `tail`, compressed: a few KiB that decompress to as
// much as `zeros` says.
inline std::string compressed(codec::Compression compression, std::string_view head,
                              std::uint64_t zeros = 0, std::string_view tail = {}) {
  StringSink out;
  auto sink = codec::make_compress_sink(compression, out);
  (void)sink->write(head);
  const std::string block(std::size_t{1} << 20, '\0');
  for (; zeros >= block.size(); zeros -= block.size())
    (void)sink->write(block);
  (void)sink->write(std::string_view(block).substr(0, zeros));
  (void)sink->write(tail);
  (void)sink->finish();
  return out.take();
}

}  // namespace csnap::test_common
