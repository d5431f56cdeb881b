// One suite that every storage backend must pass unchanged: a local directory, and S3 on a real
// SeaweedFS server that checks signatures.

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "backend_fixture.hpp"

namespace csnap::storage {
namespace {

using testing::kTestPageSize;
using testing::kTestPartSize;

std::string pseudo_random_bytes(std::size_t size, std::uint64_t seed) {
  std::mt19937_64 engine(seed);
  std::string out(size, '\0');
  for (auto& c : out)
    c = static_cast<char>(engine() & 0xFFU);
  return out;
}

class BackendConformance : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "local") {
      root_ = testing::make_temp_root();
      backend_ = std::make_unique<LocalBackend>(root_);
      return;
    }
    CSNAP_REQUIRE_SEAWEED(server);
    auto created = S3Backend::create(testing::seaweed_options(
        *server, ::csnap::testing::unique_bucket_name(), ::csnap::testing::SeaweedServer::admin()));
    ASSERT_TRUE(created.ok()) << created.error().message();
    auto bucket_made = (*created)->create_bucket();
    ASSERT_TRUE(bucket_made.ok()) << bucket_made.error().message();
    s3_ = created->get();
    backend_ = std::move(created).value();
  }
  void TearDown() override {
    backend_.reset();
    if (!root_.empty())
      std::filesystem::remove_all(root_);
  }

  // What unfinished uploads left behind: temporary files, or pending multipart uploads.
  std::size_t leftovers() {
    if (s3_ == nullptr)
      return testing::local_leftovers(root_);
    auto pending = s3_->pending_uploads("");
    EXPECT_TRUE(pending.ok()) << pending.error().message();
    return pending.ok() ? pending->size() : 1;
  }

  void put(std::string_view key, const std::string& content, std::size_t chunk = 65543) {
    auto upload = backend_->put(key);
    ASSERT_TRUE(upload.ok()) << upload.error().message();
    for (std::size_t offset = 0; offset < content.size(); offset += chunk) {
      auto written = (*upload)->write(std::string_view(content).substr(offset, chunk));
      ASSERT_TRUE(written.ok()) << written.error().message();
    }
    auto finished = (*upload)->finish();
    ASSERT_TRUE(finished.ok()) << finished.error().message();
  }

  std::string get(std::string_view key) {
    auto source = backend_->get(key);
    EXPECT_TRUE(source.ok()) << key << ": " << source.error().message();
    if (!source.ok())
      return {};
    auto text = read_all(**source);
    EXPECT_TRUE(text.ok()) << text.error().message();
    return text.ok() ? *text : std::string();
  }

  std::vector<std::string> keys(std::string_view prefix = "") {
    auto listed = backend_->list(prefix);
    EXPECT_TRUE(listed.ok()) << listed.error().message();
    std::vector<std::string> out;
    if (listed.ok()) {
      for (const auto& info : *listed)
        out.push_back(info.key);
    }
    return out;
  }

  std::filesystem::path root_;
  std::unique_ptr<Backend> backend_;
  S3Backend* s3_ = nullptr;
};

TEST_P(BackendConformance, RoundTripsEmptyOneByteAndMultipartObjects) {
  const std::string large = pseudo_random_bytes(3 * kTestPartSize + 12345, 7);
  for (const auto& [key, content] : std::vector<std::pair<std::string, std::string>>{
           {"sizes/empty", ""}, {"sizes/one", "\xff"}, {"sizes/large", large}}) {
    SCOPED_TRACE(key);
    put(key, content);
    auto info = backend_->stat(key);
    ASSERT_TRUE(info.ok()) << info.error().message();
    EXPECT_EQ(info->size, content.size());
    EXPECT_GT(info->modified_unix, 1700000000);
    std::string back = get(key);
    EXPECT_EQ(back.size(), content.size());
    EXPECT_TRUE(back == content);
  }
  EXPECT_EQ(keys("sizes/"), (std::vector<std::string>{"sizes/empty", "sizes/large", "sizes/one"}));
  EXPECT_EQ(leftovers(), 0u);
}

TEST_P(BackendConformance, KeysWithSpacesPlusAndUnicodeRoundTrip) {
  const std::vector<std::string> odd = {"odd/with space/a+b=c.tar.zst",
                                        "odd/\xc3\xbcn\xc3\xaf/\xe6\x97\xa5\xe6\x9c\xac.zst",
                                        "odd/~!$&'()*,;@%20.txt"};
  for (const auto& key : odd)
    put(key, "content of " + key);
  auto sorted = odd;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(keys("odd/"), sorted);
  for (const auto& key : odd) {
    EXPECT_EQ(get(key), "content of " + key);
    EXPECT_TRUE(backend_->stat(key).ok()) << key;
  }
  EXPECT_EQ(keys("odd/with space/"), std::vector<std::string>{odd[0]});
}

TEST_P(BackendConformance, ListsMoreThanOnePageInKeyOrderFilteredByPrefix) {
  std::vector<std::string> expected;
  for (int i = 0; i < 3 * kTestPageSize + 1; ++i) {
    auto key = fmt::format("pages/2026/{:02}.tar.zst", i);
    put(key, std::to_string(i));
    expected.push_back(key);
  }
  put("pagesque/other", "x");
  put("elsewhere/x", "y");
  EXPECT_EQ(keys("pages/"), expected);
  EXPECT_EQ(keys("pages").size(), expected.size() + 1);
  EXPECT_EQ(keys("").size(), expected.size() + 2);
  EXPECT_TRUE(keys("nothing-here/").empty());
}

TEST_P(BackendConformance, MissingKeysAreNotFound) {
  EXPECT_EQ(backend_->get("missing/key").error().kind(), ErrorKind::not_found);
  EXPECT_EQ(backend_->stat("missing/key").error().kind(), ErrorKind::not_found);
  EXPECT_EQ(backend_->remove("missing/key").error().kind(), ErrorKind::not_found);
}

TEST_P(BackendConformance, RemoveDeletesOnlyThatKey) {
  put("rm/a", "a");
  put("rm/b", "b");
  ASSERT_TRUE(backend_->remove("rm/a").ok());
  EXPECT_EQ(keys("rm/"), std::vector<std::string>{"rm/b"});
  EXPECT_EQ(backend_->get("rm/a").error().kind(), ErrorKind::not_found);
  EXPECT_EQ(backend_->remove("rm/a").error().kind(), ErrorKind::not_found);
}

TEST_P(BackendConformance, OverwriteReplacesTheWholeObject) {
  put("over/key", "the first, longer version");
  put("over/key", "second");
  EXPECT_EQ(get("over/key"), "second");
  EXPECT_EQ(backend_->stat("over/key")->size, 6u);
  EXPECT_EQ(keys("over/").size(), 1u);
}

TEST_P(BackendConformance, UnfinishedUploadIsInvisibleAndAbandonedLeavesNothing) {
  const std::string content = pseudo_random_bytes(2 * kTestPartSize + kTestPartSize / 2, 9);
  {
    auto upload = backend_->put("partial/backup.tar.zst");
    ASSERT_TRUE(upload.ok());
    ASSERT_TRUE((*upload)->write(std::string_view(content)).ok());
    EXPECT_TRUE(keys("").empty());
    EXPECT_EQ(backend_->get("partial/backup.tar.zst").error().kind(), ErrorKind::not_found);
  }
  EXPECT_TRUE(keys("").empty());
  EXPECT_EQ(leftovers(), 0u);
}

TEST_P(BackendConformance, InvalidKeysAreRefused) {
  for (std::string_view key : {"../escape", "/abs", "a//b", ""}) {
    auto upload = backend_->put(key);
    ASSERT_FALSE(upload.ok()) << key;
    EXPECT_EQ(upload.error().kind(), ErrorKind::invalid_argument);
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, BackendConformance, ::testing::Values("local", "s3"),
                         [](const ::testing::TestParamInfo<std::string>& param) {
                           return param.param;
                         });

}  // namespace
}  // namespace csnap::storage
