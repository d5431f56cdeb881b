#include "codec/age.hpp"

#include <algorithm>
#include <csignal>
#include <cstring>
#include <random>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include "codec/age_bech32.hpp"
#include "codec/sha256.hpp"
#include "test_data.hpp"

namespace csnap::codec::age {
namespace {

using test_common::random_bytes;

constexpr int kFastWorkFactor = 10;

using test_common::TrickleSource;

X25519Identity new_identity() {
  auto identity = X25519Identity::generate();
  EXPECT_TRUE(identity);
  return std::move(*identity);
}

EncryptOptions to_recipients(std::vector<X25519Recipient> recipients) {
  EncryptOptions options;
  options.recipients = std::move(recipients);
  return options;
}

EncryptOptions to_passphrase(std::string passphrase, int work_factor = kFastWorkFactor) {
  EncryptOptions options;
  options.passphrase = Secret(std::move(passphrase));
  options.scrypt_work_factor = work_factor;
  return options;
}

std::string encrypt(std::string_view data, EncryptOptions options, std::size_t write_size = 70000) {
  StringSink out;
  auto sink = EncryptSink::create(out, std::move(options));
  EXPECT_TRUE(sink) << sink.error().message();
  if (!sink)
    return {};
  for (std::size_t offset = 0; offset < data.size(); offset += write_size)
    EXPECT_TRUE((*sink)->write(data.substr(offset, write_size)));
  EXPECT_TRUE((*sink)->finish());
  return out.take();
}

std::string encrypt_to(std::string_view data, const X25519Identity& identity) {
  return encrypt(data, to_recipients({identity.recipient()}));
}

struct Decrypted {
  std::string released;        // what the source returned before the end or the error
  std::optional<Error> error;  // from open or read
  bool opened = false;
};

Decrypted decrypt(std::string_view file, const DecryptOptions& options, std::size_t step = 1 << 20,
                  std::size_t read_size = 50000) {
  Decrypted result;
  TrickleSource upstream(file, step);
  auto source = DecryptSource::open(upstream, options);
  if (!source) {
    result.error = source.error();
    return result;
  }
  result.opened = true;
  std::string buffer(read_size, '\0');
  while (true) {
    auto count = (*source)->read(std::as_writable_bytes(std::span(buffer)));
    if (!count) {
      result.error = count.error();
      return result;
    }
    if (*count == 0)
      return result;
    result.released.append(buffer, 0, *count);
  }
}

DecryptOptions with_identity(const X25519Identity& identity) {
  DecryptOptions options;
  options.identities.push_back(identity);
  return options;
}

// Where the payload starts: after the MAC line and the 16-byte nonce.
std::size_t payload_offset(std::string_view file) {
  std::size_t mac = file.find("\n--- ");
  EXPECT_NE(mac, std::string_view::npos);
  return file.find('\n', mac + 1) + 1 + 16;
}

std::size_t chunk_offset(std::string_view file, std::size_t chunk_index) {
  return payload_offset(file) + chunk_index * (kChunkSize + 16);
}

// --- keys -----------------------------------------------------------------------------------

TEST(AgeKeys, IdentityRoundTripsThroughItsText) {
  // From the C2SP vectors.
  constexpr std::string_view text =
      "AGE-SECRET-KEY-1EGTZVFFV20835NWYV6270LXYVK2VKNX2MMDKWYKLMGR48UAWX40Q2P2LM0";
  auto identity = X25519Identity::parse(text);
  ASSERT_TRUE(identity) << identity.error().message();
  EXPECT_EQ(identity->to_secret_string().reveal(), text);
  auto recipient_text = identity->recipient().to_string();
  EXPECT_TRUE(recipient_text.starts_with("age1"));
  EXPECT_EQ(recipient_text.size(), 62U);
  auto recipient = X25519Recipient::parse(recipient_text);
  ASSERT_TRUE(recipient);
  EXPECT_EQ(*recipient, identity->recipient());
}

TEST(AgeKeys, RefusesBadKeysWithoutQuotingSecrets) {
  auto identity = new_identity();
  std::string secret = identity.to_secret_string().reveal();
  std::string damaged = secret;
  damaged[20] = damaged[20] == 'Q' ? 'P' : 'Q';
  auto parsed = X25519Identity::parse(damaged);
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().kind(), ErrorKind::invalid_argument);
  EXPECT_EQ(parsed.error().message().find(damaged.substr(16, 20)), std::string::npos);

  EXPECT_FALSE(X25519Identity::parse(identity.recipient().to_string()));  // wrong prefix
  EXPECT_FALSE(X25519Recipient::parse(secret));
  std::string recipient = identity.recipient().to_string();
  std::string mixed = recipient;
  mixed[10] = static_cast<char>(std::toupper(static_cast<unsigned char>(mixed[10])));
  if (mixed != recipient) {
    EXPECT_FALSE(X25519Recipient::parse(mixed));
  }
  EXPECT_FALSE(X25519Recipient::parse(recipient.substr(0, recipient.size() - 1)));
  EXPECT_FALSE(X25519Recipient::parse(""));
  EXPECT_FALSE(X25519Recipient::parse("age1"));
}

TEST(AgeKeys, Bech32KnownAnswer) {
  // BIP 173 test vector: a valid bech32 string with empty data.
  auto decoded = bech32::decode("A12UEL5L");
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->human_part, "a");
  EXPECT_TRUE(decoded->data.empty());
  EXPECT_EQ(bech32::encode("a", {}), "a12uel5l");
  EXPECT_FALSE(bech32::decode("A12UEL5X"));
}

TEST(AgeKeys, ParsesIdentityFilesAsAgeKeygenWritesThem) {
  auto first = new_identity();
  auto second = new_identity();
  std::string text =
      "# created: 2026-01-01T00:00:00Z\n# public key: " + first.recipient().to_string() + "\n" +
      first.to_secret_string().reveal() + "\n\n" + second.to_secret_string().reveal() + "\r\n";
  auto identities = parse_identity_file(text);
  ASSERT_TRUE(identities) << identities.error().message();
  ASSERT_EQ(identities->size(), 2U);
  EXPECT_EQ((*identities)[0].recipient(), first.recipient());
  EXPECT_EQ((*identities)[1].recipient(), second.recipient());

  auto empty = parse_identity_file("# nothing here\n\n");
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().kind(), ErrorKind::invalid_argument);

  std::string bad_line = "AGE-SECRET-KEY-1NOTAKEYATALLNOTAKEYATALL";
  auto bad = parse_identity_file("# comment\n" + bad_line + "\n");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("line 2"), std::string::npos) << bad.error().message();
  EXPECT_EQ(bad.error().message().find(bad_line), std::string::npos);
}

// --- round trips ----------------------------------------------------------------------------

TEST(AgeRoundTrip, X25519AtChunkBoundaries) {
  auto identity = new_identity();
  for (std::size_t size : {std::size_t{0}, std::size_t{1}, kChunkSize - 1, kChunkSize,
                           kChunkSize + 1, 2 * kChunkSize, std::size_t{5 * 1024 * 1024 + 123}}) {
    std::string data = random_bytes(size, static_cast<unsigned>(size));
    std::string file = encrypt_to(data, identity);
    std::size_t chunks = std::max<std::size_t>(1, (size + kChunkSize - 1) / kChunkSize);
    EXPECT_EQ(file.size() - payload_offset(file), size + 16 * chunks) << "size " << size;
    auto back = decrypt(file, with_identity(identity));
    ASSERT_FALSE(back.error) << "size " << size << ": " << back.error->message();
    EXPECT_EQ(back.released, data) << "size " << size;
  }
}

TEST(AgeRoundTrip, TinyReadsAndWritesCrossEveryBoundary) {
  auto identity = new_identity();
  std::string data = random_bytes(2 * kChunkSize + 777, 3);
  std::string file = encrypt(data, to_recipients({identity.recipient()}), 333);
  auto trickled = decrypt(file, with_identity(identity), 7, 1000);
  ASSERT_FALSE(trickled.error) << trickled.error->message();
  EXPECT_EQ(trickled.released, data);
  auto one_byte_reads = decrypt(file, with_identity(identity), 1 << 20, 1);
  ASSERT_FALSE(one_byte_reads.error) << one_byte_reads.error->message();
  EXPECT_EQ(one_byte_reads.released, data);
}

TEST(AgeRoundTrip, MultipleRecipientsEachDecrypt) {
  std::vector<X25519Identity> identities{new_identity(), new_identity(), new_identity()};
  EncryptOptions options;
  for (const auto& identity : identities)
    options.recipients.push_back(identity.recipient());
  std::string data = random_bytes(100000, 5);
  std::string file = encrypt(data, options);
  for (const auto& identity : identities) {
    auto back = decrypt(file, with_identity(identity));
    ASSERT_FALSE(back.error) << back.error->message();
    EXPECT_EQ(back.released, data);
  }
  // An identity file holding an unrelated key first still finds the right one.
  DecryptOptions both;
  both.identities = {new_identity(), identities[2]};
  EXPECT_FALSE(decrypt(file, both).error);
}

TEST(AgeRoundTrip, Passphrase) {
  std::string data = random_bytes(200000, 6);
  std::string file = encrypt(data, to_passphrase("correct horse battery staple", kFastWorkFactor));
  EXPECT_NE(file.find("\n-> scrypt "), std::string::npos);
  EXPECT_EQ(file.find("correct horse"), std::string::npos);
  DecryptOptions options;
  options.passphrase = Secret("correct horse battery staple");
  auto back = decrypt(file, options);
  ASSERT_FALSE(back.error) << back.error->message();
  EXPECT_EQ(back.released, data);
}

TEST(AgeRoundTrip, DefaultWorkFactorIsEighteen) {
  std::string file = encrypt("x", to_passphrase("pass", kDefaultScryptWorkFactor));
  EXPECT_NE(file.find(" 18\n"), std::string::npos);
  DecryptOptions options;
  options.passphrase = Secret("pass");
  auto back = decrypt(file, options);
  ASSERT_FALSE(back.error) << back.error->message();
  EXPECT_EQ(back.released, "x");
}

// --- options --------------------------------------------------------------------------------

TEST(AgeOptions, RefusesBadEncryptOptions) {
  StringSink out;
  auto identity = new_identity();
  auto both = to_recipients({identity.recipient()});
  both.passphrase = Secret("p");
  auto mixed = EncryptSink::create(out, both);
  ASSERT_FALSE(mixed);
  EXPECT_EQ(mixed.error().kind(), ErrorKind::invalid_argument);
  auto none = EncryptSink::create(out, {});
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().kind(), ErrorKind::invalid_argument);
  auto absurd = EncryptSink::create(out, to_passphrase("p", 40));
  ASSERT_FALSE(absurd);
  EXPECT_EQ(absurd.error().kind(), ErrorKind::invalid_argument);
  auto empty = EncryptSink::create(out, to_passphrase(""));
  EXPECT_FALSE(empty);
  EXPECT_TRUE(out.text().empty());
}

TEST(AgeOptions, RefusesWorkFactorsAboveTheCapBeforeDoingTheWork) {
  std::string file = encrypt("secret", to_passphrase("pass", kFastWorkFactor));
  DecryptOptions options;
  options.passphrase = Secret("pass");
  options.max_scrypt_work_factor = kFastWorkFactor - 1;
  auto refused = decrypt(file, options);
  ASSERT_TRUE(refused.error);
  EXPECT_FALSE(refused.opened);
  EXPECT_EQ(refused.error->kind(), ErrorKind::invalid_argument);
  EXPECT_NE(refused.error->message().find("work factor 10"), std::string::npos);

  // 2^60 would never finish (nor fit in memory): the refusal must come first.
  std::string absurd = file;
  absurd.replace(absurd.find(" 10\n"), 4, " 60\n");
  options.max_scrypt_work_factor = kMaxScryptWorkFactor;
  auto absurd_refused = decrypt(absurd, options);
  ASSERT_TRUE(absurd_refused.error);
  EXPECT_EQ(absurd_refused.error->kind(), ErrorKind::invalid_argument);
}

// --- refusals -------------------------------------------------------------------------------

TEST(AgeRefusal, WrongPassphrase) {
  std::string file = encrypt("secret", to_passphrase("right", kFastWorkFactor));
  DecryptOptions wrong;
  wrong.passphrase = Secret("wrong");
  auto result = decrypt(file, wrong);
  ASSERT_TRUE(result.error);
  EXPECT_EQ(result.error->kind(), ErrorKind::permission_denied);
  EXPECT_NE(result.error->message().find("wrong passphrase"), std::string::npos);
  EXPECT_EQ(result.error->message().find("wrong\""), std::string::npos);

  auto missing = decrypt(file, with_identity(new_identity()));
  ASSERT_TRUE(missing.error);
  EXPECT_EQ(missing.error->kind(), ErrorKind::permission_denied);
  EXPECT_NE(missing.error->message().find("passphrase"), std::string::npos);
}

TEST(AgeRefusal, WrongIdentity) {
  auto identity = new_identity();
  auto stranger = new_identity();
  std::string file = encrypt_to("secret", identity);
  auto result = decrypt(file, with_identity(stranger));
  ASSERT_TRUE(result.error);
  EXPECT_EQ(result.error->kind(), ErrorKind::permission_denied);
  EXPECT_NE(result.error->message().find("no identity matches"), std::string::npos);
  EXPECT_NE(result.error->message().find(stranger.recipient().to_string()), std::string::npos);
  EXPECT_EQ(result.error->message().find(stranger.to_secret_string().reveal()), std::string::npos);

  DecryptOptions passphrase_only;
  passphrase_only.passphrase = Secret("p");
  auto needs_identity = decrypt(file, passphrase_only);
  ASSERT_TRUE(needs_identity.error);
  EXPECT_EQ(needs_identity.error->kind(), ErrorKind::permission_denied);
  EXPECT_NE(needs_identity.error->message().find("needs an identity"), std::string::npos);
}

class AgeTamperTest : public ::testing::Test {
 protected:
  // Five chunks: four full ones and a short last one.
  void SetUp() override {
    identity_ = new_identity();
    data_ = random_bytes(4 * kChunkSize + 1000, 9);
    file_ = encrypt_to(data_, identity_);
  }

  Decrypted decrypt_file(const std::string& file) {
    return decrypt(file, with_identity(identity_));
  }

  static std::string flip(std::string file, std::size_t offset) {
    file[offset] = static_cast<char>(file[offset] ^ 0x01);
    return file;
  }

  void expect_chunk_refused(const std::string& file, std::size_t chunk_number) {
    auto result = decrypt_file(file);
    ASSERT_TRUE(result.error) << "chunk " << chunk_number;
    EXPECT_TRUE(result.opened);
    EXPECT_EQ(result.error->kind(), ErrorKind::corrupt);
    EXPECT_EQ(result.error->message(),
              "age: chunk " + std::to_string(chunk_number) + " failed authentication");
    // Only the chunks before the damaged one were released, and they are genuine.
    EXPECT_EQ(result.released, data_.substr(0, (chunk_number - 1) * kChunkSize));
  }

  X25519Identity identity_;
  std::string data_;
  std::string file_;
};

TEST_F(AgeTamperTest, IntactFileDecrypts) {
  auto result = decrypt_file(file_);
  ASSERT_FALSE(result.error) << result.error->message();
  EXPECT_EQ(result.released, data_);
}

TEST_F(AgeTamperTest, FlippedBitInTheVersionLine) {
  auto result = decrypt_file(flip(file_, 3));
  ASSERT_TRUE(result.error);
  EXPECT_EQ(result.error->kind(), ErrorKind::corrupt);
}

TEST_F(AgeTamperTest, FlippedBitInTheRecipientStanza) {
  // The X25519 share: the file key no longer unwraps, which looks like someone else's file.
  std::size_t share = file_.find("-> X25519 ") + 12;
  auto result = decrypt_file(flip(file_, share));
  ASSERT_TRUE(result.error);
  EXPECT_FALSE(result.opened);
  EXPECT_TRUE(result.error->kind() == ErrorKind::permission_denied ||
              result.error->kind() == ErrorKind::corrupt);
}

TEST_F(AgeTamperTest, AlteredHeaderFailsTheMac) {
  std::string file = file_;
  file.insert(file.find("---"), "-> grease x\n\n");
  auto result = decrypt_file(file);
  ASSERT_TRUE(result.error);
  EXPECT_EQ(result.error->kind(), ErrorKind::corrupt);
  EXPECT_NE(result.error->message().find("header MAC mismatch"), std::string::npos);
}

TEST_F(AgeTamperTest, FlippedBitInTheMac) {
  std::size_t mac = file_.find("\n--- ") + 6;
  // Flip a bit of a base64 digit that stays a valid, canonical digit ('A' <-> 'B' and so on).
  std::string file = file_;
  file[mac] = file[mac] == 'A' ? 'B' : 'A';
  auto result = decrypt_file(file);
  ASSERT_TRUE(result.error);
  EXPECT_EQ(result.error->kind(), ErrorKind::corrupt);
  EXPECT_NE(result.error->message().find("header MAC mismatch"), std::string::npos);
}

TEST_F(AgeTamperTest, FlippedBitInThePayloadNonce) {
  expect_chunk_refused(flip(file_, payload_offset(file_) - 5), 1);
}

TEST_F(AgeTamperTest, FlippedBitInTheFirstChunk) {
  expect_chunk_refused(flip(file_, chunk_offset(file_, 0) + 100), 1);
}

TEST_F(AgeTamperTest, FlippedBitInAMiddleChunk) {
  expect_chunk_refused(flip(file_, chunk_offset(file_, 2) + 5), 3);
}

TEST_F(AgeTamperTest, FlippedBitInATag) {
  expect_chunk_refused(flip(file_, chunk_offset(file_, 1) + kChunkSize + 3), 2);
}

TEST_F(AgeTamperTest, FlippedBitInTheLastChunk) {
  expect_chunk_refused(flip(file_, file_.size() - 1), 5);
  expect_chunk_refused(flip(file_, chunk_offset(file_, 4)), 5);
}

TEST_F(AgeTamperTest, SwappedChunks) {
  std::string file = file_;
  std::size_t sealed = kChunkSize + 16;
  std::string second = file.substr(chunk_offset(file, 1), sealed);
  std::string third = file.substr(chunk_offset(file, 2), sealed);
  file.replace(chunk_offset(file, 1), sealed, third);
  file.replace(chunk_offset(file, 2), sealed, second);
  expect_chunk_refused(file, 2);
}

TEST_F(AgeTamperTest, TruncatedAtAChunkBoundary) {
  auto result = decrypt_file(file_.substr(0, chunk_offset(file_, 4)));
  ASSERT_TRUE(result.error);
  EXPECT_EQ(result.error->kind(), ErrorKind::corrupt);
  EXPECT_NE(result.error->message().find("truncated: no final chunk"), std::string::npos)
      << result.error->message();
  EXPECT_EQ(result.released, data_.substr(0, 4 * kChunkSize));
}

TEST_F(AgeTamperTest, TruncatedInsideAChunk) {
  expect_chunk_refused(file_.substr(0, chunk_offset(file_, 2) + 1000), 3);
  expect_chunk_refused(file_.substr(0, file_.size() - 1), 5);
}

TEST_F(AgeTamperTest, TruncatedAfterTheHeader) {
  auto result = decrypt_file(file_.substr(0, payload_offset(file_)));
  ASSERT_TRUE(result.error);
  EXPECT_EQ(result.error->kind(), ErrorKind::corrupt);
  EXPECT_NE(result.error->message().find("no chunk"), std::string::npos);
  auto no_nonce = decrypt_file(file_.substr(0, payload_offset(file_) - 3));
  ASSERT_TRUE(no_nonce.error);
  EXPECT_FALSE(no_nonce.opened);
  EXPECT_EQ(no_nonce.error->kind(), ErrorKind::corrupt);
  auto in_header = decrypt_file(file_.substr(0, 40));
  ASSERT_TRUE(in_header.error);
  EXPECT_EQ(in_header.error->kind(), ErrorKind::corrupt);
  EXPECT_NE(in_header.error->message().find("truncated header"), std::string::npos);
}

TEST_F(AgeTamperTest, AppendedBytes) {
  // After a short last chunk, anything appended makes that chunk fail.
  expect_chunk_refused(file_ + "x", 5);
  expect_chunk_refused(file_ + file_.substr(chunk_offset(file_, 1), kChunkSize + 16), 5);
}

TEST(AgeRefusal, AppendedChunkAfterAFullLastChunk) {
  auto identity = new_identity();
  std::string data = random_bytes(2 * kChunkSize, 11);
  std::string file = encrypt_to(data, identity);
  for (const std::string& extra : {std::string("x"), std::string(kChunkSize + 16, 'y'),
                                   file.substr(chunk_offset(file, 0), kChunkSize + 16)}) {
    auto result = decrypt(file + extra, with_identity(identity));
    ASSERT_TRUE(result.error);
    EXPECT_EQ(result.error->kind(), ErrorKind::corrupt);
    EXPECT_NE(result.error->message().find("trailing data after the final chunk"),
              std::string::npos)
        << result.error->message();
  }
}

TEST(AgeRefusal, NotAnAgeFile) {
  DecryptOptions options;
  for (std::string_view garbage : {"", "hello\n", "age-encryption.org/v2\n-> X\n\n--- x\n"}) {
    auto result = decrypt(garbage, options);
    ASSERT_TRUE(result.error);
    EXPECT_EQ(result.error->kind(), ErrorKind::corrupt) << result.error->message();
  }
}

// Random damage never crashes the reader and never yields a byte that was not encrypted: all
// it releases is a prefix of the true plaintext, and it succeeds only on the intact file.
TEST(AgeRobustness, MutatedFilesReleaseOnlyGenuinePrefixes) {
  auto identity = new_identity();
  std::string data = random_bytes(kChunkSize + 500, 17);
  std::string file = encrypt_to(data, identity);
  std::mt19937 generator(99);
  for (int round = 0; round < 400; ++round) {
    std::string damaged = file;
    switch (generator() % 4) {
      case 0:  // flip bits
        for (unsigned i = 0, n = 1 + generator() % 3; i < n; ++i) {
          const unsigned bit = generator() % 8;  // before the position, as `^=` drew them
          char& byte = damaged[generator() % damaged.size()];
          byte = static_cast<char>(byte ^ (1 << bit));
        }
        break;
      case 1:  // truncate
        damaged.resize(generator() % damaged.size());
        break;
      case 2:  // insert a byte
        damaged.insert(damaged.begin() + static_cast<std::ptrdiff_t>(generator() % damaged.size()),
                       static_cast<char>(generator()));
        break;
      default:  // drop a byte
        damaged.erase(generator() % damaged.size(), 1);
        break;
    }
    if (damaged == file)
      continue;
    auto result = decrypt(damaged, with_identity(identity), 1 + generator() % 70000);
    EXPECT_TRUE(result.error) << "round " << round;
    EXPECT_EQ(result.released, data.substr(0, result.released.size())) << "round " << round;
  }
}

// --- inspection -----------------------------------------------------------------------------

TEST(AgeInspect, DetectsAgeFilesAndNamesTheKeyTheyNeed) {
  auto identity = new_identity();
  std::string x25519 = encrypt_to("data", identity);
  std::string scrypt = encrypt("data", to_passphrase("p", kFastWorkFactor));
  EXPECT_TRUE(looks_like_age(std::as_bytes(std::span(x25519)).first(kDetectBytes)));
  EXPECT_FALSE(looks_like_age(std::as_bytes(std::span(std::string_view("age-encryption.org/")))));
  std::string gzip_magic("\x1f\x8b\x08\x00", 4);
  EXPECT_FALSE(looks_like_age(std::as_bytes(std::span(gzip_magic))));

  MemorySource x25519_source(x25519);
  auto x25519_types = recipient_types(x25519_source);
  ASSERT_TRUE(x25519_types);
  EXPECT_EQ(*x25519_types, std::vector<std::string>{"X25519"});
  EXPECT_EQ(describe_needed_key(*x25519_types), "needs an X25519 identity");

  MemorySource scrypt_source(scrypt);
  auto scrypt_types = recipient_types(scrypt_source);
  ASSERT_TRUE(scrypt_types);
  EXPECT_EQ(*scrypt_types, std::vector<std::string>{"scrypt"});
  EXPECT_EQ(describe_needed_key(*scrypt_types), "needs a passphrase (scrypt)");

  MemorySource not_age("PK\x03\x04");
  EXPECT_FALSE(recipient_types(not_age));
}

// --- memory ---------------------------------------------------------------------------------

class PipeSink final : public ByteSink {
 public:
  explicit PipeSink(int fd) : fd_(fd) {}
  using ByteSink::write;
  Status write(std::span<const std::byte> data) override {
    while (!data.empty()) {
      ssize_t written = ::write(fd_, data.data(), data.size());
      if (written < 0)
        return Error(ErrorKind::io, "pipe write");
      data = data.subspan(static_cast<std::size_t>(written));
    }
    return {};
  }
  Status finish() override {
    ::close(fd_);
    return {};
  }

 private:
  int fd_;
};

class PipeSource final : public ByteSource {
 public:
  explicit PipeSource(int fd) : fd_(fd) {}
  Result<std::size_t> read(std::span<std::byte> buffer) override {
    ssize_t count = ::read(fd_, buffer.data(), buffer.size());
    if (count < 0)
      return Error(ErrorKind::io, "pipe read");
    return static_cast<std::size_t>(count);
  }

 private:
  int fd_;
};

long peak_rss_kib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

TEST(AgeMemory, StaysFlatEncryptingAndDecryptingOneGibibyte) {
  constexpr std::uint64_t kTotal = std::uint64_t{1} << 30;
#if defined(__SANITIZE_ADDRESS__)
  constexpr long kLimitKib = long{512} * 1024;  // shadow memory and quarantine
#else
  constexpr long kLimitKib = long{64} * 1024;
#endif
  auto identity = new_identity();
  std::signal(SIGPIPE, SIG_IGN);
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  Status writer_status;
  std::string written_hash;
  std::thread writer([&] {
    PipeSink pipe(fds[1]);
    auto sink = EncryptSink::create(pipe, to_recipients({identity.recipient()}));
    if (!sink) {
      writer_status = sink.error();
      ::close(fds[1]);
      return;
    }
    std::string block = random_bytes(1 << 20, 13);
    Sha256 hash;
    for (std::uint64_t done = 0; done < kTotal; done += block.size()) {
      block[0] = static_cast<char>(done >> 20);  // no two blocks alike
      hash.update(block);
      if (writer_status = (*sink)->write(block); !writer_status) {
        ::close(fds[1]);
        return;
      }
    }
    writer_status = (*sink)->finish();
    written_hash = hash.hex_digest();
  });
  PipeSource pipe(fds[0]);
  Sha256 hash;
  std::uint64_t total = 0;
  std::optional<Error> read_error;
  if (auto source = DecryptSource::open(pipe, with_identity(identity)); !source) {
    read_error = source.error();
  } else {
    std::vector<std::byte> buffer(1 << 20);
    while (true) {
      auto count = (*source)->read(buffer);
      if (!count) {
        read_error = count.error();
        break;
      }
      if (*count == 0)
        break;
      hash.update(std::span<const std::byte>(buffer).first(*count));
      total += *count;
    }
  }
  ::close(fds[0]);  // a writer still blocked on the pipe gets EPIPE and stops
  writer.join();
  ASSERT_FALSE(read_error) << read_error->message();
  ASSERT_TRUE(writer_status) << writer_status.error().message();
  EXPECT_EQ(total, kTotal);
  EXPECT_EQ(hash.hex_digest(), written_hash);
  EXPECT_LT(peak_rss_kib(), kLimitKib) << "peak RSS in KiB";
  std::cout << "peak RSS: " << peak_rss_kib() / 1024 << " MiB\n";
}

}  // namespace
}  // namespace csnap::codec::age
