// A backup is untrusted input (docs/runbook.md, "What was tried"): every crafted file here,
// read by the real binary under a 64 MiB file-size limit (prlimit --fsize), ends with a message
// and exit code 1, 2 or 3, never a signal, and leaves SNAPSHOT_TMP_DIR empty.

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli_test.hpp"
#include "crafted_backup.hpp"
#include "server_process.hpp"

namespace csnap::testing {
namespace {

namespace fs = std::filesystem;
using namespace csnap::test_common;

constexpr std::uint64_t kMiB = std::uint64_t{1024} * 1024;

void write_file(const fs::path& path, std::string_view bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

std::vector<std::string> entries_of(const fs::path& directory) {
  std::vector<std::string> names;
  for (const auto& entry : fs::recursive_directory_iterator(directory))
    names.push_back(entry.path().string());
  return names;
}

// The tool under a 64 MiB file-size limit.
Run run_limited(const std::vector<std::string>& args,
                const std::map<std::string, std::string>& env) {
  std::vector<std::string> argv{"prlimit", "--fsize=67108864", "--", CSNAP_TOOL_PATH};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, env);
}

// An error exit (1, 2 or 3), not a signal (128+N), with `message` in its output.
void expect_refused(const Run& result, std::string_view message) {
  EXPECT_TRUE(result.exit_code >= 1 && result.exit_code <= 3) << "exit " << result.exit_code << "\n"
                                                              << result.all().substr(0, 2000);
  EXPECT_NE(result.all().find(message), std::string::npos) << result.all().substr(0, 2000);
}

// A work folder with backups/ and tmp/, without Consul: for inspect and list.
class HostileInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto made = make_temp_directory("csnap-hostile-");
    ASSERT_TRUE(made.ok()) << made.error().message();
    work_ = *made;
    fs::create_directories(work_ / "backups");
    fs::create_directories(work_ / "tmp");
  }
  void TearDown() override {
    if (!work_.empty())
      fs::remove_all(work_);
  }

  std::map<std::string, std::string> env() const {
    return {{"LOCAL_DIR", (work_ / "backups").string()},
            {"SNAPSHOT_TMP_DIR", (work_ / "tmp").string()}};
  }

  // `inspect` of `bytes` written to a file: refused with `message`, nothing left in tmp/.
  void expect_inspect_refuses(std::string_view bytes, std::string_view message) {
    auto file = work_ / "crafted.tar.zst";
    write_file(file, bytes);
    auto result = run_limited({"inspect", file.string()}, env());
    expect_refused(result, message);
    EXPECT_EQ(entries_of(work_ / "tmp"), std::vector<std::string>{});
  }

  fs::path work_;
};

std::string original_folder() {
  return "host.consul.snapshot.1700000000/";
}

TEST_F(HostileInputTest, OriginalMetaWithANumericVersionIsAnError) {
  std::string kv = "[]";
  nlohmann::json meta = {{"KVSha256", codec::Sha256::hex_of(kv)}, {"ConsulSnapshotVersion", 2}};
  TarBuilder tar;
  tar.directory(original_folder())
      .file(original_folder() + "consul.kv.1700000000.json", kv)
      .file(original_folder() + "meta.json", meta.dump());
  expect_inspect_refuses(tar.finish(), "ConsulSnapshotVersion is not a string");
}

TEST_F(HostileInputTest, MemberNameOfSixtyThousandDigitsIsAnError) {
  TarBuilder tar;
  tar.directory(original_folder())
      .file(original_folder() + "consul.kv." + std::string(60000, '7') + ".json", "[]");
  expect_inspect_refuses(tar.finish(), "no meta.json");
}

TEST_F(HostileInputTest, SparseMemberIsRefusedBeforeItIsSpooled) {
  // Four blocks of archive that read as 1 GiB of zeros.
  CraftedMember kv{"kv.json", "", 1024 * kMiB};
  TarBuilder tar;
  tar.file(archive::kMetaMember, crafted_meta({kv})).sparse("kv.json", 1024 * kMiB);
  expect_inspect_refuses(tar.finish(), "sparse");
}

TEST_F(HostileInputTest, ZerosDeclaredInMetaFailAtTheirFirstByte) {
  // 200 MiB of zeros, declared honestly in meta.json and the tar header: a few KiB compressed.
  const std::uint64_t size = 200 * kMiB;
  CraftedMember kv{"kv.json", "", size};
  auto meta = crafted_meta({kv});
  TarBuilder head;
  head.file(archive::kMetaMember, meta);
  std::string tar_head = head.finish();
  tar_head.resize(tar_head.size() - 1024);  // no end blocks yet
  TarBuilder member_header;
  // A header for 200 MiB with no data: the data follows as compressed zeros.
  std::string header = member_header.file("kv.json", "", size).finish().substr(0, 512);
  auto bytes = compressed(codec::Compression::zstd, tar_head + header, size, std::string(1024, 0));
  ASSERT_LT(bytes.size(), 64 * 1024u);
  expect_inspect_refuses(bytes, "kv.json: invalid JSON at byte 0");
}

TEST_F(HostileInputTest, AclMemberDeclaredHugeIsRefusedFromMetaJson) {
  const std::uint64_t size = 100 * kMiB;
  CraftedMember tokens{"acl/tokens.json", "", size};
  TarBuilder head;
  head.file(archive::kMetaMember, crafted_meta({tokens}));
  std::string tar_head = head.finish();
  tar_head.resize(tar_head.size() - 1024);
  TarBuilder member_header;
  std::string header = member_header.file("acl/tokens.json", "", size).finish().substr(0, 512);
  auto bytes = compressed(codec::Compression::zstd, tar_head + header, size, std::string(1024, 0));
  expect_inspect_refuses(bytes, "a JSON member may hold");
}

TEST_F(HostileInputTest, OriginalKvOfZerosFailsAtItsFirstByte) {
  const std::uint64_t size = 100 * kMiB;
  TarBuilder head;
  head.directory(original_folder());
  std::string tar_head = head.finish();
  tar_head.resize(tar_head.size() - 1024);
  TarBuilder member_header;
  std::string header = member_header.file(original_folder() + "consul.kv.1700000000.json", "", size)
                           .finish()
                           .substr(0, 512);
  auto bytes = compressed(codec::Compression::gzip, tar_head + header, size, std::string(1024, 0));
  expect_inspect_refuses(bytes, "kv.json: invalid JSON at byte 0");
}

TEST_F(HostileInputTest, KvJsonOfEndlessWhiteSpaceStopsAtTheFileSizeLimit) {
  // Valid JSON so far, for as long as it lasts: only the file-size limit stops it, and that is
  // an error (EFBIG), not SIGXFSZ.
  auto bytes = compressed(codec::Compression::zstd, "[", 0, std::string(100 * kMiB, ' '));
  expect_inspect_refuses(bytes, "File too large");
}

TEST_F(HostileInputTest, TarHeaderLargerThanMetaJsonSaysIsRefusedAtOnce) {
  CraftedMember kv{"kv.json", "[]"};
  TarBuilder tar;
  tar.file(archive::kMetaMember, crafted_meta({kv})).file("kv.json", "[]", 4096 * kMiB);
  expect_inspect_refuses(tar.finish(), "its tar header says");
}

TEST_F(HostileInputTest, NonUtf8KeyInListJsonIsReplacedNotFatal) {
  write_file(work_ / "backups/backups/2026/1/2/h\xff.consul.snapshot.1767312000.tar.zst", "junk");
  auto result = run_limited({"list", "--json"}, env());
  ASSERT_EQ(result.exit_code, 0) << result.all();
  auto listed = nlohmann::json::parse(result.out, nullptr, false);
  ASSERT_TRUE(listed.is_array()) << result.out;
  ASSERT_EQ(listed.size(), 1u) << result.out;
  EXPECT_TRUE(listed[0].contains("error")) << result.out;
  EXPECT_NE(listed[0]["key"].get<std::string>().find("\xef\xbf\xbd"), std::string::npos);
  EXPECT_EQ(entries_of(work_ / "tmp"), std::vector<std::string>{});
}

TEST_F(HostileInputTest, ControlCharactersInKeysAreEscapedInListText) {
  write_file(
      // NOLINTNEXTLINE(misc-misleading-bidirectional): U+202E is the hostile input tested
      work_ / "backups/backups/2026/1/2/h\x1b[2J\xe2\x80\xae.consul.snapshot.1767312000.tar.zst",
      "junk");
  auto result = run_limited({"list"}, env());
  ASSERT_EQ(result.exit_code, 0) << result.all();
  EXPECT_EQ(result.out.find('\x1b'), std::string::npos) << result.out;
  // NOLINTNEXTLINE(misc-misleading-bidirectional): U+202E is the hostile input tested
  EXPECT_EQ(result.out.find("\xe2\x80\xae"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("h\\x1b[2J\\u202e.consul.snapshot"), std::string::npos) << result.out;
}

// An age header whose scrypt stanza asks for work factor 22 (4 GiB and seconds): refused from
// the header, before any work.
std::string planted_work_factor_file() {
  return "age-encryption.org/v1\n"
         "-> scrypt AAAAAAAAAAAAAAAAAAAAAA 22\n"
         "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"
         "--- AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n" +
         std::string(64, 'x');
}

TEST_F(HostileInputTest, PlantedScryptWorkFactorIsRefusedNamingTheOption) {
  auto file = work_ / "planted.tar.zst.age";
  write_file(file, planted_work_factor_file());
  auto with_passphrase = env();
  with_passphrase["CRYPTO_PASSWORD"] = "correct horse";
  auto result = run_limited({"inspect", file.string()}, with_passphrase);
  expect_refused(result, "scrypt work factor 22, above the limit of 20 (--max-work-factor");

  // A raised limit is obeyed (the work itself is not done here: 10 is below what it asks).
  auto lowered =
      run_limited({"inspect", file.string(), "--max-work-factor", "10"}, with_passphrase);
  expect_refused(lowered, "above the limit of 10");

  write_file(work_ / "backups/backups/2026/1/2/h.consul.snapshot.1767312000.tar.zst.age",
             planted_work_factor_file());
  auto listed = run_limited({"list", "--json"}, with_passphrase);
  ASSERT_EQ(listed.exit_code, 0) << listed.all();
  EXPECT_NE(listed.out.find("above the limit of 20"), std::string::npos) << listed.out;
  EXPECT_EQ(entries_of(work_ / "tmp"), std::vector<std::string>{});
}

// With a real Consul: diff and restore --dry-run read the prepared queries and KV keys.
class HostileInputConsulTest : public CliTest {};

TEST_F(HostileInputConsulTest, PreparedQueryNestedAMillionLevelsIsAnError) {
  CSNAP_REQUIRE_CONSUL(agent, {});
  adopt(std::move(agent));
  std::string deep = R"([{"Name":"q","Service":{"Service":"web"},"Deep":)" +
                     std::string(1000000, '[') + std::string(1000000, ']') + "}]";
  auto file = work_ / "deep.tar";
  write_file(file, crafted_backup({{"kv.json", "[]"}, {"prepared-queries.json", deep}}));
  for (const auto& command :
       std::vector<std::vector<std::string>>{{"diff", file.string()},
                                             {"restore", file.string(), "--dry-run"},
                                             {"inspect", file.string()}}) {
    auto result = run_limited(command, env());
    expect_refused(result, "prepared-queries.json: JSON nested more than 64 levels deep");
    EXPECT_EQ(entries_of(work_ / "tmp"), std::vector<std::string>{}) << command[0];
  }
}

TEST_F(HostileInputConsulTest, ControlCharactersInKeysAreEscapedInDiffText) {
  CSNAP_REQUIRE_CONSUL(agent, {});
  adopt(std::move(agent));
  // Key "evil<U+202E>txt.exe<ESC>[2J": a right-to-left override and a screen clear.
  std::string kv =
      "[\n\t{\n\t\t\"key\": \"evil\xe2\x80\xaetxt.exe\\u001b[2J\",\n\t\t\"flags\": 0,\n"
      "\t\t\"value\": \"\"\n\t}\n]\n";
  auto file = work_ / "evil.tar";
  write_file(file, crafted_backup({{"kv.json", kv}}, 1));
  auto result = run_limited({"diff", file.string()}, env());
  ASSERT_EQ(result.exit_code, 0) << result.all();
  EXPECT_EQ(result.out.find('\x1b'), std::string::npos) << result.out;
  // NOLINTNEXTLINE(misc-misleading-bidirectional): U+202E is the hostile input tested
  EXPECT_EQ(result.out.find("\xe2\x80\xae"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find(R"(+ kv "evil\u202etxt.exe\x1b[2J")"), std::string::npos) << result.out;
  // JSON stays exact JSON: the key as it is.
  auto json = run_limited({"diff", file.string(), "--json"}, env());
  ASSERT_EQ(json.exit_code, 0) << json.all();
  auto parsed = nlohmann::json::parse(json.out);
  // NOLINTNEXTLINE(misc-misleading-bidirectional): U+202E is the hostile input tested
  EXPECT_EQ(parsed["changes"][0]["key"], "evil\xe2\x80\xaetxt.exe\x1b[2J");
}

}  // namespace
}  // namespace csnap::testing
