// Encrypted backups through the CLI: a passphrase (CRYPTO_PASSWORD) and X25519 recipients
// (--encrypt-to), checked with the stock age, zstd and tar; keys that are missing or wrong are
// refused before anything is written.

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "cli_test.hpp"
#include "secret_marker_test.hpp"
#include "test_data.hpp"

namespace csnap::testing {
namespace {

using test_common::slurp;

class EncryptionTest : public SecretMarkerTest {};

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
