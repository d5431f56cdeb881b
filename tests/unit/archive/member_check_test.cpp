// The current format's verification step on its own: what meta.json lists against what the reader
// met, without a tar around it (backup_test.cpp covers the same rules through whole backups).

#include "archive/member_check.hpp"

#include <gtest/gtest.h>

#include "archive/backup_reader.hpp"

namespace csnap::archive::detail {
namespace {

std::string kv_hash() {
  return std::string(64, 'a');
}
std::string raft_hash() {
  return std::string(64, 'b');
}

Meta listing(std::vector<MemberInfo> members) {
  Meta meta;
  meta.members = std::move(members);
  return meta;
}

Meta kv_and_raft() {
  return listing({{"kv.json", 3, kv_hash()}, {"raft.snap", 10, raft_hash()}});
}

std::string message_of(const Status& status) {
  return status.ok() ? std::string("(no error)") : status.error().message();
}

TEST(MemberCheckTest, JsonMembersOtherThanKvMayNotDeclareMoreThanTheCap) {
  EXPECT_TRUE(MemberCheck::start(listing({{"acl/tokens.json", kJsonMemberMaxSize, kv_hash()}})));
  EXPECT_TRUE(MemberCheck::start(listing({{"kv.json", kJsonMemberMaxSize + 1, kv_hash()}})));
  EXPECT_TRUE(MemberCheck::start(listing({{"raft.snap", kJsonMemberMaxSize + 1, kv_hash()}})));

  auto huge = MemberCheck::start(listing({{"acl/tokens.json", kJsonMemberMaxSize + 1, kv_hash()}}));
  ASSERT_FALSE(huge);
  EXPECT_EQ(huge.error().kind(), ErrorKind::corrupt);
  EXPECT_EQ(huge.error().message(),
            "acl/tokens.json: meta.json declares 67108865 bytes, more than the 67108864 bytes a "
            "JSON member may hold");
}

TEST(MemberCheckTest, AdmitsListedMembersOnceAndBoundsThemByTheirDeclaredSize) {
  auto check = MemberCheck::start(kv_and_raft());
  ASSERT_TRUE(check);

  auto raft = check->admit("raft.snap");
  ASSERT_TRUE(raft) << raft.error().message();
  EXPECT_EQ(raft->bytes, 10u);
  EXPECT_EQ(raft->what, "the 10 bytes meta.json declares");

  auto unlisted = check->admit("extra.json");
  ASSERT_FALSE(unlisted);
  EXPECT_EQ(unlisted.error().message(), "extra.json: member not listed in meta.json");

  check->record("raft.snap", 10, raft_hash());
  auto again = check->admit("raft.snap");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().message(), "raft.snap: member appears twice");
  EXPECT_TRUE(check->admit("kv.json"));
}

TEST(MemberCheckTest, FinishWantsEveryListedMemberWithItsSizeAndHash) {
  auto met = [](std::uint64_t kv_size, const std::string& kv_sha256, bool with_raft) {
    auto check = MemberCheck::start(kv_and_raft());
    EXPECT_TRUE(check);
    if (with_raft)
      check->record("raft.snap", 10, raft_hash());  // met in another order than listed
    check->record("kv.json", kv_size, kv_sha256);
    return check->finish();
  };
  EXPECT_EQ(message_of(met(3, kv_hash(), true)), "(no error)");
  EXPECT_EQ(message_of(met(3, kv_hash(), false)),
            "raft.snap: listed in meta.json but missing from the backup");
  EXPECT_EQ(message_of(met(2, kv_hash(), true)),
            "kv.json: size mismatch (expected 3 bytes, got 2)");
  EXPECT_EQ(message_of(met(3, raft_hash(), true)),
            "kv.json: SHA-256 mismatch (expected aaaaaaaaaaaa.., got bbbbbbbbbbbb..)");
}

}  // namespace
}  // namespace csnap::archive::detail
