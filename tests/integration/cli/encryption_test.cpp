// Encrypted backups through the CLI: a passphrase (CRYPTO_PASSWORD) and X25519 recipients
// (--encrypt-to), checked with the stock age, zstd and tar; keys that are missing or wrong are
// refused before anything is written.

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "cli_test.hpp"
#include "test_data.hpp"

namespace csnap::testing {
namespace {

using test_common::slurp;

namespace fs = std::filesystem;

class EncryptionTest : public CliTest {
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
    for (const auto& entry : fs::recursive_directory_iterator(elsewhere)) {
      if (entry.is_regular_file()) {
        fs::create_directories((work_ / "backups" / key).parent_path());
        fs::rename(entry.path(), work_ / "backups" / key);
        break;
      }
    }
    fs::remove_all(elsewhere);
    EXPECT_TRUE(fs::exists(work_ / "backups" / key)) << key;
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

// A plain backup planted under a name dated 2099 is not `latest`: restore takes the real one and
// warns, naming the planted key.
TEST_F(EncryptionTest, APlantedBackupNamedFor2099IsNotLatest) {
  auto real = run_tool({"backup", "--once"}, env());
  ASSERT_EQ(real.exit_code, 0) << real.all();
  auto planted = plant_plain_backup("backups/2099/1/1/attacker.consul.snapshot.4070908800.tar.zst",
                                    "planted-by-an-attacker");

  auto restore = run_tool({"restore", "latest", "--yes"}, env());
  ASSERT_EQ(restore.exit_code, 0) << restore.all();
  EXPECT_EQ(kv_get("app/secret"), "plaintext-marker-value\n") << restore.all();
  EXPECT_NE(restore.err.find("[WARN]"), std::string::npos) << restore.err;
  EXPECT_NE(restore.err.find(planted), std::string::npos) << restore.err;

  // By name, it is what the user asked for.
  auto named = run_tool({"restore", planted, "--dry-run"}, env());
  EXPECT_EQ(named.exit_code, 0) << named.all();
}

// With CRYPTO_PASSWORD set, a plain backup given by name is refused by restore, diff and inspect
// (it may have been planted), and accepted with --allow-unencrypted.
TEST_F(EncryptionTest, WithAPassphraseAPlainBackupIsRefusedUnlessAllowed) {
  auto plain_backup = run_tool({"backup", "--once"}, env());
  ASSERT_EQ(plain_backup.exit_code, 0) << plain_backup.all();
  auto files = backup_files();
  ASSERT_EQ(files.size(), 1u);
  auto key = fs::relative(files[0], work_ / "backups").string();
  ASSERT_TRUE(agent_->run_cli({"kv", "delete", "app/secret"}).ok());

  const auto with_key = with_passphrase();
  for (const auto& command :
       {std::vector<std::string>{"restore", key, "--yes"}, std::vector<std::string>{"diff", key},
        std::vector<std::string>{"inspect", key},
        std::vector<std::string>{"restore", files[0].string(), "--yes"}}) {
    SCOPED_TRACE(command[0] + " " + command[1]);
    auto refused = run_tool(command, with_key);
    EXPECT_EQ(refused.exit_code, 3) << refused.all();
    EXPECT_NE(refused.err.find("not encrypted"), std::string::npos) << refused.err;
    EXPECT_NE(refused.err.find("could have put it there"), std::string::npos) << refused.err;
    EXPECT_NE(refused.err.find("--allow-unencrypted"), std::string::npos) << refused.err;
    EXPECT_EQ(kv_get("app/secret"), "") << "a refused restore wrote something";
  }
  // `latest` does not pick it either: it is the only backup, so there is none to restore.
  auto latest = run_tool({"restore", "latest", "--yes"}, with_key);
  EXPECT_NE(latest.exit_code, 0) << latest.all();
  EXPECT_NE(latest.err.find(key), std::string::npos) << latest.err;
  EXPECT_EQ(kv_get("app/secret"), "");

  auto env_allowed = with_key;
  env_allowed["CONSUL_SNAPSHOT_ALLOW_UNENCRYPTED"] = "true";
  auto diff = run_tool({"diff", key}, env_allowed);
  EXPECT_EQ(diff.exit_code, 0) << diff.all();
  auto allowed = run_tool({"restore", key, "--yes", "--allow-unencrypted"}, with_key);
  ASSERT_EQ(allowed.exit_code, 0) << allowed.all();
  EXPECT_EQ(kv_get("app/secret"), "plaintext-marker-value\n");
}

// With a key configured, `latest` is the newest encrypted backup: a newer plain one (planted a
// minute "ahead", within the clock tolerance) is skipped with a warning.
TEST_F(EncryptionTest, LatestWithAKeySkipsANewerPlainBackup) {
  const auto with_key = with_passphrase();
  auto real = run_tool({"backup", "--once"}, with_key);
  ASSERT_EQ(real.exit_code, 0) << real.all();
  const auto soon = unix_now() + 60;
  auto planted = plant_plain_backup(
      fmt::format("backups/planted/attacker.consul.snapshot.{}.tar.zst", soon), "planted-value");

  auto restore = run_tool({"restore", "latest", "--yes"}, with_key);
  ASSERT_EQ(restore.exit_code, 0) << restore.all();
  EXPECT_EQ(kv_get("app/secret"), "plaintext-marker-value\n") << restore.all();
  EXPECT_NE(restore.err.find(planted), std::string::npos) << restore.err;
  EXPECT_NE(restore.err.find("not encrypted"), std::string::npos) << restore.err;

  // With --allow-unencrypted, `latest` is the newest whatever its encryption.
  auto allowed = run_tool({"restore", "latest", "--yes", "--allow-unencrypted"}, with_key);
  ASSERT_EQ(allowed.exit_code, 0) << allowed.all();
  EXPECT_EQ(kv_get("app/secret"), "planted-value\n");
}

TEST_F(EncryptionTest, PassphraseEncryptsAndOnlyThePassphraseRestores) {
  const std::string passphrase = "correct horse battery staple 2026";
  auto with_key = env();
  with_key["CRYPTO_PASSWORD"] = passphrase;
  with_key["CONSUL_SNAPSHOT_SCRYPT_WORK_FACTOR"] = "14";  // fast enough for a test
  auto backup = run_tool({"backup", "--once", "--log-level", "debug"}, with_key);
  ASSERT_EQ(backup.exit_code, 0) << backup.all();
  EXPECT_EQ(backup.all().find(passphrase), std::string::npos) << "the passphrase was printed";

  auto files = backup_files();
  ASSERT_EQ(files.size(), 1u);
  EXPECT_TRUE(files[0].string().ends_with(".tar.zst.age")) << files[0];
  auto bytes = slurp(files[0]);
  EXPECT_TRUE(bytes.starts_with("age-encryption.org/v1\n"));
  EXPECT_EQ(bytes.find("plaintext-marker-value"), std::string::npos);
  EXPECT_NE(run({"zstd", "-t", "-q", files[0].string()}).exit_code, 0)
      << "zstd reads the encrypted file as if it were plain";

  auto listing = run_tool({"list", "--json"}, env());
  ASSERT_EQ(listing.exit_code, 0) << listing.all();
  EXPECT_NE(listing.out.find(R"("encrypted": true)"), std::string::npos) << listing.out;

  auto inspect = run_tool({"inspect", "latest"}, env());
  EXPECT_EQ(inspect.exit_code, 2) << inspect.all();
  EXPECT_NE(inspect.err.find("passphrase"), std::string::npos) << inspect.err;

  ASSERT_TRUE(agent_->run_cli({"kv", "delete", "app/secret"}).ok());
  auto no_key = run_tool({"restore", "latest", "--yes"}, env());
  EXPECT_EQ(no_key.exit_code, 2) << no_key.all();
  EXPECT_NE(no_key.err.find("CRYPTO_PASSWORD"), std::string::npos) << no_key.err;

  auto wrong_key = env();
  wrong_key["CRYPTO_PASSWORD"] = "not the passphrase";
  auto wrong = run_tool({"restore", "latest", "--yes"}, wrong_key);
  EXPECT_EQ(wrong.exit_code, 1) << wrong.all();
  EXPECT_NE(wrong.err.find("wrong passphrase"), std::string::npos) << wrong.err;
  EXPECT_EQ(kv_get("app/secret"), "") << "a refused restore wrote something";

  auto inspected = run_tool({"inspect", "latest", "--json"}, with_key);
  EXPECT_EQ(inspected.exit_code, 0) << inspected.all();
  EXPECT_NE(inspected.out.find(R"("encryption": "age")"), std::string::npos) << inspected.out;

  auto restore = run_tool({"restore", "latest", "--yes"}, with_key);
  ASSERT_EQ(restore.exit_code, 0) << restore.all();
  EXPECT_EQ(kv_get("app/secret"), "plaintext-marker-value\n");
}

TEST_F(EncryptionTest, RecipientsLetTheStockAgeDecrypt) {
  auto key = work_ / "key.txt";
  auto keygen = run({"age-keygen", "-o", key.string()});
  ASSERT_EQ(keygen.exit_code, 0) << keygen.all();
  auto public_key = run({"age-keygen", "-y", key.string()});
  ASSERT_EQ(public_key.exit_code, 0) << public_key.all();
  std::string recipient = public_key.out.substr(0, public_key.out.find('\n'));

  auto backup = run_tool({"backup", "--once", "--encrypt-to", recipient}, env());
  ASSERT_EQ(backup.exit_code, 0) << backup.all();
  auto files = backup_files();
  ASSERT_EQ(files.size(), 1u);

  // age, zstd and tar alone recover the members.
  auto decrypted = work_ / "backup.tar.zst";
  auto age = run({"age", "-d", "-i", key.string(), "-o", decrypted.string(), files[0].string()});
  ASSERT_EQ(age.exit_code, 0) << age.all();
  auto tar = work_ / "backup.tar";
  ASSERT_EQ(run({"zstd", "-d", "-q", decrypted.string(), "-o", tar.string()}).exit_code, 0);
  auto listing = run({"tar", "-tf", tar.string()});
  ASSERT_EQ(listing.exit_code, 0) << listing.all();
  EXPECT_TRUE(listing.out.starts_with("meta.json\nkv.json\n")) << listing.out;

  ASSERT_TRUE(agent_->run_cli({"kv", "delete", "app/secret"}).ok());
  auto no_identity = run_tool({"restore", "latest", "--yes"}, env());
  EXPECT_EQ(no_identity.exit_code, 2) << no_identity.all();
  EXPECT_NE(no_identity.err.find("X25519"), std::string::npos) << no_identity.err;

  auto restore = run_tool({"restore", "latest", "--yes", "--identity-file", key.string()}, env());
  ASSERT_EQ(restore.exit_code, 0) << restore.all();
  EXPECT_EQ(kv_get("app/secret"), "plaintext-marker-value\n");
}

}  // namespace
}  // namespace csnap::testing
