#pragma once
// The age file format (age-encryption.org/v1, the C2SP specification) as stream filters: a
// header of recipient stanzas with an HMAC, then the payload in 64 KiB ChaCha20-Poly1305 chunks
// (STREAM). Recipients are X25519 public keys (`age1...`) or one passphrase (scrypt). Files are
// interchangeable with the stock `age` tool. Armor and post-quantum recipients are not supported.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "codec/age_header.hpp"
#include "codec/age_primitives.hpp"
#include "util/io.hpp"
#include "util/secret.hpp"

namespace csnap::codec::age {

inline constexpr std::size_t kChunkSize = std::size_t{64} * 1024;
// The default and the ceiling for scrypt work factors (log2 of N).
inline constexpr int kDefaultScryptWorkFactor = 18;
inline constexpr int kMaxScryptWorkFactor = 22;
// What a reader accepts unless told otherwise: a file from elsewhere must not cost 4 GiB and
// seconds (work factor 22) merely to be listed.
inline constexpr int kDefaultMaxScryptWorkFactor = 20;

// An X25519 public key, `age1...` in bech32.
struct X25519Recipient {
  std::array<std::uint8_t, 32> public_key{};

  // Errors are ErrorKind::invalid_argument and quote `age1_bech32` (it is public).
  static Result<X25519Recipient> parse(std::string_view age1_bech32);
  std::string to_string() const;
  friend bool operator==(const X25519Recipient&, const X25519Recipient&) = default;
};

// An X25519 secret key, `AGE-SECRET-KEY-1...`; never printed, and errors never quote it.
struct X25519Identity {
  Secret secret_key;  // the 32 raw key bytes
  X25519Recipient public_recipient;

  static Result<X25519Identity> parse(std::string_view age_secret_key_1);
  static Result<X25519Identity> generate();
  X25519Recipient recipient() const { return public_recipient; }
  // The `AGE-SECRET-KEY-1...` text, as age-keygen writes it.
  Secret to_secret_string() const;
};

// Parses the identity file format age-keygen writes: `#` comments, blank lines, and one
// AGE-SECRET-KEY-1... per line. At least one identity; a bad line is named by number only.
Result<std::vector<X25519Identity>> parse_identity_file(std::string_view text);

struct EncryptOptions {
  std::vector<X25519Recipient> recipients;
  // A passphrase (scrypt) must be the only recipient, as the specification requires.
  std::optional<Secret> passphrase;
  int scrypt_work_factor = kDefaultScryptWorkFactor;  // 1..kMaxScryptWorkFactor
};

// Encrypts everything written to `downstream`: the header goes out at `create`, then one
// 64 KiB chunk at a time; `finish` writes the last chunk and finishes `downstream`.
class EncryptSink final : public ByteSink {
 public:
  // Errors are ErrorKind::invalid_argument for bad options (no recipient, passphrase with
  // recipients, work factor out of range), else what `downstream` returned.
  static Result<std::unique_ptr<EncryptSink>> create(ByteSink& downstream, EncryptOptions options);
  EncryptSink(const EncryptSink&) = delete;
  EncryptSink& operator=(const EncryptSink&) = delete;
  ~EncryptSink() override;

  using ByteSink::write;
  Status write(std::span<const std::byte> data) override;
  Status finish() override;

 private:
  EncryptSink(ByteSink& downstream, crypto::ChaChaPoly aead);
  Status seal_chunk(bool last);

  ByteSink* downstream_;
  crypto::ChaChaPoly aead_;
  std::vector<std::uint8_t> plain_;
  std::size_t plain_size_ = 0;
  std::vector<std::uint8_t> sealed_;
  std::uint64_t counter_ = 0;
  bool failed_ = false;
  bool finished_ = false;
};

struct DecryptOptions {
  std::vector<X25519Identity> identities;
  std::optional<Secret> passphrase;
  // Files asking for more scrypt work than this are refused before any work is done.
  int max_scrypt_work_factor = kDefaultMaxScryptWorkFactor;
};

// Decrypts an age file read from `upstream`. Every chunk is authenticated before any of its
// bytes are returned; a stream that is truncated, reordered, extended or altered fails with an
// ErrorKind::corrupt error naming the chunk ("age: chunk 3 failed authentication").
class DecryptSource final : public ByteSource {
 public:
  // Reads the header and verifies its MAC. No usable key: ErrorKind::permission_denied ("age:
  // wrong passphrase", "age: no identity matches ..."); a work factor above the cap:
  // ErrorKind::invalid_argument; a damaged or unsupported header: ErrorKind::corrupt.
  static Result<std::unique_ptr<DecryptSource>> open(ByteSource& upstream,
                                                     const DecryptOptions& options);
  DecryptSource(const DecryptSource&) = delete;
  DecryptSource& operator=(const DecryptSource&) = delete;
  ~DecryptSource() override;

  Result<std::size_t> read(std::span<std::byte> buffer) override;

 private:
  DecryptSource(std::unique_ptr<BufferedInput> input, crypto::ChaChaPoly aead);
  Status next_chunk();
  Error fail(Error error);

  std::unique_ptr<BufferedInput> input_;
  crypto::ChaChaPoly aead_;
  std::vector<std::uint8_t> sealed_;  // one sealed chunk plus one byte of lookahead
  std::size_t carried_ = 0;           // lookahead bytes already at the front of `sealed_`
  std::vector<std::uint8_t> plain_;
  std::size_t plain_position_ = 0;
  std::size_t plain_size_ = 0;
  std::uint64_t counter_ = 0;
  bool done_ = false;
  std::optional<Error> pending_;  // reported once the released bytes are consumed
  std::optional<Error> failed_;
};

// How many leading bytes `looks_like_age` needs.
inline constexpr std::size_t kDetectBytes = kVersionLine.size();
// True when `first_bytes` start with the binary age header line "age-encryption.org/v1\n".
bool looks_like_age(std::span<const std::byte> first_bytes);

// The stanza types of a file's header in order of first appearance ("X25519", "scrypt", or
// others such as "mlkem768x25519"), read without any key: what kind of key the file needs.
Result<std::vector<std::string>> recipient_types(ByteSource& header_source);
// A sentence for `inspect`: "needs a passphrase (scrypt)", "needs an X25519 identity", ...
std::string describe_needed_key(std::span<const std::string> types);

}  // namespace csnap::codec::age
