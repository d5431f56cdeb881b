#pragma once
// A fixture for the tests of encrypted and planted backups: a real Consul agent holding
// app/secret = "plaintext-marker-value", whose presence in a backup file shows whether it is
// encrypted and whose value after a restore shows which backup was restored.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

#include <gtest/gtest.h>

#include "cli_test.hpp"

namespace csnap::testing {

class SecretMarkerTest : public CliTest {
 protected:
  void SetUp() override {
    CSNAP_REQUIRE_CONSUL(agent, ConsulAgentOptions{});
    adopt(std::move(agent));
    ASSERT_TRUE(agent_->run_cli({"kv", "put", "app/secret", "plaintext-marker-value"}).ok());
  }
  std::string kv_get(const std::string& key) {
    auto out = agent_->run_cli({"kv", "get", key});
    return out.ok() ? *out : "";
  }

  // What someone who can write to the storage, but holds no key, can do: take a plain backup of
  // a cluster of their own (here: this one with app/secret set to `value`) and upload it under
  // `key`. Returns the key.
  std::string plant_plain_backup(const std::string& key, const std::string& value) {
    EXPECT_TRUE(agent_->run_cli({"kv", "put", "app/secret", value}).ok());
    auto elsewhere = work_ / "attacker";
    auto attacker_env = env();
    attacker_env["LOCAL_DIR"] = elsewhere.string();
    auto backup = run_tool({"backup", "--once"}, attacker_env);
    EXPECT_EQ(backup.exit_code, 0) << backup.all();
    for (const auto& entry : std::filesystem::recursive_directory_iterator(elsewhere)) {
      if (entry.is_regular_file()) {
        std::filesystem::create_directories((work_ / "backups" / key).parent_path());
        std::filesystem::rename(entry.path(), work_ / "backups" / key);
        break;
      }
    }
    std::filesystem::remove_all(elsewhere);
    EXPECT_TRUE(std::filesystem::exists(work_ / "backups" / key)) << key;
    return key;
  }

  std::map<std::string, std::string> with_passphrase() const {
    auto with_key = env();
    with_key["CRYPTO_PASSWORD"] = "passphrase of the real backups";
    with_key["CONSUL_SNAPSHOT_SCRYPT_WORK_FACTOR"] = "12";  // fast enough for a test
    return with_key;
  }

  static std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

}  // namespace csnap::testing
