#include "codec/age.hpp"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "codec/age_bech32.hpp"

namespace csnap::codec::age {

namespace {

using crypto::Bytes;
using crypto::Key32;

constexpr std::size_t kFileKeySize = 16;
constexpr std::size_t kTagSize = crypto::ChaChaPoly::kTagSize;
constexpr std::size_t kSealedChunkSize = kChunkSize + kTagSize;
constexpr std::size_t kPayloadNonceSize = 16;
constexpr std::string_view kRecipientPrefix = "age";
constexpr std::string_view kIdentityPrefix = "age-secret-key-";
constexpr std::string_view kX25519Label = "age-encryption.org/v1/X25519";
constexpr std::string_view kScryptLabel = "age-encryption.org/v1/scrypt";

using FileKey = std::array<std::uint8_t, kFileKeySize>;

// Wipes a key when it goes out of scope.
template <std::size_t N>
struct WipedKey {
  std::array<std::uint8_t, N> bytes{};
  WipedKey() = default;
  WipedKey(const WipedKey&) = delete;
  WipedKey& operator=(const WipedKey&) = delete;
  ~WipedKey() { crypto::wipe(bytes); }
};

void wipe(Bytes& bytes) {
  crypto::wipe(bytes);
}

std::span<const std::uint8_t, 32> secret_bytes(const Secret& secret) {
  assert(secret.reveal().size() == 32);
  return std::span<const std::uint8_t, 32>(
      reinterpret_cast<const std::uint8_t*>(secret.reveal().data()), 32);
}

// Seals or opens a stanza body: the file key under `wrap_key`, with the all-zero nonce.
Result<Bytes> wrap_file_key(std::span<const std::uint8_t> wrap_key, const FileKey& file_key) {
  CSNAP_ASSIGN_OR_RETURN(auto aead, crypto::ChaChaPoly::create(wrap_key.first<32>()));
  std::array<std::uint8_t, 12> nonce{};
  Bytes body(kFileKeySize + kTagSize);
  CSNAP_TRY(aead.seal(nonce, file_key, body));
  return body;
}

Result<bool> unwrap_file_key(std::span<const std::uint8_t> wrap_key,
                             std::span<const std::uint8_t> body, FileKey& file_key) {
  CSNAP_ASSIGN_OR_RETURN(auto aead, crypto::ChaChaPoly::create(wrap_key.first<32>()));
  std::array<std::uint8_t, 12> nonce{};
  return aead.open(nonce, body, file_key);
}

Bytes concat(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
  Bytes out(a.size() + b.size());
  std::memcpy(out.data(), a.data(), a.size());
  std::memcpy(out.data() + a.size(), b.data(), b.size());
  return out;
}

Result<Stanza> x25519_stanza(const X25519Recipient& recipient, const FileKey& file_key) {
  WipedKey<32> ephemeral;
  CSNAP_TRY(crypto::random_bytes(ephemeral.bytes));
  CSNAP_ASSIGN_OR_RETURN(Key32 share, crypto::x25519_public_key(ephemeral.bytes));
  CSNAP_ASSIGN_OR_RETURN(auto shared, crypto::x25519(ephemeral.bytes, recipient.public_key));
  if (!shared) {
    return Error(
        ErrorKind::invalid_argument,
        fmt::format("age: recipient {} is not a usable X25519 key", recipient.to_string()));
  }
  CSNAP_ASSIGN_OR_RETURN(
      Bytes wrap_key,
      crypto::hkdf_sha256(*shared, concat(share, recipient.public_key), kX25519Label, 32));
  crypto::wipe(*shared);
  auto body = wrap_file_key(wrap_key, file_key);
  wipe(wrap_key);
  if (!body)
    return std::move(body).error();
  return Stanza{"X25519", {raw_base64_encode(share)}, std::move(*body)};
}

Result<Bytes> scrypt_wrap_key(const Secret& passphrase, std::span<const std::uint8_t> salt,
                              int work_factor) {
  Bytes full_salt(kScryptLabel.begin(), kScryptLabel.end());
  full_salt.insert(full_salt.end(), salt.begin(), salt.end());
  return crypto::scrypt(passphrase.reveal(), full_salt, work_factor, 8, 1, 32);
}

Result<Stanza> scrypt_stanza(const Secret& passphrase, int work_factor, const FileKey& file_key) {
  std::array<std::uint8_t, 16> salt{};
  CSNAP_TRY(crypto::random_bytes(salt));
  CSNAP_ASSIGN_OR_RETURN(Bytes wrap_key, scrypt_wrap_key(passphrase, salt, work_factor));
  auto body = wrap_file_key(wrap_key, file_key);
  wipe(wrap_key);
  if (!body)
    return std::move(body).error();
  return Stanza{"scrypt", {raw_base64_encode(salt), std::to_string(work_factor)}, std::move(*body)};
}

Result<Key32> header_mac(const FileKey& file_key, std::string_view mac_input) {
  CSNAP_ASSIGN_OR_RETURN(Bytes mac_key, crypto::hkdf_sha256(file_key, {}, "header", 32));
  auto mac = crypto::hmac_sha256(mac_key, crypto::as_span(mac_input));
  wipe(mac_key);
  return mac;
}

Result<crypto::ChaChaPoly> payload_aead(const FileKey& file_key,
                                        std::span<const std::uint8_t> nonce) {
  CSNAP_ASSIGN_OR_RETURN(Bytes key, crypto::hkdf_sha256(file_key, nonce, "payload", 32));
  auto aead = crypto::ChaChaPoly::create(std::span(key).first<32>());
  wipe(key);
  return aead;
}

// The STREAM nonce: an 11-byte big-endian chunk counter, then 1 for the last chunk, else 0.
std::array<std::uint8_t, 12> chunk_nonce(std::uint64_t counter, bool last) {
  std::array<std::uint8_t, 12> nonce{};
  for (int i = 0; i < 8; ++i)
    nonce[10 - static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(counter >> (8 * i));
  nonce[11] = last ? 1 : 0;
  return nonce;
}

Error malformed(std::string_view what) {
  return Error(ErrorKind::corrupt, fmt::format("age: malformed header: {}", what));
}

// The work factor of an scrypt stanza: decimal, no sign, no leading zero.
std::optional<int> parse_work_factor(std::string_view text) {
  if (text.empty() || text.size() > 2 || text[0] < '1' || text[0] > '9')
    return std::nullopt;
  int value = 0;
  for (char c : text) {
    if (c < '0' || c > '9')
      return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

// Opens the only (scrypt) stanza with the passphrase: true on success.
Result<bool> unwrap_scrypt(const Stanza& stanza, const Secret& passphrase, int max_work_factor,
                           FileKey& file_key) {
  if (stanza.arguments.size() != 2)
    return malformed("an scrypt stanza needs exactly two arguments");
  auto salt = raw_base64_decode(stanza.arguments[0]);
  if (!salt || salt->size() != 16)
    return malformed("bad scrypt salt");
  auto work_factor = parse_work_factor(stanza.arguments[1]);
  if (!work_factor)
    return malformed("bad scrypt work factor");
  if (*work_factor > max_work_factor) {
    return Error(ErrorKind::invalid_argument,
                 fmt::format("age: the file asks for scrypt work factor {}, above the limit of {} "
                             "(--max-work-factor; raise it only for a backup you trust)",
                             *work_factor, max_work_factor));
  }
  if (stanza.body.size() != kFileKeySize + kTagSize)
    return malformed("bad scrypt stanza body size");
  CSNAP_ASSIGN_OR_RETURN(Bytes wrap_key, scrypt_wrap_key(passphrase, *salt, *work_factor));
  auto opened = unwrap_file_key(wrap_key, stanza.body, file_key);
  wipe(wrap_key);
  return opened;
}

Result<bool> unwrap_x25519(const Stanza& stanza, const X25519Identity& identity,
                           FileKey& file_key) {
  if (stanza.arguments.size() != 1)
    return malformed("an X25519 stanza needs exactly one argument");
  auto share = raw_base64_decode(stanza.arguments[0]);
  if (!share || share->size() != 32)
    return malformed("bad X25519 share");
  if (stanza.body.size() != kFileKeySize + kTagSize)
    return malformed("bad X25519 stanza body size");
  auto share_bytes = std::span<const std::uint8_t>(*share).first<32>();
  CSNAP_ASSIGN_OR_RETURN(auto shared,
                         crypto::x25519(secret_bytes(identity.secret_key), share_bytes));
  if (!shared)
    return malformed("the X25519 share is a low-order point");
  auto wrap_key = crypto::hkdf_sha256(
      *shared, concat(share_bytes, identity.public_recipient.public_key), kX25519Label, 32);
  crypto::wipe(*shared);
  if (!wrap_key)
    return std::move(wrap_key).error();
  auto opened = unwrap_file_key(*wrap_key, stanza.body, file_key);
  wipe(*wrap_key);
  return opened;
}

Result<FileKey> unwrap(const Header& header, const DecryptOptions& options) {
  FileKey file_key{};
  const auto& stanzas = header.stanzas;
  bool has_scrypt = std::any_of(stanzas.begin(), stanzas.end(),
                                [](const Stanza& s) { return s.type == "scrypt"; });
  if (has_scrypt) {
    if (stanzas.size() != 1)
      return malformed("an scrypt stanza must be the only stanza");
    if (!options.passphrase) {
      return Error(ErrorKind::permission_denied,
                   "age: the file is encrypted with a passphrase (scrypt) and none was given");
    }
    CSNAP_ASSIGN_OR_RETURN(bool opened, unwrap_scrypt(stanzas[0], *options.passphrase,
                                                      options.max_scrypt_work_factor, file_key));
    if (!opened)
      return Error(ErrorKind::permission_denied, "age: wrong passphrase");
    return file_key;
  }
  for (const auto& identity : options.identities) {
    for (const auto& stanza : stanzas) {
      if (stanza.type != "X25519")
        continue;
      CSNAP_ASSIGN_OR_RETURN(bool opened, unwrap_x25519(stanza, identity, file_key));
      if (opened)
        return file_key;
    }
  }
  auto x25519_count = std::count_if(stanzas.begin(), stanzas.end(),
                                    [](const Stanza& s) { return s.type == "X25519"; });
  if (x25519_count == 0) {
    std::vector<std::string> types;
    types.reserve(stanzas.size());
    for (const auto& stanza : stanzas)
      types.push_back(stanza.type);
    return Error(ErrorKind::permission_denied,
                 fmt::format("age: the file has no recipient this tool supports (stanza types: {})",
                             fmt::join(types, ", ")));
  }
  if (options.identities.empty()) {
    return Error(ErrorKind::permission_denied,
                 fmt::format("age: the file is encrypted to {} X25519 recipient(s) and needs an "
                             "identity{}",
                             x25519_count, options.passphrase ? ", not a passphrase" : ""));
  }
  std::vector<std::string> ours;
  for (const auto& identity : options.identities)
    ours.push_back(identity.public_recipient.to_string());
  return Error(ErrorKind::permission_denied,
               fmt::format("age: no identity matches: the file is encrypted to {} X25519 "
                           "recipient(s), none of them {}",
                           x25519_count, fmt::join(ours, ", ")));
}

}  // namespace

// --- keys -----------------------------------------------------------------------------------

Result<X25519Recipient> X25519Recipient::parse(std::string_view age1_bech32) {
  auto decoded = bech32::decode(age1_bech32);
  if (!decoded || decoded->human_part != kRecipientPrefix || decoded->data.size() != 32) {
    return Error(ErrorKind::invalid_argument,
                 fmt::format("not an age X25519 recipient (age1...): \"{}\"", age1_bech32));
  }
  X25519Recipient recipient;
  std::copy(decoded->data.begin(), decoded->data.end(), recipient.public_key.begin());
  return recipient;
}

std::string X25519Recipient::to_string() const {
  return bech32::encode(kRecipientPrefix, public_key);
}

namespace {

Result<X25519Identity> identity_from_bytes(std::span<const std::uint8_t, 32> secret) {
  X25519Identity identity;
  identity.secret_key = Secret(std::string(reinterpret_cast<const char*>(secret.data()), 32));
  CSNAP_ASSIGN_OR_RETURN(identity.public_recipient.public_key, crypto::x25519_public_key(secret));
  return identity;
}

}  // namespace

Result<X25519Identity> X25519Identity::parse(std::string_view age_secret_key_1) {
  auto decoded = bech32::decode(age_secret_key_1);
  if (!decoded || decoded->human_part != kIdentityPrefix || decoded->data.size() != 32) {
    if (decoded)
      wipe(decoded->data);
    return Error(ErrorKind::invalid_argument,
                 "not an age X25519 identity (AGE-SECRET-KEY-1...; the text is not shown)");
  }
  auto identity = identity_from_bytes(std::span(decoded->data).first<32>());
  wipe(decoded->data);
  return identity;
}

Result<X25519Identity> X25519Identity::generate() {
  WipedKey<32> secret;
  CSNAP_TRY(crypto::random_bytes(secret.bytes));
  return identity_from_bytes(secret.bytes);
}

Secret X25519Identity::to_secret_string() const {
  return Secret(bech32::encode(kIdentityPrefix, secret_bytes(secret_key), true));
}

Result<std::vector<X25519Identity>> parse_identity_file(std::string_view text) {
  std::vector<X25519Identity> identities;
  std::size_t line_number = 0;
  while (!text.empty()) {
    ++line_number;
    std::size_t newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text = newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
    if (line.ends_with('\r'))
      line.remove_suffix(1);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t'))
      line.remove_suffix(1);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t'))
      line.remove_prefix(1);
    if (line.empty() || line.starts_with('#'))
      continue;
    if (line.starts_with("AGE-PLUGIN-")) {
      return Error(ErrorKind::invalid_argument,
                   fmt::format("identity file line {}: age plugin identities are not supported",
                               line_number));
    }
    auto identity = X25519Identity::parse(line);
    if (!identity) {
      return Error(ErrorKind::invalid_argument,
                   fmt::format("identity file line {}: not an AGE-SECRET-KEY-1... identity (the "
                               "line is not shown)",
                               line_number));
    }
    identities.push_back(std::move(*identity));
  }
  if (identities.empty())
    return Error(ErrorKind::invalid_argument, "identity file: no AGE-SECRET-KEY-1... identity");
  return identities;
}

// --- encryption -----------------------------------------------------------------------------

EncryptSink::EncryptSink(ByteSink& downstream, crypto::ChaChaPoly aead)
    : downstream_(&downstream),
      aead_(std::move(aead)),
      plain_(kChunkSize),
      sealed_(kSealedChunkSize) {}

EncryptSink::~EncryptSink() {
  crypto::wipe(plain_);
}

Result<std::unique_ptr<EncryptSink>> EncryptSink::create(ByteSink& downstream,
                                                         EncryptOptions options) {
  if (options.passphrase && !options.recipients.empty()) {
    return Error(ErrorKind::invalid_argument,
                 "age: a passphrase must be the only recipient (the format allows no others "
                 "beside it)");
  }
  if (!options.passphrase && options.recipients.empty())
    return Error(ErrorKind::invalid_argument, "age: no recipient and no passphrase to encrypt to");
  if (options.passphrase && options.passphrase->empty())
    return Error(ErrorKind::invalid_argument, "age: the passphrase is empty");
  if (options.passphrase &&
      (options.scrypt_work_factor < 1 || options.scrypt_work_factor > kMaxScryptWorkFactor)) {
    return Error(ErrorKind::invalid_argument,
                 fmt::format("age: scrypt work factor {} is outside 1..{}",
                             options.scrypt_work_factor, kMaxScryptWorkFactor));
  }
  WipedKey<kFileKeySize> file_key;
  CSNAP_TRY(crypto::random_bytes(file_key.bytes));
  std::vector<Stanza> stanzas;
  if (options.passphrase) {
    CSNAP_ASSIGN_OR_RETURN(auto stanza, scrypt_stanza(*options.passphrase,
                                                      options.scrypt_work_factor, file_key.bytes));
    stanzas.push_back(std::move(stanza));
  }
  for (const auto& recipient : options.recipients) {
    CSNAP_ASSIGN_OR_RETURN(auto stanza, x25519_stanza(recipient, file_key.bytes));
    stanzas.push_back(std::move(stanza));
  }
  std::string header = encode_header_without_mac(stanzas);
  CSNAP_ASSIGN_OR_RETURN(Key32 mac, header_mac(file_key.bytes, header));
  header += encode_mac_line(mac);
  std::array<std::uint8_t, kPayloadNonceSize> nonce{};
  CSNAP_TRY(crypto::random_bytes(nonce));
  header.append(reinterpret_cast<const char*>(nonce.data()), nonce.size());
  CSNAP_ASSIGN_OR_RETURN(auto aead, payload_aead(file_key.bytes, nonce));
  CSNAP_TRY(downstream.write(header));
  return std::unique_ptr<EncryptSink>(new EncryptSink(downstream, std::move(aead)));
}

Status EncryptSink::seal_chunk(bool last) {
  if (counter_ == UINT64_MAX) {
    failed_ = true;
    return Error(ErrorKind::internal, "age: too many chunks");
  }
  auto nonce = chunk_nonce(counter_, last);
  auto sealed = std::span(sealed_).first(plain_size_ + kTagSize);
  if (auto status = aead_.seal(nonce, std::span(plain_).first(plain_size_), sealed); !status) {
    failed_ = true;
    return status;
  }
  ++counter_;
  plain_size_ = 0;
  if (auto status = downstream_->write(std::as_bytes(sealed)); !status) {
    failed_ = true;
    return status;
  }
  return {};
}

Status EncryptSink::write(std::span<const std::byte> data) {
  if (failed_ || finished_)
    return Error(ErrorKind::internal, "age: the encryptor is unusable");
  while (!data.empty()) {
    // A full chunk is sealed only once more data shows it is not the last.
    if (plain_size_ == kChunkSize)
      CSNAP_TRY(seal_chunk(false));
    std::size_t take = std::min(data.size(), kChunkSize - plain_size_);
    std::memcpy(plain_.data() + plain_size_, data.data(), take);
    plain_size_ += take;
    data = data.subspan(take);
  }
  return {};
}

Status EncryptSink::finish() {
  if (failed_ || finished_)
    return Error(ErrorKind::internal, "age: the encryptor is unusable");
  finished_ = true;
  CSNAP_TRY(seal_chunk(true));
  return downstream_->finish();
}

// --- decryption -----------------------------------------------------------------------------

DecryptSource::DecryptSource(std::unique_ptr<BufferedInput> input, crypto::ChaChaPoly aead)
    : input_(std::move(input)),
      aead_(std::move(aead)),
      sealed_(kSealedChunkSize + 1),
      plain_(kChunkSize) {}

DecryptSource::~DecryptSource() {
  crypto::wipe(plain_);
}

Result<std::unique_ptr<DecryptSource>> DecryptSource::open(ByteSource& upstream,
                                                           const DecryptOptions& options) {
  auto input = std::make_unique<BufferedInput>(upstream);
  CSNAP_ASSIGN_OR_RETURN(Header header, read_header(*input));
  CSNAP_ASSIGN_OR_RETURN(FileKey file_key, unwrap(header, options));
  auto mac = header_mac(file_key, header.mac_input);
  if (!mac) {
    crypto::wipe(file_key);
    return std::move(mac).error();
  }
  if (!crypto::equal_constant_time(*mac, header.mac)) {
    crypto::wipe(file_key);
    return Error(ErrorKind::corrupt, "age: header MAC mismatch (the header was altered)");
  }
  std::array<std::uint8_t, kPayloadNonceSize> nonce{};
  auto nonce_size = input->read_full(nonce);
  if (!nonce_size || *nonce_size != nonce.size()) {
    crypto::wipe(file_key);
    if (!nonce_size)
      return std::move(nonce_size).error();
    return Error(ErrorKind::corrupt, "age: truncated: the payload nonce is missing");
  }
  auto aead = payload_aead(file_key, nonce);
  crypto::wipe(file_key);
  if (!aead)
    return std::move(aead).error();
  return std::unique_ptr<DecryptSource>(new DecryptSource(std::move(input), std::move(*aead)));
}

Error DecryptSource::fail(Error error) {
  failed_ = error;
  return error;
}

Status DecryptSource::next_chunk() {
  std::uint64_t number = counter_ + 1;
  CSNAP_ASSIGN_OR_RETURN(std::size_t count,
                         input_->read_full(std::span(sealed_).subspan(carried_)));
  count += carried_;
  carried_ = 0;
  if (count == 0) {
    if (counter_ == 0)
      return Error(ErrorKind::corrupt, "age: truncated: the payload has no chunk");
    return Error(
        ErrorKind::corrupt,
        fmt::format("age: truncated: no final chunk (the file ends after chunk {})", counter_));
  }
  bool more = count > kSealedChunkSize;
  std::size_t size = more ? kSealedChunkSize : count;
  if (size < kTagSize) {
    return Error(ErrorKind::corrupt,
                 fmt::format("age: truncated: chunk {} is shorter than its tag", number));
  }
  if (size == kTagSize && counter_ > 0) {
    return Error(ErrorKind::corrupt,
                 fmt::format("age: chunk {} is an empty final chunk, which only an empty "
                             "payload may have",
                             number));
  }
  auto sealed = std::span<const std::uint8_t>(sealed_).first(size);
  // A short chunk can only be the last. A full one is the last when nothing follows it, but a
  // full last chunk followed by trailing data must still be told apart from a middle chunk.
  std::array<bool, 2> attempts{true, false};
  std::size_t attempt_count = 1;
  if (size == kSealedChunkSize) {
    attempts = {!more, more};
    attempt_count = 2;
  }
  bool opened = false;
  bool last = false;
  for (std::size_t i = 0; i < attempt_count && !opened; ++i) {
    last = attempts[i];
    CSNAP_ASSIGN_OR_RETURN(opened, aead_.open(chunk_nonce(counter_, last), sealed, plain_));
  }
  if (!opened) {
    return Error(ErrorKind::corrupt, fmt::format("age: chunk {} failed authentication", number));
  }
  plain_position_ = 0;
  plain_size_ = size - kTagSize;
  ++counter_;
  if (more) {
    sealed_[0] = sealed_[kSealedChunkSize];
    carried_ = 1;
  }
  if (last) {
    done_ = true;
    if (more) {
      pending_ = Error(ErrorKind::corrupt,
                       fmt::format("age: trailing data after the final chunk ({})", number));
    }
  }
  return {};
}

Result<std::size_t> DecryptSource::read(std::span<std::byte> buffer) {
  if (failed_)
    return *failed_;
  if (buffer.empty())
    return std::size_t{0};
  while (plain_position_ == plain_size_) {
    if (pending_)
      return fail(*pending_);
    if (done_)
      return std::size_t{0};
    if (counter_ == UINT64_MAX)
      return fail(Error(ErrorKind::corrupt, "age: too many chunks"));
    if (auto status = next_chunk(); !status)
      return fail(std::move(status).error());
  }
  std::size_t take = std::min(buffer.size(), plain_size_ - plain_position_);
  std::memcpy(buffer.data(), plain_.data() + plain_position_, take);
  plain_position_ += take;
  return take;
}

// --- inspection -----------------------------------------------------------------------------

bool looks_like_age(std::span<const std::byte> first_bytes) {
  return first_bytes.size() >= kVersionLine.size() &&
         std::memcmp(first_bytes.data(), kVersionLine.data(), kVersionLine.size()) == 0;
}

Result<std::vector<std::string>> recipient_types(ByteSource& header_source) {
  BufferedInput input(header_source, 4096);
  CSNAP_ASSIGN_OR_RETURN(Header header, read_header(input));
  std::vector<std::string> types;
  for (const auto& stanza : header.stanzas) {
    if (std::find(types.begin(), types.end(), stanza.type) == types.end())
      types.push_back(stanza.type);
  }
  return types;
}

std::string describe_needed_key(std::span<const std::string> types) {
  std::vector<std::string> needs;
  for (const auto& type : types) {
    if (type == "scrypt") {
      needs.emplace_back("a passphrase (scrypt)");
    } else if (type == "X25519") {
      needs.emplace_back("an X25519 identity");
    } else {
      needs.push_back(fmt::format("a {} key (not supported)", type));
    }
  }
  if (needs.empty())
    return "needs a key of no known kind (the header has no recipient)";
  return fmt::format("needs {}", fmt::join(needs, " or "));
}

}  // namespace csnap::codec::age
