#include <random>

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "archive/backup_reader.hpp"
#include "archive/backup_writer.hpp"
#include "archive/kv_json.hpp"
#include "codec/sha256.hpp"
#include "test_support.hpp"

namespace csnap::archive {
namespace {

using codec::Compression;
using namespace std::chrono_literals;
using testing::entry_count;
using testing::run_command;
using testing::ScratchDir;
using testing::slurp;
using testing::spit;

// The original tool's backups and data set (a function: a namespace-scope path could throw before
// main).
std::filesystem::path data_dir() {
  return CSNAP_ORIGINAL_TOOL_DATA;
}

std::string random_bytes(std::size_t size, unsigned seed) {
  std::mt19937 generator(seed);
  std::string out(size, '\0');
  for (auto& c : out)
    c = static_cast<char>(generator());
  return out;
}

std::vector<KvRecord> adversarial_records() {
  std::string every_byte;
  for (int i = 0; i < 256; ++i)
    every_byte.push_back(static_cast<char>(i));
  return {
      {"app/config", "value", 42},
      {"bin/all-bytes", every_byte, 0},
      {"big/512KiB", random_bytes(524288, 3), 18446744073709551615ull},
      {"ctrl/tab\tkey\nline", "", 7},
      {"folder/", "", 0},
      {"unicode/\xc2\xa0nbsp/zwj\xe2\x80\x8dx", std::string(2, '\0'), 1},
  };
}

Meta base_meta() {
  Meta meta;
  meta.tool_version = "0.1.0-test";
  meta.started_at = std::chrono::sys_days(std::chrono::year(2026) / 1 / 2) + 3h + 4min + 5s;
  meta.finished_at = meta.started_at + 7s;
  meta.hostname = "host-a";
  meta.node = "consul-1";
  meta.datacenter = "dc1";
  meta.consul_version = "1.16.3";
  meta.consul_index = 18446744073709551615ull;
  meta.leader = "127.0.0.1:8300";
  return meta;
}

struct Written {
  std::string bytes;
  Meta meta;
  std::map<std::string, std::string> members;  // name -> content
};

// A backup with kv.json, acl/policies.json and raft.snap (1 MiB of random bytes).
Written write_backup(Compression compression, const std::filesystem::path& temp_dir) {
  Written written;
  BackupWriter writer({.temp_dir = temp_dir});
  auto kv = writer.begin_member(kKvMember);
  EXPECT_TRUE(kv);
  KvJsonWriter kv_writer(**kv);
  for (const auto& record : adversarial_records()) {
    EXPECT_TRUE(kv_writer.add(record.key, record.value, record.flags));
  }
  EXPECT_TRUE(kv_writer.finish());
  EXPECT_TRUE((*kv)->finish());

  written.members["acl/policies.json"] = R"([{"Name": "global-management"}])";
  written.members["raft.snap"] = random_bytes(1 << 20, 4);
  for (const auto& name : {"acl/policies.json", "raft.snap"}) {
    auto sink = writer.begin_member(name);
    EXPECT_TRUE(sink);
    EXPECT_TRUE((*sink)->write(std::string_view(written.members[name])));
    EXPECT_TRUE((*sink)->finish());
  }
  written.meta = base_meta();
  written.meta.counts = {{"kv", adversarial_records().size()}, {"acl-policies", 1}};
  StringSink out;
  auto status = writer.write(written.meta, out, compression);
  EXPECT_TRUE(status) << status.error().message();
  written.meta.members = writer.members();
  written.bytes = out.take();

  StringSink kv_text;
  KvJsonWriter again(kv_text);
  for (const auto& record : adversarial_records()) {
    EXPECT_TRUE(again.add(record.key, record.value, record.flags));
  }
  EXPECT_TRUE(again.finish());
  written.members[std::string(kKvMember)] = kv_text.take();
  return written;
}

Result<BackupReader> open_backup(std::string_view bytes, const std::filesystem::path& spool) {
  MemorySource source(bytes);
  return BackupReader::open(source, spool);
}

class BackupRoundTripTest : public ::testing::TestWithParam<Compression> {};

TEST_P(BackupRoundTripTest, ReadsBackWhatWasWritten) {
  ScratchDir scratch;
  std::filesystem::create_directory(scratch / "temp");
  std::filesystem::create_directory(scratch / "spool");
  Written written = write_backup(GetParam(), scratch / "temp");
  EXPECT_EQ(entry_count(scratch / "temp"), 0u) << "spooled members are removed";
  EXPECT_EQ(codec::detect_compression(std::as_bytes(std::span(written.bytes))), GetParam());
  {
    auto reader = open_backup(written.bytes, scratch / "spool");
    ASSERT_TRUE(reader) << reader.error().message();
    EXPECT_EQ(reader->compression(), GetParam());
    EXPECT_EQ(reader->meta(), written.meta);
    ASSERT_EQ(reader->meta().members.size(), 3u);
    EXPECT_EQ(reader->meta().members[0].name, "kv.json");
    for (const auto& [name, content] : written.members) {
      auto member = reader->open_member(name);
      ASSERT_TRUE(member) << name;
      EXPECT_EQ(*read_all(*member), content) << name;
    }
    for (const auto& entry : std::filesystem::directory_iterator(scratch / "spool")) {
      struct stat info {};
      ASSERT_EQ(::stat(entry.path().c_str(), &info), 0);
      EXPECT_EQ(info.st_mode & 0777, 0600u) << entry.path();
    }
    auto kv = reader->open_member(kKvMember);
    ASSERT_TRUE(kv);
    std::vector<KvRecord> records;
    ASSERT_TRUE(read_kv_json(*kv, [&](KvRecord&& record) {
      records.push_back(std::move(record));
      return ok_status();
    }));
    EXPECT_EQ(records, adversarial_records());
    auto missing = reader->open_member("prepared-queries.json");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().kind(), ErrorKind::not_found);
  }
  EXPECT_EQ(entry_count(scratch / "spool"), 0u) << "spooled members are removed";
}

INSTANTIATE_TEST_SUITE_P(AllCompressions, BackupRoundTripTest,
                         ::testing::Values(Compression::zstd, Compression::gzip, Compression::none),
                         [](const auto& param_info) {
                           return std::string(codec::to_string(param_info.param));
                         });

TEST(BackupWriterTest, RefusesUnfinishedAndDuplicateMembers) {
  ScratchDir scratch;
  BackupWriter writer({.temp_dir = scratch.path()});
  ASSERT_TRUE(writer.begin_member("kv.json"));
  EXPECT_FALSE(writer.begin_member("kv.json"));
  EXPECT_FALSE(writer.begin_member("meta.json"));
  EXPECT_FALSE(writer.begin_member("../escape"));
  StringSink out;
  auto status = writer.write(base_meta(), out, Compression::zstd);
  ASSERT_FALSE(status);
  EXPECT_NE(status.error().message().find("kv.json"), std::string::npos);
}

// Independent tools: the stock zstd, gzip, tar and sha256sum read what BackupWriter wrote.
class StockToolsTest : public ::testing::TestWithParam<Compression> {};

TEST_P(StockToolsTest, ExtractWithZstdOrGzipAndTar) {
  ScratchDir scratch;
  Written written = write_backup(GetParam(), scratch.path());
  bool zstd = GetParam() == Compression::zstd;
  auto file = scratch / (zstd ? "b.tar.zst" : "b.tar.gz");
  spit(file, written.bytes);

  std::filesystem::path tar_file = scratch / "b.tar";
  if (zstd) {
    ASSERT_EQ(
        run_command({"zstd", "-q", "-d", file.string(), "-o", tar_file.string()}, scratch.path())
            .exit_code,
        0);
  } else {
    ASSERT_EQ(run_command({"gzip", "-t", file.string()}, scratch.path()).exit_code, 0);
  }
  std::vector<std::string> list = {"tar", "--numeric-owner", "-tvf",
                                   zstd ? tar_file.string() : file.string()};
  if (!zstd)
    list.insert(list.begin() + 2, "-z");
  auto listing = run_command(list, scratch.path());
  ASSERT_EQ(listing.exit_code, 0);
  std::istringstream lines(listing.output);
  std::vector<std::string> names;
  for (std::string line; std::getline(lines, line);) {
    EXPECT_EQ(line.rfind("-rw------- 0/0", 0), 0u) << line;
    EXPECT_NE(line.find("2026-01-02 03:04"), std::string::npos)
        << line;  // mtime = started_at (UTC)
    names.push_back(line.substr(line.rfind(' ') + 1));
  }
  ASSERT_EQ(names,
            (std::vector<std::string>{"meta.json", "kv.json", "acl/policies.json", "raft.snap"}));

  auto out = scratch / "x";
  std::filesystem::create_directory(out);
  std::vector<std::string> extract = {"tar", "-xf", zstd ? tar_file.string() : file.string(), "-C",
                                      out.string()};
  if (!zstd)
    extract[1] = "-xzf";
  ASSERT_EQ(run_command(extract, scratch.path()).exit_code, 0);
  for (const auto& [name, content] : written.members) {
    EXPECT_EQ(slurp(out / name), content) << name;
  }
  auto meta = meta_from_json(slurp(out / "meta.json"));
  ASSERT_TRUE(meta) << meta.error().message();
  EXPECT_EQ(*meta, written.meta);
  for (const auto& member : meta->members) {
    auto sum = run_command({"sha256sum", (out / member.name).string()}, scratch.path());
    ASSERT_EQ(sum.exit_code, 0);
    EXPECT_EQ(sum.output.substr(0, 64), member.sha256) << member.name;
  }
}

INSTANTIATE_TEST_SUITE_P(Compressed, StockToolsTest,
                         ::testing::Values(Compression::zstd, Compression::gzip),
                         [](const auto& param_info) {
                           return std::string(codec::to_string(param_info.param));
                         });

// Damage: every variant must be refused with ErrorKind::corrupt, leaving no spooled file.
void expect_corrupt(std::string_view bytes, std::string_view expected, const std::string& what) {
  ScratchDir spool;
  auto reader = open_backup(bytes, spool.path());
  ASSERT_FALSE(reader) << what << " was accepted";
  EXPECT_EQ(reader.error().kind(), ErrorKind::corrupt) << what << ": " << reader.error().message();
  EXPECT_NE(reader.error().message().find(expected), std::string::npos)
      << what << ": " << reader.error().message();
  EXPECT_EQ(entry_count(spool.path()), 0u) << what;
  if (std::getenv("CSNAP_PRINT_ERRORS") != nullptr) {
    std::fprintf(stderr, "%s -> %s\n", what.c_str(), reader.error().message().c_str());
  }
}

class BackupDamageTest : public ::testing::TestWithParam<Compression> {};

TEST_P(BackupDamageTest, FlippedBytesAreRefused) {
  ScratchDir scratch;
  std::string bytes = write_backup(GetParam(), scratch.path()).bytes;
  std::size_t size = bytes.size();
  // Early positions hold meta.json, the middle the members, the end the frame's tail and
  // checksum. gzip's first 10 header bytes are not covered by its CRC and are skipped.
  for (std::size_t at :
       {std::size_t{12}, std::size_t{40}, std::size_t{100}, std::size_t{300}, size / 4, size / 2,
        size * 3 / 4, size - 12, size - 8, size - 4, size - 1}) {
    std::string damaged = bytes;
    damaged[at] = static_cast<char>(damaged[at] ^ 0x01);
    expect_corrupt(damaged, "", "flip at " + std::to_string(at) + " of " + std::to_string(size));
  }
}

TEST_P(BackupDamageTest, TruncationsAreRefused) {
  ScratchDir scratch;
  std::string bytes = write_backup(GetParam(), scratch.path()).bytes;
  std::size_t size = bytes.size();
  for (std::size_t cut : {std::size_t{0}, std::size_t{3}, std::size_t{10}, std::size_t{100},
                          std::size_t{1000}, size / 2, size - 100, size - 20, size - 1}) {
    expect_corrupt(std::string_view(bytes).substr(0, cut), "",
                   "cut at " + std::to_string(cut) + " of " + std::to_string(size));
  }
  expect_corrupt("", "empty", "empty file");
}

TEST_P(BackupDamageTest, AppendedGarbageIsRefused) {
  ScratchDir scratch;
  std::string bytes = write_backup(GetParam(), scratch.path()).bytes;
  expect_corrupt(bytes + "GARBAGE", "garbage", "appended text");
  expect_corrupt(bytes + std::string(100, '\0'), to_string(GetParam()), "appended zeros");
  expect_corrupt(bytes + bytes, "data after the end of the tar archive", "two backups");
}

INSTANTIATE_TEST_SUITE_P(Compressed, BackupDamageTest,
                         ::testing::Values(Compression::zstd, Compression::gzip),
                         [](const auto& param_info) {
                           return std::string(codec::to_string(param_info.param));
                         });

TEST(BackupDamageTest, UncompressedFlipsAreNamed) {
  ScratchDir scratch;
  Written written = write_backup(Compression::none, scratch.path());
  std::size_t raft = written.bytes.find(written.members["raft.snap"].substr(0, 64));
  ASSERT_NE(raft, std::string::npos);
  std::string damaged = written.bytes;
  damaged[raft + 5000] ^= 0x10;
  expect_corrupt(damaged, "raft.snap: SHA-256 mismatch (expected ", "flip in raft.snap");

  std::size_t meta = written.bytes.find("{\n  \"format\"");
  ASSERT_NE(meta, std::string::npos);
  damaged = written.bytes;
  damaged[meta] = 'x';
  expect_corrupt(damaged, "meta.json: not valid JSON", "flip in meta.json");
  expect_corrupt(written.bytes + "GARBAGE", "data after the end of the tar archive",
                 "garbage after an uncompressed tar");
}

using Entries = std::vector<std::pair<std::string, std::string>>;

// A tar of `entries`, as libarchive writes it, compressed with zstd.
std::string make_backup(const Entries& entries, std::string_view after_tar = "") {
  struct archive* handle = archive_write_new();
  archive_write_set_format_pax_restricted(handle);
  StringSink tar;
  archive_write_open(
      handle, &tar, nullptr,
      [](struct archive*, void* client, const void* data, size_t size) -> la_ssize_t {
        (void)static_cast<StringSink*>(client)->write(
            std::span(static_cast<const std::byte*>(data), size));
        return static_cast<la_ssize_t>(size);
      },
      nullptr);
  for (const auto& [name, content] : entries) {
    struct archive_entry* entry = archive_entry_new();
    archive_entry_set_pathname(entry, name.c_str());
    archive_entry_set_filetype(entry, AE_IFREG);
    archive_entry_set_perm(entry, 0600);
    archive_entry_set_size(entry, static_cast<la_int64_t>(content.size()));
    archive_write_header(handle, entry);
    archive_write_data(handle, content.data(), content.size());
    archive_entry_free(entry);
  }
  archive_write_close(handle);
  archive_write_free(handle);
  StringSink out;
  auto compressor = codec::make_compress_sink(Compression::zstd, out);
  EXPECT_TRUE(compressor->write(std::string_view(tar.text())));
  EXPECT_TRUE(compressor->write(after_tar));
  EXPECT_TRUE(compressor->finish());
  return out.take();
}

std::string meta_listing(const Entries& entries) {
  Meta meta = base_meta();
  for (const auto& [name, content] : entries) {
    meta.members.push_back({name, content.size(), codec::Sha256::hex_of(content)});
  }
  return meta_to_json(meta);
}

TEST(BackupStructureTest, HandMadeBackupIsAccepted) {
  Entries members = {{"kv.json", "[]\n"}, {"raft.snap", "snapshot"}};
  Entries entries = {{"meta.json", meta_listing(members)}, members[0], members[1]};
  ScratchDir spool;
  auto reader = open_backup(make_backup(entries), spool.path());
  ASSERT_TRUE(reader) << reader.error().message();
}

TEST(BackupStructureTest, StructuralDamageIsRefusedAndNamed) {
  Entries members = {{"kv.json", "[]\n"}, {"raft.snap", "snapshot"}};
  std::string meta = meta_listing(members);
  const auto& kv = members[0];
  const auto& raft = members[1];
  expect_corrupt(make_backup({{"meta.json", meta}, kv}),
                 "raft.snap: listed in meta.json but missing", "dropped member");
  expect_corrupt(make_backup({{"meta.json", meta}, kv, raft, kv}), "kv.json: member appears twice",
                 "duplicated member");
  expect_corrupt(make_backup({{"meta.json", meta}, kv, raft, {"extra.json", "{}"}}),
                 "extra.json: member not listed in meta.json", "unlisted member");
  expect_corrupt(make_backup({kv, {"meta.json", meta}, raft}),
                 "meta.json is not the first member (the first is kv.json)", "meta second");
  expect_corrupt(make_backup({{"meta.json", meta}, kv, {"meta.json", meta}, raft}),
                 "meta.json appears twice", "meta twice");
  // An empty tar is only zeros: nothing says it is a tar at all.
  expect_corrupt(make_backup({}), "not a backup", "empty tar");
  expect_corrupt(make_backup({{"meta.json", meta}, {"kv.json", "[ ]"}, raft}),
                 "kv.json: SHA-256 mismatch (expected ", "same size, other bytes");
  // Not JSON: stopped while it is spooled, at the bad byte.
  expect_corrupt(make_backup({{"meta.json", meta}, {"kv.json", "[}\n"}, raft}),
                 "kv.json: invalid JSON at byte 1", "same size, not JSON");
  expect_corrupt(make_backup({{"meta.json", meta}, {"kv.json", "[]"}, raft}),
                 "kv.json: size mismatch (expected 3 bytes, got 2)", "shorter member");
  expect_corrupt(make_backup({{"meta.json", meta}, {"kv.json", "[]\n\n"}, raft}),
                 "kv.json: its tar header says 4 bytes, more than the 3 bytes meta.json declares",
                 "longer member");
  expect_corrupt(make_backup({{"meta.json", "{}"}, kv}), "meta.json: missing field", "bad meta");
  expect_corrupt(make_backup({{"meta.json", meta}, kv, raft}, "trailing text"),
                 "data after the end of the tar archive", "data after the tar");
}

TEST(BackupStructureTest, NotABackupIsRefused) {
  expect_corrupt("just some text that is long enough to look at", "not a backup", "plain text");
  ASSERT_TRUE(std::filesystem::exists(data_dir() / "v03-plain.tar.gz"))
      << "test data missing: " << (data_dir() / "v03-plain.tar.gz")
      << " (the shared/ folder beside the repository)";
}

// The original tool's backups read as the current format's members, verified with the SHA-256s
// of their own meta.json; the KV data is the dataset's, key for key (flags and values included).
TEST(OriginalToolDataTest, OriginalBackupsReadAsMembers) {
  auto expected_kv = slurp(data_dir() / "dataset-consul-kv-export.json");
  std::vector<KvRecord> expected;
  MemorySource expected_source(expected_kv);
  ASSERT_TRUE(read_kv_json(expected_source, [&](KvRecord&& record) {
    expected.push_back(std::move(record));
    return Status{};
  }));
  ASSERT_EQ(expected.size(), 51u);

  for (const char* name : {"v03-plain.tar.gz", "v01-plain.gz", "dataset-consul-kv-export.json"}) {
    SCOPED_TRACE(name);
    std::string bytes = slurp(data_dir() / name);
    MemorySource upstream(bytes);
    auto reader = BackupReader::open(upstream, std::filesystem::temp_directory_path());
    ASSERT_TRUE(reader.ok()) << reader.error().message();
    auto member = reader->open_member(kKvMember);
    ASSERT_TRUE(member.ok());
    std::vector<KvRecord> records;
    ASSERT_TRUE(read_kv_json(*member, [&](KvRecord&& record) {
      records.push_back(std::move(record));
      return Status{};
    }));
    EXPECT_EQ(records, expected);
    if (std::string_view(name) == "v03-plain.tar.gz") {
      EXPECT_EQ(reader->format(), BackupFormat::original_tar);
      EXPECT_EQ(reader->meta().tool_version, "0.3.1");
      EXPECT_EQ(reader->meta().node, "orig-probe");
      EXPECT_TRUE(reader->has_member(kPreparedQueriesMember));
      auto queries = reader->open_member(kPreparedQueriesMember);
      ASSERT_TRUE(queries.ok());
      EXPECT_NE(read_all(*queries)->find("fixture-pq"), std::string::npos);
    } else {
      EXPECT_EQ(reader->format(), BackupFormat::kv_json);
      EXPECT_FALSE(reader->has_member(kPreparedQueriesMember));
    }
  }
}

TEST(OriginalToolDataTest, DamagedOriginalBackupIsRefused) {
  std::string bytes = slurp(data_dir() / "v03-plain.tar.gz");
  // Decompress, change one byte of the KV file's contents, and compress again: only the
  // original's own SHA-256 in its meta.json can notice.
  MemorySource upstream(bytes);
  auto source = codec::DecompressSource::open(upstream);
  ASSERT_TRUE(source);
  auto tar = read_all(*source);
  ASSERT_TRUE(tar);
  auto at = tar->find("UPPER/Mixed/Case");
  ASSERT_NE(at, std::string::npos);
  (*tar)[at] = 'L';
  StringSink recompressed;
  auto gzip = codec::make_compress_sink(Compression::gzip, recompressed);
  ASSERT_TRUE(gzip->write(std::string_view(*tar)));
  ASSERT_TRUE(gzip->finish());
  MemorySource damaged(recompressed.text());
  auto reader = BackupReader::open(damaged, std::filesystem::temp_directory_path());
  ASSERT_FALSE(reader.ok());
  EXPECT_EQ(reader.error().kind(), ErrorKind::corrupt);
  EXPECT_NE(reader.error().message().find("KVSha256"), std::string::npos)
      << reader.error().message();
}

TEST(OriginalToolDataTest, GzipOfOriginalBackupsDecompresses) {
  ASSERT_TRUE(std::filesystem::exists(data_dir() / "v03-plain.tar.gz"))
      << "test data missing: " << (data_dir() / "v03-plain.tar.gz")
      << " (the shared/ folder beside the repository)";
  for (const char* name : {"v03-plain.tar.gz", "v01-plain.gz"}) {
    std::string bytes = slurp(data_dir() / name);
    MemorySource upstream(bytes);
    auto source = codec::DecompressSource::open(upstream);
    ASSERT_TRUE(source);
    EXPECT_EQ(source->compression(), Compression::gzip);
    auto all = read_all(*source);
    ASSERT_TRUE(all) << name << ": " << all.error().message();
    EXPECT_GT(all->size(), 524288u) << name;
  }
}

}  // namespace
}  // namespace csnap::archive
