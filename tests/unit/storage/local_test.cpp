#include "storage/local.hpp"

#include <filesystem>
#include <fstream>
#include <random>

#include <gtest/gtest.h>
#include <sys/stat.h>

namespace csnap::storage {
namespace {

namespace fs = std::filesystem;

class LocalBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("csnap-local-" + std::to_string(std::random_device{}()));
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  fs::path root_;
};

TEST_F(LocalBackendTest, PutIsInvisibleUntilFinished) {
  LocalBackend backend(root_);
  auto upload = backend.put("backups/2026/11/27/host.consul.snapshot.1.tar.zst");
  ASSERT_TRUE(upload.ok()) << upload.error().message();
  ASSERT_TRUE((*upload)->write(std::string_view("hello")).ok());
  EXPECT_TRUE(backend.list("")->empty());
  ASSERT_TRUE((*upload)->finish().ok());

  auto listed = backend.list("backups/");
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].key, "backups/2026/11/27/host.consul.snapshot.1.tar.zst");
  EXPECT_EQ((*listed)[0].size, 5u);

  struct ::stat info {};
  ASSERT_EQ(::stat((root_ / (*listed)[0].key).c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600);

  auto source = backend.get((*listed)[0].key);
  ASSERT_TRUE(source.ok());
  EXPECT_EQ(*read_all(**source), "hello");
}

TEST_F(LocalBackendTest, DirectoriesItCreatesAreOwnerOnly) {
  ::mode_t old_umask = ::umask(022);  // the usual umask, which leaves new directories 0755
  fs::create_directories(root_ / "existing");
  fs::permissions(root_ / "existing", fs::perms(0755));
  LocalBackend backend(root_ / "existing" / "new-root");
  auto upload = backend.put("backups/2026/11/27/host.consul.snapshot.1.tar.zst");
  ::umask(old_umask);
  ASSERT_TRUE(upload.ok()) << upload.error().message();
  ASSERT_TRUE((*upload)->write(std::string_view("x")).ok());
  ASSERT_TRUE((*upload)->finish().ok());
  auto mode_of = [](const fs::path& path) {
    struct ::stat info {};
    EXPECT_EQ(::stat(path.c_str(), &info), 0) << path;
    return info.st_mode & 07777;
  };
  fs::path directory = root_ / "existing" / "new-root";
  EXPECT_EQ(mode_of(directory), 0700U);
  for (const char* part : {"backups", "2026", "11", "27"}) {
    directory /= part;
    EXPECT_EQ(mode_of(directory), 0700U) << directory;
  }
  EXPECT_EQ(mode_of(root_ / "existing"), 0755U);  // not ours to change
  EXPECT_EQ(mode_of(directory / "host.consul.snapshot.1.tar.zst"), 0600U);

  // A file where a directory should be is an error that names it.
  std::ofstream(root_ / "existing" / "new-root" / "file") << "x";
  auto blocked = backend.put("file/inside.tar.zst");
  ASSERT_FALSE(blocked.ok());
  EXPECT_NE(blocked.error().message().find("is not a directory"), std::string::npos)
      << blocked.error().message();
}

TEST_F(LocalBackendTest, AbandonedUploadLeavesNothing) {
  LocalBackend backend(root_);
  {
    auto upload = backend.put("a/b.tar.zst");
    ASSERT_TRUE(upload.ok());
    ASSERT_TRUE((*upload)->write(std::string_view("partial")).ok());
  }
  EXPECT_TRUE(backend.list("")->empty());
  std::size_t files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(root_)) {
    files += entry.is_regular_file() ? 1 : 0;
  }
  EXPECT_EQ(files, 0u);
}

TEST_F(LocalBackendTest, KeysCannotLeaveTheRoot) {
  LocalBackend backend(root_);
  for (std::string_view key : {"../escape", "a/../../b", "/etc/passwd", "a//b", "", "./a"}) {
    auto upload = backend.put(key);
    ASSERT_FALSE(upload.ok()) << key;
    EXPECT_EQ(upload.error().kind(), ErrorKind::invalid_argument);
    EXPECT_FALSE(backend.get(key).ok()) << key;
  }
}

TEST_F(LocalBackendTest, MissingObjectIsNotFound) {
  LocalBackend backend(root_);
  auto source = backend.get("nope.tar.zst");
  ASSERT_FALSE(source.ok());
  EXPECT_EQ(source.error().kind(), ErrorKind::not_found);
  EXPECT_EQ(backend.stat("nope.tar.zst").error().kind(), ErrorKind::not_found);
}

TEST_F(LocalBackendTest, ListFiltersByPrefixInKeyOrderAndRemoves) {
  LocalBackend backend(root_);
  for (std::string_view key : {"p/2", "p/1", "q/1"}) {
    auto upload = backend.put(key);
    ASSERT_TRUE(upload.ok());
    ASSERT_TRUE((*upload)->finish().ok());
  }
  auto listed = backend.list("p/");
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].key, "p/1");
  EXPECT_EQ((*listed)[1].key, "p/2");
  ASSERT_TRUE(backend.remove("p/1").ok());
  EXPECT_EQ(backend.list("p/")->size(), 1u);
  EXPECT_EQ(backend.remove("p/1").error().kind(), ErrorKind::not_found);
}

}  // namespace
}  // namespace csnap::storage
