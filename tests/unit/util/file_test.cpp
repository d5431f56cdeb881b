#include "util/file.hpp"

#include <filesystem>

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "temp_dir.hpp"
#include "util/stop.hpp"

namespace csnap {
namespace {

namespace fs = std::filesystem;

std::size_t entries(const fs::path& directory) {
  return static_cast<std::size_t>(
      std::distance(fs::directory_iterator(directory), fs::directory_iterator()));
}

Result<std::string> contents(const SpoolFile& file) {
  CSNAP_ASSIGN_OR_RETURN(auto source, file.read());
  return read_all(source);
}

TEST(SpoolFile, HasNoNameWhileItHoldsData) {
  test_common::TempDir dir("csnap-spool-");
  auto file = SpoolFile::create(dir.root());
  ASSERT_TRUE(file.ok()) << file.error().message();
  auto sink = file->rewrite();
  ASSERT_TRUE(sink.ok());
  ASSERT_TRUE(sink->write("secret bytes").ok());
  ASSERT_TRUE(sink->finish().ok());
  // Nothing in the directory that a signal or kill -9 could leave behind.
  EXPECT_EQ(entries(dir.root()), 0u);
  auto text = contents(*file);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, "secret bytes");
  EXPECT_FALSE(file->linkable());
  EXPECT_NE(file->description().find(dir.root().string()), std::string::npos);
}

TEST(SpoolFile, ReadersAreIndependentAndRewriteStartsOver) {
  test_common::TempDir dir("csnap-spool-");
  auto file = SpoolFile::create(dir.root());
  ASSERT_TRUE(file.ok());
  {
    auto sink = file->rewrite();
    ASSERT_TRUE(sink->write("first, longer attempt").ok());
    ASSERT_TRUE(sink->finish().ok());
  }
  auto one = file->read();
  auto two = file->read();
  ASSERT_TRUE(one.ok() && two.ok());
  std::array<std::byte, 5> buffer{};
  ASSERT_EQ(*one->read(buffer), 5u);
  EXPECT_EQ(*read_all(*two), "first, longer attempt");  // not moved on by `one`
  {
    auto sink = file->rewrite();  // a retry starts over
    ASSERT_TRUE(sink->write("retry").ok());
    ASSERT_TRUE(sink->finish().ok());
  }
  EXPECT_EQ(*contents(*file), "retry");
}

TEST(SpoolFile, LinkableFileGetsItsNameInOneStep) {
  test_common::TempDir dir("csnap-spool-");
  auto file = SpoolFile::create(dir.root(), {.linkable = true});
  ASSERT_TRUE(file.ok());
  if (!file->linkable())
    GTEST_SKIP() << "this file system has no O_TMPFILE";
  auto sink = file->rewrite(/*sync=*/true);
  ASSERT_TRUE(sink->write("object").ok());
  ASSERT_TRUE(sink->finish().ok());
  EXPECT_EQ(entries(dir.root()), 0u);
  auto target = dir.root() / "object.bin";
  ASSERT_TRUE(file->link_as(target).ok());
  EXPECT_EQ(*read_file(target), "object");
  struct ::stat info {};
  ASSERT_EQ(::stat(target.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  auto again = file->link_as(target);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().kind(), ErrorKind::conflict);
}

TEST(SpoolFile, PlaintextSpoolCannotBeLinked) {
  test_common::TempDir dir("csnap-spool-");
  auto file = SpoolFile::create(dir.root());
  ASSERT_TRUE(file.ok());
  EXPECT_FALSE(file->link_as(dir.root() / "leak").ok());
  EXPECT_EQ(entries(dir.root()), 0u);
}

TEST(SpoolFile, MissingDirectoryIsAnErrorNamingIt) {
  auto file = SpoolFile::create("/nonexistent/csnap-spool");
  ASSERT_FALSE(file.ok());
  EXPECT_NE(file.error().message().find("/nonexistent/csnap-spool"), std::string::npos);
}

}  // namespace
}  // namespace csnap
