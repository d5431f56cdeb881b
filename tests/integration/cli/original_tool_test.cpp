// The original Go tool's real backups (../shared/testdata/original-tool) restore exactly: every
// key (those Consul refuses in a URL too), value byte and flag, checked with curl against the
// dataset's manifest, and the prepared query of the v0.3 archive.

#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "cli_test.hpp"
#include "test_data.hpp"

namespace csnap::testing {
namespace {

using test_common::slurp;

namespace fs = std::filesystem;
using Json = nlohmann::json;

const fs::path kData = CSNAP_ORIGINAL_TOOL_DATA;

std::string hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

std::string decode64(const std::string& text) {
  std::string out(3 * text.size() / 4, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  std::size_t padding = text.ends_with("==") ? 2 : text.ends_with("=") ? 1 : 0;
  out.resize(static_cast<std::size_t>(std::max(n, 0)) - padding);
  return out;
}

std::string sha256_hex(const std::string& bytes) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest);
  return hex(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

class OriginalToolTest : public CliTest {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::exists(kData / "dataset-manifest.json"))
        << "test data missing: " << kData << " (the shared/ folder beside the repository)";
    CSNAP_REQUIRE_CONSUL(agent, ConsulAgentOptions{});
    adopt(std::move(agent));
  }

  // Every key in Consul as {key_utf8_hex: "flags size sha256"}, read with curl.
  std::map<std::string, std::string> live() {
    auto result = curl({"http://" + agent_->http_address() + "/v1/kv/?recurse"});
    EXPECT_TRUE(result.ok());
    std::map<std::string, std::string> out;
    if (!result.ok() || result->status == 404)
      return out;
    for (const auto& item : Json::parse(result->body)) {
      std::string value =
          item["Value"].is_null() ? std::string() : decode64(item["Value"].get<std::string>());
      out[hex(item["Key"].get<std::string>())] = fmt::format(
          "{} {} {}", item["Flags"].get<std::uint64_t>(), value.size(), sha256_hex(value));
    }
    return out;
  }

  static std::map<std::string, std::string> manifest() {
    std::map<std::string, std::string> out;
    for (const auto& item : Json::parse(slurp(kData / "dataset-manifest.json"))) {
      out[item["key_utf8_hex"].get<std::string>()] =
          fmt::format("{} {} {}", item["flags"].get<std::uint64_t>(),
                      item["size"].get<std::uint64_t>(), item["sha256"].get<std::string>());
    }
    return out;
  }
};

TEST_F(OriginalToolTest, EveryFixtureRestoresExactly) {
  const auto expected = manifest();
  ASSERT_EQ(expected.size(), 51u);
  struct Fixture {
    std::string file;
    std::map<std::string, std::string> env;
    bool has_query;
  };
  const std::vector<Fixture> fixtures = {
      {"v03-plain.tar.gz", {}, true},
      {"v03-encrypted.bin", {{"CRYPTO_PASSWORD", "correct horse battery staple"}}, true},
      {"v01-plain.gz", {}, false},
      {"dataset-consul-kv-export.json", {}, false},
  };
  for (const auto& fixture : fixtures) {
    SCOPED_TRACE(fixture.file);
    auto wipe = curl({"-X", "DELETE", "http://" + agent_->http_address() + "/v1/kv/?recurse"});
    ASSERT_TRUE(wipe.ok());
    ASSERT_TRUE(live().empty());
    auto restore_env = env();
    restore_env.insert(fixture.env.begin(), fixture.env.end());
    auto restore = run_tool({"restore", (kData / fixture.file).string(), "--yes"}, restore_env);
    ASSERT_EQ(restore.exit_code, 0) << restore.all();
    EXPECT_EQ(live(), expected);
    if (fixture.has_query) {
      auto queries = curl({"http://" + agent_->http_address() + "/v1/query"});
      ASSERT_TRUE(queries.ok());
      auto list = Json::parse(queries->body);
      ASSERT_EQ(list.size(), 1u) << queries->body;
      EXPECT_EQ(list[0]["Name"], "fixture-pq");
      EXPECT_EQ(list[0]["Service"]["Service"], "fixture-svc");
      EXPECT_EQ(list[0]["Service"]["Failover"]["NearestN"], 3);
      EXPECT_EQ(list[0]["DNS"]["TTL"], "10s");
    }
    // A second restore of the same backup changes nothing.
    auto again = run_tool({"restore", (kData / fixture.file).string(), "--yes"}, restore_env);
    ASSERT_EQ(again.exit_code, 0) << again.all();
    EXPECT_NE(again.err.find("nothing to write"), std::string::npos) << again.err;
  }
}

TEST_F(OriginalToolTest, WrongPassphraseForTheOriginalEncryptionWritesNothing) {
  auto wrong_env = env();
  wrong_env["CRYPTO_PASSWORD"] = "wrong horse";
  auto restore = run_tool({"restore", (kData / "v03-encrypted.bin").string(), "--yes"}, wrong_env);
  EXPECT_NE(restore.exit_code, 0) << restore.all();
  EXPECT_NE(restore.err.find("CRYPTO_PASSWORD"), std::string::npos) << restore.err;
  EXPECT_TRUE(live().empty());
}

}  // namespace
}  // namespace csnap::testing
