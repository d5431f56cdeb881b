#pragma once
// Encryption as one more stage of the stream: an age encryptor between the compressor and the
// storage upload when a passphrase or recipients are configured; on the way back, the age or
// original-tool (v0:) decryptor, chosen by the first bytes of the object, never by its name.

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "codec/age.hpp"
#include "util/io.hpp"
#include "util/secret.hpp"

namespace csnap::ops {

struct EncryptionSettings {
  std::optional<Secret> passphrase;                     // CRYPTO_PASSWORD or --passphrase-file
  std::vector<codec::age::X25519Recipient> recipients;  // --encrypt-to, --encrypt-to-file
  std::vector<codec::age::X25519Identity> identities;   // --identity-file
  int scrypt_work_factor = codec::age::kDefaultScryptWorkFactor;
  // --allow-unencrypted: accept a backup that is not encrypted although a key is configured.
  bool allow_unencrypted = false;
  // A backup whose scrypt stanza asks for more is refused before any work (--max-work-factor).
  int max_scrypt_work_factor = codec::age::kDefaultMaxScryptWorkFactor;

  bool encrypts() const { return passphrase.has_value() || !recipients.empty(); }
  // A key that can decrypt backups is configured (a passphrase or an identity).
  bool has_key() const { return passphrase.has_value() || !identities.empty(); }
  // With a key configured, this tool's backups are encrypted; an unencrypted one may have been
  // planted by anyone who can write to the storage, and is refused unless allow_unencrypted.
  bool refuses_unencrypted() const { return has_key() && !allow_unencrypted; }
};

// Parses recipients separated by commas, white space or new lines; `#` starts a comment.
Result<std::vector<codec::age::X25519Recipient>> parse_recipients(std::string_view text);

// `out`, or an age encryptor writing to `out` when `settings` encrypt. Finishing the returned
// sink finishes `out`.
Result<std::unique_ptr<ByteSink>> encrypting_sink(ByteSink& out,
                                                  const EncryptionSettings& settings);

// The plaintext of a backup object read from `raw`: decrypted when it is encrypted (age or the
// original tool's v0:), else `raw` as it is. An unencrypted backup is refused (ErrorKind::corrupt,
// exit code 3) when `settings.refuses_unencrypted()`.
class PlaintextSource final : public ByteSource {
 public:
  static Result<std::unique_ptr<PlaintextSource>> open(ByteSource& raw,
                                                       const EncryptionSettings& settings,
                                                       const std::filesystem::path& tmp_dir);
  Result<std::size_t> read(std::span<std::byte> buffer) override;
  // "age", "original v0", or "" when not encrypted.
  const std::string& encryption() const { return encryption_; }

 private:
  explicit PlaintextSource(ByteSource& raw) : peek_(raw) {}
  PeekSource peek_;
  std::unique_ptr<ByteSource> decrypted_;
  std::string encryption_;
};

// Whether the object read from `raw` is encrypted, and if so with what and which key it needs
// ("age: needs a passphrase (scrypt)"), from its first bytes only; "" when it is not.
Result<std::string> describe_encryption(ByteSource& raw);

}  // namespace csnap::ops
