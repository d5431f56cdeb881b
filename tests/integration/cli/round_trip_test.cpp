// The seed's acceptance test, and more, against a real Consul agent: adversarial KV data in,
// `consul-snapshot backup --once`, wipe, `consul-snapshot restore`, and every key, value byte and
// flag equal again. Consul's state is read with the `curl` CLI and the backup file with the
// stock `zstd`, `tar` and `sha256sum`, never with our own code.

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <regex>
#include <sstream>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <sys/stat.h>

#include "cli_test.hpp"
#include "consul_agent.hpp"
#include "test_data.hpp"

namespace csnap::testing {
namespace {

using test_common::slurp;

namespace fs = std::filesystem;
using Json = nlohmann::json;

struct Entry {
  std::string value;
  std::uint64_t flags = 0;
  bool operator==(const Entry&) const = default;
};
// Keeps failure messages readable: values can be 512 KiB.
void PrintTo(const Entry& entry, std::ostream* out) {
  *out << "{" << entry.value.size() << " bytes, flags " << entry.flags << "}";
}
using KvMap = std::map<std::string, Entry>;

std::string encode64(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::string decode64(const std::string& text) {
  std::string out(3 * text.size() / 4, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  EXPECT_GE(n, 0) << "bad base64 from Consul";
  std::size_t padding = 0;
  if (!text.empty() && text.back() == '=')
    ++padding;
  if (text.size() > 1 && text[text.size() - 2] == '=')
    ++padding;
  out.resize(static_cast<std::size_t>(n) - padding);
  return out;
}

void write_file(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

class RoundTripTest : public CliTest {
 protected:
  void SetUp() override {
    CSNAP_REQUIRE_CONSUL(agent, ConsulAgentOptions{});
    adopt(std::move(agent));
  }

  std::string url(std::string_view path) const {
    return "http://" + agent_->http_address() + std::string(path);
  }

  // curl with a body from a file; returns {status, body}.
  std::pair<int, std::string> http(const std::string& method, const std::string& path,
                                   const std::string& body = {}, bool with_body = false) {
    auto body_file = work_ / "request.body";
    auto out_file = work_ / "response.body";
    std::vector<std::string> argv{"curl", "-sS",         "-X", method, "-o", out_file.string(),
                                  "-w",   "%{http_code}"};
    if (with_body) {
      write_file(body_file, body);
      argv.insert(argv.end(), {"--data-binary", "@" + body_file.string()});
    }
    argv.push_back(url(path));
    auto result = run(argv);
    EXPECT_EQ(result.exit_code, 0) << result.err;
    return {std::atoi(result.out.c_str()), slurp(out_file)};
  }

  // Writes `data` with /v1/txn (in transactions well inside Consul's limits) and plain PUTs for
  // the values too large for a transaction.
  void put_all(const KvMap& data) {
    Json ops = Json::array();
    std::size_t body_bytes = 0;
    auto flush = [&] {
      if (ops.empty())
        return;
      auto [status, body] = http("PUT", "/v1/txn", ops.dump(), true);
      ASSERT_EQ(status, 200) << body;
      ops = Json::array();
      body_bytes = 0;
    };
    for (const auto& [key, entry] : data) {
      if (entry.value.size() > 200000) {
        auto [status, body] = http("PUT", "/v1/kv/" + key + "?flags=" + std::to_string(entry.flags),
                                   entry.value, true);
        ASSERT_EQ(status, 200) << key << ": " << body;
        continue;
      }
      Json op = {{"KV",
                  {{"Verb", "set"},
                   {"Key", key},
                   {"Value", encode64(entry.value)},
                   {"Flags", entry.flags}}}};
      body_bytes += op.dump().size() + 1;
      ops.push_back(std::move(op));
      if (ops.size() >= 64 || body_bytes > 300000)
        flush();
    }
    flush();
  }

  // Every entry in Consul, read with curl and parsed here.
  KvMap read_all() {
    auto [status, body] = http("GET", "/v1/kv/?recurse");
    KvMap out;
    if (status == 404)
      return out;
    EXPECT_EQ(status, 200) << body;
    for (const auto& item : Json::parse(body)) {
      Entry entry;
      entry.flags = item["Flags"].get<std::uint64_t>();
      if (!item["Value"].is_null())
        entry.value = decode64(item["Value"].get<std::string>());
      out[item["Key"].get<std::string>()] = std::move(entry);
    }
    return out;
  }

  std::string kv_index() {
    auto headers = work_ / "headers.txt";
    auto result =
        run({"curl", "-sS", "-o", "/dev/null", "-D", headers.string(), url("/v1/kv/?recurse")});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    std::regex index(R"(X-Consul-Index: (\d+))", std::regex::icase);
    std::smatch match;
    auto text = slurp(headers);
    if (std::regex_search(text, match, index))
      return match[1];
    ADD_FAILURE() << "no X-Consul-Index in " << text;
    return "";
  }

  static KvMap adversarial_data() {
    KvMap data;
    std::mt19937_64 random(20261127);
    auto bytes = [&](std::size_t size) {
      std::string out(size, '\0');
      for (auto& c : out)
        c = static_cast<char>(random() & 0xff);
      return out;
    };
    std::string every_byte;
    for (int i = 0; i < 256; ++i)
      every_byte.push_back(static_cast<char>(i));
    // Keys a URL path cannot carry, and other strange names.
    for (std::string key : {"/leading-slash",
                            "a//double//slash",
                            "./dot-segment",
                            "x/./y",
                            "x/../y",
                            "..",
                            "tab\tkey",
                            "line\nfeed",
                            "nbsp\u00a0key",
                            "zero\u200dwidth\u200djoiner",
                            " leading and trailing space ",
                            "percent%41%",
                            "query?x=1&y=2",
                            "hash#fragment",
                            "plus+sign=equals",
                            "unicode/\u65e5\u672c\u8a9e/\U0001F600",
                            "folder/",
                            "a/b/folder/",
                            "quote\"back\\slash",
                            "<angle>&amp;"}) {
      data[key] = {bytes(random() % 64), random()};
    }
    data[std::string(250, 'k')] = {"long key", 7};
    data["values/every-byte"] = {every_byte, 1};
    data["values/empty"] = {"", 0};
    data["values/nul"] = {std::string("\0\0\0", 3), 0};
    data["values/max-size"] = {bytes(524288), 42};
    data["flags/max"] = {"max", UINT64_MAX};
    data["flags/zero"] = {"zero", 0};
    for (int i = 0; i < 300; ++i) {
      data["random/" + std::to_string(i) + "/" + std::to_string(random() % 1000)] = {
          bytes(random() % 3000), random() % 3 == 0 ? random() : 0};
    }
    return data;
  }
};

TEST_F(RoundTripTest, AdversarialDataComesBackExactly) {
  const KvMap data = adversarial_data();
  put_all(data);
  ASSERT_EQ(read_all(), data) << "the test data did not go into Consul as written";

  auto backup = run_tool({"backup", "--once"}, env());
  ASSERT_EQ(backup.exit_code, 0) << backup.all();
  EXPECT_NE(backup.err.find("[INFO] Backup completed successfully"), std::string::npos)
      << backup.err;

  auto files = backup_files();
  ASSERT_EQ(files.size(), 1u);
  auto key = fs::relative(files[0], work_ / "backups").generic_string();
  EXPECT_TRUE(std::regex_match(
      key,
      std::regex(
          R"(backups/\d{4}/\d{1,2}/\d{1,2}/[A-Za-z0-9._-]+\.consul\.snapshot\.\d+\.tar\.zst)")))
      << key;
  struct ::stat info {};
  ASSERT_EQ(::stat(files[0].c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600);
  EXPECT_TRUE(fs::is_empty(work_ / "tmp")) << "temporary files were left behind";

  // The original's lastbackup key holds the backup's time; it is not part of the data.
  auto all = read_all();
  ASSERT_TRUE(all.count("service/consul-snapshot/lastbackup"));
  EXPECT_TRUE(
      std::regex_match(all["service/consul-snapshot/lastbackup"].value, std::regex(R"(\d{10})")));

  auto [status, body] = http("DELETE", "/v1/kv/?recurse");
  ASSERT_EQ(status, 200) << body;
  ASSERT_TRUE(read_all().empty());

  auto restore = run_tool({"restore", files[0].string(), "--yes"}, env());
  ASSERT_EQ(restore.exit_code, 0) << restore.all();
  EXPECT_NE(restore.err.find(fmt::format("Restored {} keys with 0 errors", data.size())),
            std::string::npos)
      << restore.err;

  auto restored = read_all();
  ASSERT_EQ(restored.size(), data.size());
  for (const auto& [k, entry] : data) {
    auto it = restored.find(k);
    ASSERT_NE(it, restored.end()) << "missing key " << Json(k).dump();
    EXPECT_EQ(it->second.flags, entry.flags) << Json(k).dump();
    EXPECT_TRUE(it->second.value == entry.value) << "value differs for " << Json(k).dump();
  }
  EXPECT_TRUE(fs::is_empty(work_ / "tmp")) << "temporary files were left behind";
}

TEST_F(RoundTripTest, TenThousandKeysUnderOnePrefixAndDeepNesting) {
  KvMap data;
  for (int i = 0; i < 10000; ++i) {
    data[fmt::format("many/{:05}", i)] = {fmt::format("value {}", i),
                                          static_cast<std::uint64_t>(i)};
  }
  std::string deep = "deep";
  for (int level = 0; level < 100; ++level)
    deep += fmt::format("/l{}", level);
  data[deep + "/leaf"] = {"at the bottom", 1};
  data[deep + "/"] = {"", 0};
  put_all(data);
  ASSERT_EQ(read_all().size(), data.size());

  auto backup = run_tool({"backup", "--once"}, env());
  ASSERT_EQ(backup.exit_code, 0) << backup.all();
  auto [status, body] = http("DELETE", "/v1/kv/?recurse");
  ASSERT_EQ(status, 200) << body;
  auto restore = run_tool({"restore", "latest", "--yes"}, env());
  ASSERT_EQ(restore.exit_code, 0) << restore.all();
  EXPECT_EQ(read_all(), data);
}

TEST_F(RoundTripTest, StockToolsReadTheBackup) {
  KvMap data = {{"app/a", {"1", 0}}, {"app/b", {"two", 5}}, {"app/c/", {"", 0}}};
  put_all(data);
  auto backup = run_tool({"backup", "--once"}, env());
  ASSERT_EQ(backup.exit_code, 0) << backup.all();
  auto files = backup_files();
  ASSERT_EQ(files.size(), 1u);

  auto tar_path = work_ / "backup.tar";
  auto unzstd = run({"zstd", "-d", "-q", "-f", files[0].string(), "-o", tar_path.string()});
  ASSERT_EQ(unzstd.exit_code, 0) << unzstd.all();
  auto listing = run({"tar", "-tf", tar_path.string()});
  ASSERT_EQ(listing.exit_code, 0) << listing.all();
  EXPECT_EQ(listing.out.substr(0, listing.out.find('\n')), "meta.json") << listing.out;

  auto out = work_ / "unpacked";
  fs::create_directories(out);
  auto untar = run({"tar", "-xf", tar_path.string(), "-C", out.string()});
  ASSERT_EQ(untar.exit_code, 0) << untar.all();
  auto meta = Json::parse(slurp(out / "meta.json"));
  auto kv = Json::parse(slurp(out / "kv.json"));
  ASSERT_TRUE(kv.is_array());
  // The lastbackup key is written after the backup, so it is not inside it.
  EXPECT_EQ(kv.size(), data.size());
  for (const auto& item : kv) {
    auto key = item["key"].get<std::string>();
    ASSERT_TRUE(data.count(key)) << key;
    EXPECT_EQ(item["flags"].get<std::uint64_t>(), data[key].flags);
    EXPECT_EQ(decode64(item.value("value", std::string())), data[key].value);
  }
  bool found = false;
  for (const auto& member : meta["members"]) {
    if (member["name"] != "kv.json")
      continue;
    found = true;
    auto sum = run({"sha256sum", (out / "kv.json").string()});
    ASSERT_EQ(sum.exit_code, 0);
    EXPECT_EQ(sum.out.substr(0, 64), member["sha256"].get<std::string>());
    EXPECT_EQ(member["size"].get<std::uint64_t>(), fs::file_size(out / "kv.json"));
  }
  EXPECT_TRUE(found) << meta.dump(2);
}

TEST_F(RoundTripTest, DamagedBackupsAreRefusedBeforeAnyWrite) {
  KvMap data = adversarial_data();
  data.erase("values/max-size");
  put_all(data);
  auto backup = run_tool({"backup", "--once"}, env());
  ASSERT_EQ(backup.exit_code, 0) << backup.all();
  auto files = backup_files();
  ASSERT_EQ(files.size(), 1u);
  const std::string original = slurp(files[0]);

  // Change the data so that a restore, if it wrote anything, would be visible.
  auto [status, body] = http("DELETE", "/v1/kv/random?recurse");
  ASSERT_EQ(status, 200) << body;
  const KvMap before = read_all();
  const std::string index_before = kv_index();

  // Bytes 4-5 of a zstd frame are its header descriptor and window size: a flip there can leave
  // the content, and so every checksum, intact, and such a backup restores exactly. Flips from
  // byte 16 on change the content.
  std::vector<std::pair<std::string, std::string>> damaged;
  for (std::size_t offset : {std::size_t{16}, std::size_t{200}, original.size() / 3,
                             original.size() / 2, original.size() - 10, original.size() - 1}) {
    std::string copy = original;
    copy[offset] = static_cast<char>(copy[offset] ^ 0x01);
    damaged.emplace_back("flipped byte at " + std::to_string(offset), copy);
  }
  for (std::size_t size :
       {std::size_t{0}, std::size_t{100}, original.size() / 2, original.size() - 1}) {
    damaged.emplace_back("truncated to " + std::to_string(size), original.substr(0, size));
  }
  damaged.emplace_back("trailing garbage", original + "garbage");

  for (const auto& [what, bytes] : damaged) {
    auto path = work_ / "damaged.tar.zst";
    write_file(path, bytes);
    auto restore = run_tool({"restore", path.string(), "--yes"}, env());
    EXPECT_EQ(restore.exit_code, 3) << what << ": " << restore.all();
    EXPECT_NE(restore.err.find("[ERROR]"), std::string::npos) << what << ": " << restore.all();
    EXPECT_EQ(restore.err.find("Restore completed"), std::string::npos) << what;
  }
  EXPECT_EQ(kv_index(), index_before) << "a damaged backup changed Consul";
  EXPECT_EQ(read_all(), before);
}

TEST_F(RoundTripTest, RestoreAsksOrNeedsYesAndDryRunWritesNothing) {
  put_all({{"k1", {"v1", 0}}});
  auto backup = run_tool({"backup", "--once"}, env());
  ASSERT_EQ(backup.exit_code, 0) << backup.all();
  auto [status, body] = http("DELETE", "/v1/kv/?recurse");
  ASSERT_EQ(status, 200) << body;
  const std::string index_before = kv_index();

  auto no_yes = run_tool({"restore", "latest"}, env());
  EXPECT_EQ(no_yes.exit_code, 2) << no_yes.all();
  EXPECT_NE(no_yes.err.find("--yes"), std::string::npos) << no_yes.err;

  auto dry = run_tool({"restore", "latest", "--dry-run"}, env());
  EXPECT_EQ(dry.exit_code, 0) << dry.all();
  EXPECT_NE(dry.err.find("nothing was written"), std::string::npos) << dry.err;

  auto dry_env = env();
  dry_env["LOCAL_DRY_RUN"] = "true";
  auto files = backup_files();
  ASSERT_EQ(files.size(), 1u);
  dry_env["LOCAL_BACKUP_FILE"] = fs::relative(files[0], work_ / "backups").generic_string();
  auto original_style = run_tool({"restore"}, dry_env);
  EXPECT_EQ(original_style.exit_code, 0) << original_style.all();
  EXPECT_EQ(kv_index(), index_before);
  EXPECT_TRUE(read_all().empty());

  auto escape_env = env();
  escape_env["LOCAL_BACKUP_FILE"] = "../../etc/passwd";
  auto escape = run_tool({"restore", "--yes"}, escape_env);
  EXPECT_EQ(escape.exit_code, 2) << escape.all();
  EXPECT_NE(escape.err.find("LOCAL_BACKUP_FILE"), std::string::npos) << escape.err;

  auto restore_env = env();
  restore_env["LOCAL_BACKUP_FILE"] = dry_env["LOCAL_BACKUP_FILE"];
  auto restore = run_tool({"restore", "--yes"}, restore_env);
  EXPECT_EQ(restore.exit_code, 0) << restore.all();
  EXPECT_EQ(read_all(), (KvMap{{"k1", {"v1", 0}}}));
}

// On a terminal, restore asks first; "n" writes nothing, "y" restores. `script` gives the tool a
// pseudo-terminal and passes our answer through it.
TEST_F(RoundTripTest, RestoreOnATerminalAsksFirst) {
  put_all({{"k1", {"v1", 0}}});
  auto backup = run_tool({"backup", "--once"}, env());
  ASSERT_EQ(backup.exit_code, 0) << backup.all();
  auto [status, body] = http("DELETE", "/v1/kv/?recurse");
  ASSERT_EQ(status, 200) << body;

  auto answer = [&](const std::string& reply) {
    std::string command = std::string(CSNAP_TOOL_PATH) + " restore latest";
    return run({"sh", "-c", "printf '" + reply + "\\n' | script -qec \"$0\" /dev/null", command},
               env());
  };
  auto declined = answer("n");
  EXPECT_NE(declined.exit_code, 0) << declined.all();
  EXPECT_NE(declined.all().find("[y/N]"), std::string::npos) << declined.all();
  EXPECT_NE(declined.all().find("cancelled"), std::string::npos) << declined.all();
  EXPECT_TRUE(read_all().empty());

  auto accepted = answer("y");
  EXPECT_EQ(accepted.exit_code, 0) << accepted.all();
  EXPECT_EQ(read_all(), (KvMap{{"k1", {"v1", 0}}}));
}

TEST_F(RoundTripTest, JsonLogLines) {
  auto backup = run_tool({"backup", "--once", "--log-format", "json"}, env());
  ASSERT_EQ(backup.exit_code, 0) << backup.all();
  std::istringstream lines(backup.err);
  std::string line;
  int count = 0;
  while (std::getline(lines, line)) {
    auto object = Json::parse(line, nullptr, false);
    ASSERT_FALSE(object.is_discarded()) << line;
    EXPECT_TRUE(object.contains("time") && object.contains("level") && object.contains("msg"))
        << line;
    ++count;
  }
  EXPECT_GE(count, 3);
  EXPECT_NE(backup.err.find(R"("msg":"Backup completed successfully")"), std::string::npos)
      << backup.err;
}

TEST_F(RoundTripTest, UnreachableConsulAndBadOptionsFailClearly) {
  auto bad_env = env();
  bad_env["CONSUL_HTTP_ADDR"] = "127.0.0.1:1";
  auto unreachable = run_tool({"backup", "--once"}, bad_env);
  EXPECT_EQ(unreachable.exit_code, 1) << unreachable.all();
  EXPECT_NE(unreachable.err.find("127.0.0.1:1"), std::string::npos) << unreachable.err;
  EXPECT_TRUE(backup_files().empty());

  auto interval_env = env();
  interval_env["BACKUPINTERVAL"] = "often";
  auto bad_interval = run_tool({"backup"}, interval_env);
  EXPECT_EQ(bad_interval.exit_code, 2) << bad_interval.all();
  EXPECT_NE(bad_interval.err.find("BACKUPINTERVAL"), std::string::npos) << bad_interval.err;

  auto gcs_env = env();
  gcs_env["GCSBUCKET"] = "some-bucket";
  auto gcs = run_tool({"backup", "--once"}, gcs_env);
  EXPECT_EQ(gcs.exit_code, 2) << gcs.all();
  EXPECT_NE(gcs.err.find("GCSBUCKET"), std::string::npos) << gcs.err;

  auto both_env = env();
  both_env["CRYPTO_PASSWORD"] = "do-not-print-me";
  both_env["CONSUL_SNAPSHOT_ENCRYPT_TO"] =
      "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p";
  auto both = run_tool({"backup", "--once"}, both_env);
  EXPECT_EQ(both.exit_code, 2) << both.all();
  EXPECT_NE(both.err.find("choose one"), std::string::npos) << both.err;
  EXPECT_EQ(both.all().find("do-not-print-me"), std::string::npos);

  auto missing = run_tool({"restore", "no/such/backup.tar.zst", "--yes"}, env());
  EXPECT_EQ(missing.exit_code, 1) << missing.all();
  EXPECT_NE(missing.err.find("no/such/backup.tar.zst"), std::string::npos) << missing.err;
}

}  // namespace
}  // namespace csnap::testing
