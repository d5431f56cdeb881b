// raft.snap in a backup: the --mode parser, what meta.json records of the snapshot, and the
// verification inspect and restore rely on, against a real Consul 1.16.3 snapshot.

#include "ops/raft_member.hpp"

#include <filesystem>
#include <fstream>
#include <iterator>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "archive/backup_writer.hpp"
#include "ops/backup.hpp"

namespace csnap::ops {
namespace {

std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string fixture() {
  return slurp(std::filesystem::path(CSNAP_RAFT_DATA) / "consul-1.16.3.snap");
}

TEST(BackupMode, ParsesTheThreeModes) {
  EXPECT_EQ(*parse_backup_mode("logical"), BackupMode::logical);
  EXPECT_EQ(*parse_backup_mode("raft"), BackupMode::raft);
  EXPECT_EQ(*parse_backup_mode("both"), BackupMode::both);
  for (auto mode : {BackupMode::logical, BackupMode::raft, BackupMode::both})
    EXPECT_EQ(*parse_backup_mode(to_string(mode)), mode);
}

TEST(BackupMode, RefusesAnythingElse) {
  for (std::string_view bad : {"", "Raft", "raft ", "snapshot", "logical,raft", "both\n"}) {
    auto mode = parse_backup_mode(bad);
    ASSERT_FALSE(mode.ok()) << bad;
    EXPECT_EQ(mode.error().kind(), ErrorKind::invalid_argument);
    EXPECT_NE(mode.error().message().find("logical, raft or both"), std::string::npos)
        << mode.error().message();
  }
}

TEST(RaftMember, RecordsWhatConsulsInspectCounts) {
  const std::string snapshot = fixture();
  MemorySource source(snapshot);
  auto summary = verify_raft_snapshot(source);
  ASSERT_TRUE(summary.ok()) << summary.error().message();
  auto raft = raft_meta_of(*summary, "1.16.3");
  // `consul snapshot inspect -format json` of the same file.
  auto inspect = nlohmann::json::parse(
      slurp(std::filesystem::path(CSNAP_RAFT_DATA) / "consul-1.16.3.inspect.json"));
  EXPECT_EQ(raft.index, inspect["Meta"]["Index"].get<std::uint64_t>());
  EXPECT_EQ(raft.term, inspect["Meta"]["Term"].get<std::uint64_t>());
  EXPECT_EQ(raft.consul_version, "1.16.3");
  std::map<std::string, std::uint64_t> expected;
  for (const auto& stat : inspect["Stats"])
    expected[stat["Name"].get<std::string>()] = stat["Count"].get<std::uint64_t>();
  EXPECT_EQ(raft.records, expected);
  EXPECT_EQ(raft.kv_keys, expected.at("KVS"));
}

// A backup holding `snapshot` as raft.snap, its meta.json recording `raft`, read back.
Result<archive::BackupReader> backup_with(const std::string& snapshot,
                                          std::optional<archive::RaftMeta> raft,
                                          const std::filesystem::path& dir, std::string& bytes) {
  archive::BackupWriter writer({.temp_dir = dir});
  CSNAP_ASSIGN_OR_RETURN(auto* member, writer.begin_member(archive::kRaftMember));
  CSNAP_TRY(member->write(snapshot));
  CSNAP_TRY(member->finish());
  archive::Meta meta;
  meta.tool_version = "test";
  meta.raft = std::move(raft);
  StringSink out;
  CSNAP_TRY(writer.write(std::move(meta), out, codec::Compression::zstd));
  bytes = out.take();
  MemorySource source(bytes);
  return archive::BackupReader::open(source, dir);
}

class RaftMemberRead : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("csnap-raft-member-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    const std::string snapshot = fixture();
    MemorySource source(snapshot);
    auto summary = verify_raft_snapshot(source);
    ASSERT_TRUE(summary.ok()) << summary.error().message();
    recorded_ = raft_meta_of(*summary, "1.16.3");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path dir_;
  archive::RaftMeta recorded_;
  std::string bytes_;
};

TEST_F(RaftMemberRead, VerifiesTheSnapshotAndMetaAgrees) {
  auto reader = backup_with(fixture(), recorded_, dir_, bytes_);
  ASSERT_TRUE(reader.ok()) << reader.error().message();
  auto verified = verify_raft_member(*reader);
  ASSERT_TRUE(verified.ok()) << verified.error().message();
  ASSERT_TRUE(verified->has_value());
  EXPECT_EQ((*verified)->meta.index, recorded_.index);
  EXPECT_EQ((*verified)->state.kv_keys, recorded_.kv_keys);
}

TEST_F(RaftMemberRead, NoMemberIsNothingToVerify) {
  archive::BackupWriter writer({.temp_dir = dir_});
  StringSink out;
  ASSERT_TRUE(writer.write(archive::Meta{}, out, codec::Compression::gzip).ok());
  MemorySource source(out.text());
  auto reader = archive::BackupReader::open(source, dir_);
  ASSERT_TRUE(reader.ok()) << reader.error().message();
  auto verified = verify_raft_member(*reader);
  ASSERT_TRUE(verified.ok()) << verified.error().message();
  EXPECT_FALSE(verified->has_value());
}

TEST_F(RaftMemberRead, ASnapshotFailingItsOwnChecksumsIsCorrupt) {
  // Our own checksums cover the damaged bytes (the writer hashed them), so only the snapshot's
  // SHA256SUMS, or its gzip CRC, can catch it.
  std::string damaged = fixture();
  damaged[damaged.size() / 2] = static_cast<char>(damaged[damaged.size() / 2] ^ 0x20);
  auto reader = backup_with(damaged, std::nullopt, dir_, bytes_);
  ASSERT_TRUE(reader.ok()) << reader.error().message();
  auto verified = verify_raft_member(*reader);
  ASSERT_FALSE(verified.ok());
  EXPECT_EQ(verified.error().kind(), ErrorKind::corrupt);
  EXPECT_NE(verified.error().message().find("raft.snap"), std::string::npos)
      << verified.error().message();
}

TEST_F(RaftMemberRead, MetaThatDescribesAnotherSnapshotIsCorrupt) {
  auto other = recorded_;
  other.index += 1;
  auto reader = backup_with(fixture(), other, dir_, bytes_);
  ASSERT_TRUE(reader.ok()) << reader.error().message();
  auto verified = verify_raft_member(*reader);
  ASSERT_FALSE(verified.ok());
  EXPECT_EQ(verified.error().kind(), ErrorKind::corrupt);
  EXPECT_NE(verified.error().message().find("not the one meta.json describes"), std::string::npos)
      << verified.error().message();
}

TEST_F(RaftMemberRead, AMemberRestartedIsWrittenFromItsFirstByte) {
  archive::BackupWriter writer({.temp_dir = dir_});
  auto member = writer.begin_member(archive::kRaftMember);
  ASSERT_TRUE(member.ok());
  ASSERT_TRUE((*member)->write(std::string_view("half of a first attempt")).ok());
  ASSERT_TRUE(writer.restart_member(**member).ok());
  std::string snapshot = fixture();
  ASSERT_TRUE((*member)->write(snapshot).ok());
  ASSERT_TRUE((*member)->finish().ok());
  EXPECT_EQ((*member)->size(), snapshot.size());
  auto spooled = writer.read_member(**member);
  ASSERT_TRUE(spooled.ok()) << spooled.error().message();
  auto summary = verify_raft_snapshot(*spooled);
  ASSERT_TRUE(summary.ok()) << summary.error().message();
  EXPECT_EQ(writer.members().at(0).size, snapshot.size());
}

}  // namespace
}  // namespace csnap::ops
