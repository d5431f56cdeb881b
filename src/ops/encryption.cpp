#include "ops/encryption.hpp"

#include <fmt/format.h>

#include "codec/legacy_crypt.hpp"

namespace csnap::ops {
namespace {

// Forwards to a sink it does not own: the "no encryption" stage.
class ForwardingSink final : public ByteSink {
 public:
  explicit ForwardingSink(ByteSink& out) : out_(&out) {}
  using ByteSink::write;
  Status write(std::span<const std::byte> data) override { return out_->write(data); }
  Status finish() override { return out_->finish(); }

 private:
  ByteSink* out_;
};

constexpr std::size_t kPeekBytes = 64;

constexpr std::string_view kUnencryptedRefusal =
    "the backup is not encrypted, but a key is configured (CRYPTO_PASSWORD, --passphrase-file or "
    "--identity-file), so this tool's own backups are encrypted: refusing it, since anyone who "
    "can write to the storage could have put it there. If you know where it comes from (a "
    "backup from before encryption was turned on, say), pass --allow-unencrypted "
    "(CONSUL_SNAPSHOT_ALLOW_UNENCRYPTED=true)";

}  // namespace

Result<std::vector<codec::age::X25519Recipient>> parse_recipients(std::string_view text) {
  std::vector<codec::age::X25519Recipient> recipients;
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] == '#') {
      i = text.find('\n', i);
      if (i == std::string_view::npos)
        break;
      continue;
    }
    if (text[i] == ',' || std::isspace(static_cast<unsigned char>(text[i])) != 0) {
      ++i;
      continue;
    }
    auto end = text.find_first_of(", \t\r\n#", i);
    auto word = text.substr(i, end == std::string_view::npos ? std::string_view::npos : end - i);
    CSNAP_ASSIGN_OR_RETURN(auto recipient, codec::age::X25519Recipient::parse(word));
    recipients.push_back(recipient);
    i = end == std::string_view::npos ? text.size() : end;
  }
  return recipients;
}

Result<std::unique_ptr<ByteSink>> encrypting_sink(ByteSink& out,
                                                  const EncryptionSettings& settings) {
  if (!settings.encrypts())
    return std::unique_ptr<ByteSink>(std::make_unique<ForwardingSink>(out));
  codec::age::EncryptOptions options;
  options.recipients = settings.recipients;
  options.passphrase = settings.passphrase;
  options.scrypt_work_factor = settings.scrypt_work_factor;
  CSNAP_ASSIGN_OR_RETURN(auto sink, codec::age::EncryptSink::create(out, std::move(options)));
  return std::unique_ptr<ByteSink>(std::move(sink));
}

Result<std::unique_ptr<PlaintextSource>> PlaintextSource::open(
    ByteSource& raw, const EncryptionSettings& settings, const std::filesystem::path& tmp_dir) {
  auto plaintext = std::unique_ptr<PlaintextSource>(new PlaintextSource(raw));
  CSNAP_ASSIGN_OR_RETURN(auto head, plaintext->peek_.peek(kPeekBytes));
  if (codec::age::looks_like_age(head)) {
    if (!settings.passphrase && settings.identities.empty()) {
      std::string needs = "a key";
      if (auto types = codec::age::recipient_types(plaintext->peek_); types.ok()) {
        needs = codec::age::describe_needed_key(*types);
      }
      return Error(ErrorKind::invalid_argument,
                   fmt::format("the backup is encrypted with age and {}: set CRYPTO_PASSWORD "
                               "(or --passphrase-file) for a passphrase, --identity-file for an "
                               "X25519 key",
                               needs));
    }
    codec::age::DecryptOptions options;
    options.identities = settings.identities;
    options.passphrase = settings.passphrase;
    options.max_scrypt_work_factor = settings.max_scrypt_work_factor;
    auto decrypted = codec::age::DecryptSource::open(plaintext->peek_, options);
    if (!decrypted.ok()) {
      if (decrypted.error().kind() == ErrorKind::permission_denied && settings.passphrase) {
        return std::move(decrypted.error().add_context("decrypting (CRYPTO_PASSWORD)"));
      }
      return std::move(decrypted.error().add_context("decrypting"));
    }
    plaintext->decrypted_ = std::move(decrypted).value();
    plaintext->encryption_ = "age";
  } else if (codec::looks_like_legacy_v0(head)) {
    if (!settings.passphrase) {
      return Error(ErrorKind::invalid_argument,
                   "the backup is encrypted in the original tool's format (v0:): set "
                   "CRYPTO_PASSWORD to its passphrase");
    }
    auto decrypted =
        codec::LegacyV0DecryptSource::open(plaintext->peek_, *settings.passphrase, tmp_dir);
    if (!decrypted.ok()) {
      return std::move(decrypted.error().add_context("decrypting with CRYPTO_PASSWORD"));
    }
    plaintext->decrypted_ = std::move(decrypted).value();
    plaintext->encryption_ = "original v0";
  } else if (settings.refuses_unencrypted()) {
    return Error(ErrorKind::corrupt, std::string(kUnencryptedRefusal));
  }
  return plaintext;
}

Result<std::size_t> PlaintextSource::read(std::span<std::byte> buffer) {
  if (decrypted_)
    return decrypted_->read(buffer);
  return peek_.read(buffer);
}

Result<std::string> describe_encryption(ByteSource& raw) {
  PeekSource peek(raw);
  CSNAP_ASSIGN_OR_RETURN(auto head, peek.peek(kPeekBytes));
  if (codec::looks_like_legacy_v0(head))
    return std::string("original v0 (needs CRYPTO_PASSWORD)");
  if (!codec::age::looks_like_age(head))
    return std::string();
  auto types = codec::age::recipient_types(peek);
  if (!types.ok())
    return std::string("age");
  return "age: " + codec::age::describe_needed_key(*types);
}

}  // namespace csnap::ops
