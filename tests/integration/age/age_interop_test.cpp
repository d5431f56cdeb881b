// Our age files open with the stock `age` tool and its files open with ours. A missing tool
// skips locally and fails under CI=true.

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include <gtest/gtest.h>
#include <sys/wait.h>

#include "codec/age.hpp"
#include "codec/zstd.hpp"
#include "test_data.hpp"
#include "util/file.hpp"

namespace csnap::codec::age {
namespace {

using test_common::random_bytes;

namespace fs = std::filesystem;

bool running_in_ci() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string_view(ci) == "true";
}

bool have_tool(const std::string& name) {
  return std::system(("command -v " + name + " >/dev/null 2>&1").c_str()) == 0;
}

#define REQUIRE_TOOL(name)                                                       \
  do {                                                                           \
    if (!have_tool(name)) {                                                      \
      if (running_in_ci())                                                       \
        FAIL() << (name) << " not found (CI=true): run scripts/install-deps.sh"; \
      GTEST_SKIP() << (name) << " not found: run scripts/install-deps.sh";       \
    }                                                                            \
  } while (false)

// The exit status of `command` run by the shell.
int run(const std::string& command) {
  int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void write_file(const fs::path& path, std::string_view data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
}

std::string quote(const fs::path& path) {
  return "'" + path.string() + "'";
}

class AgeInteropTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("csnap-age-interop-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    data_ = random_bytes(3 * kChunkSize + 12345, 21);
    write_file(dir_ / "plain.bin", data_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A key made by age-keygen, and our parse of it.
  X25519Identity keygen(const std::string& name) {
    EXPECT_EQ(run("age-keygen -o " + quote(dir_ / name) + " 2>/dev/null"), 0);
    auto text = read_file(dir_ / name);
    EXPECT_TRUE(text);
    auto identities = parse_identity_file(text ? *text : "");
    EXPECT_TRUE(identities) << identities.error().message();
    EXPECT_EQ(identities->size(), 1U);
    return std::move(identities->front());
  }

  std::string encrypt_ours(std::string_view data, EncryptOptions options) {
    StringSink out;
    auto sink = EncryptSink::create(out, std::move(options));
    EXPECT_TRUE(sink) << sink.error().message();
    EXPECT_TRUE((*sink)->write(data));
    EXPECT_TRUE((*sink)->finish());
    return out.take();
  }

  Result<std::string> decrypt_ours(const fs::path& path, const DecryptOptions& options) {
    CSNAP_ASSIGN_OR_RETURN(FileSource file, FileSource::open(path));
    CSNAP_ASSIGN_OR_RETURN(auto source, DecryptSource::open(file, options));
    return read_all(*source);
  }

  // Runs `age` under expect, answering every passphrase prompt with $CSNAP_TEST_PASSPHRASE
  // (kept out of the command line).
  int run_age_with_passphrase(const std::string& arguments, const std::string& passphrase) {
    fs::path script = dir_ / "age.exp";
    write_file(script,
               "set timeout 120\n"
               "spawn -noecho sh -c {exec age " +
                   arguments +
                   "}\n"
                   "expect {\n"
                   "  -re {[Pp]assphrase[^:]*: ?$} { send -- \"$env(CSNAP_TEST_PASSPHRASE)\\r\"; "
                   "exp_continue }\n"
                   "  eof\n"
                   "}\n"
                   "catch wait result\n"
                   "exit [lindex $result 3]\n");
    ::setenv("CSNAP_TEST_PASSPHRASE", passphrase.c_str(), 1);
    int status = run("expect -f " + quote(script) + " >" + quote(dir_ / "expect.log") + " 2>&1");
    ::unsetenv("CSNAP_TEST_PASSPHRASE");
    return status;
  }

  fs::path dir_;
  std::string data_;
};

TEST_F(AgeInteropTest, KeygenRecipientMatchesOurs) {
  REQUIRE_TOOL("age-keygen");
  auto identity = keygen("key.txt");
  ASSERT_EQ(run("age-keygen -y " + quote(dir_ / "key.txt") + " >" + quote(dir_ / "pub.txt")), 0);
  auto public_text = read_file(dir_ / "pub.txt");
  ASSERT_TRUE(public_text);
  EXPECT_EQ(*public_text, identity.recipient().to_string() + "\n");
}

TEST_F(AgeInteropTest, StockAgeDecryptsOurX25519Files) {
  REQUIRE_TOOL("age");
  auto identity = keygen("key.txt");
  auto other = keygen("other.txt");
  EncryptOptions options;
  options.recipients = {other.recipient(), identity.recipient()};
  write_file(dir_ / "ours.age", encrypt_ours(data_, options));
  ASSERT_EQ(run("age -d -i " + quote(dir_ / "key.txt") + " -o " + quote(dir_ / "out.bin") + " " +
                quote(dir_ / "ours.age")),
            0);
  EXPECT_EQ(*read_file(dir_ / "out.bin"), data_);
  // And the empty payload.
  write_file(dir_ / "empty.age", encrypt_ours("", options));
  // (age creates its -o file only on the first byte: redirect instead.)
  ASSERT_EQ(run("age -d -i " + quote(dir_ / "other.txt") + " " + quote(dir_ / "empty.age") + " >" +
                quote(dir_ / "empty.bin")),
            0);
  EXPECT_EQ(fs::file_size(dir_ / "empty.bin"), 0U);
}

TEST_F(AgeInteropTest, StockAgeAndZstdRecoverOurCompressedStream) {
  REQUIRE_TOOL("age");
  REQUIRE_TOOL("zstd");
  auto identity = keygen("key.txt");
  StringSink file;
  EncryptOptions options;
  options.recipients = {identity.recipient()};
  auto encrypt = EncryptSink::create(file, options);
  ASSERT_TRUE(encrypt);
  ZstdCompressSink compress(**encrypt);
  ASSERT_TRUE(compress.write(data_));
  ASSERT_TRUE(compress.finish());
  write_file(dir_ / "backup.tar.zst.age", file.text());
  ASSERT_EQ(run("age -d -i " + quote(dir_ / "key.txt") + " " + quote(dir_ / "backup.tar.zst.age") +
                " | zstd -d -q -o " + quote(dir_ / "out.bin")),
            0);
  EXPECT_EQ(*read_file(dir_ / "out.bin"), data_);
}

TEST_F(AgeInteropTest, WeDecryptStockAgeRecipientFiles) {
  REQUIRE_TOOL("age");
  auto identity = keygen("key.txt");
  auto other = keygen("other.txt");
  ASSERT_EQ(
      run("age -r " + other.recipient().to_string() + " -r " + identity.recipient().to_string() +
          " -o " + quote(dir_ / "theirs.age") + " " + quote(dir_ / "plain.bin")),
      0);
  DecryptOptions options;
  options.identities = {identity};
  auto back = decrypt_ours(dir_ / "theirs.age", options);
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(*back, data_);

  // Through an identity file as age-keygen wrote it.
  ASSERT_EQ(run("age -e -i " + quote(dir_ / "key.txt") + " -o " + quote(dir_ / "self.age") + " " +
                quote(dir_ / "plain.bin")),
            0);
  auto self = decrypt_ours(dir_ / "self.age", options);
  ASSERT_TRUE(self) << self.error().message();
  EXPECT_EQ(*self, data_);

  DecryptOptions stranger;
  stranger.identities = {*X25519Identity::generate()};
  auto refused = decrypt_ours(dir_ / "theirs.age", stranger);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().kind(), ErrorKind::permission_denied);
}

TEST_F(AgeInteropTest, WeDecryptStockAgePassphraseFiles) {
  REQUIRE_TOOL("age");
  REQUIRE_TOOL("expect");
  const std::string passphrase = "interop passphrase 1";
  ASSERT_EQ(
      run_age_with_passphrase(
          "-p -o " + quote(dir_ / "theirs.age") + " " + quote(dir_ / "plain.bin"), passphrase),
      0)
      << read_file(dir_ / "expect.log").value();
  DecryptOptions options;
  options.passphrase = Secret(passphrase);
  auto back = decrypt_ours(dir_ / "theirs.age", options);
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(*back, data_);

  options.passphrase = Secret("not it");
  auto refused = decrypt_ours(dir_ / "theirs.age", options);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().kind(), ErrorKind::permission_denied);
}

TEST_F(AgeInteropTest, StockAgeDecryptsOurPassphraseFiles) {
  REQUIRE_TOOL("age");
  REQUIRE_TOOL("expect");
  const std::string passphrase = "interop passphrase 2";
  EncryptOptions options;
  options.passphrase = Secret(passphrase);
  write_file(dir_ / "ours.age", encrypt_ours(data_, options));
  ASSERT_EQ(run_age_with_passphrase(
                "-d -o " + quote(dir_ / "out.bin") + " " + quote(dir_ / "ours.age"), passphrase),
            0)
      << read_file(dir_ / "expect.log").value();
  EXPECT_EQ(*read_file(dir_ / "out.bin"), data_);
}

}  // namespace
}  // namespace csnap::codec::age
