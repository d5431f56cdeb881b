// Backups planted in the storage by someone who can write to it but holds no key: `latest`
// passes over a name dated in the future and, while a key is configured, a plain backup; given by
// name, a plain backup is refused unless --allow-unencrypted.

#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "cli_test.hpp"
#include "secret_marker_test.hpp"

namespace csnap::testing {
namespace {

namespace fs = std::filesystem;

class PlantedBackupTest : public SecretMarkerTest {};

// A plain backup planted under a name dated 2099 is not `latest`: restore takes the real one and
// warns, naming the planted key.
TEST_F(PlantedBackupTest, APlantedBackupNamedFor2099IsNotLatest) {
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
TEST_F(PlantedBackupTest, WithAPassphraseAPlainBackupIsRefusedUnlessAllowed) {
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
TEST_F(PlantedBackupTest, LatestWithAKeySkipsANewerPlainBackup) {
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

}  // namespace
}  // namespace csnap::testing
