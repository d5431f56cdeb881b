// Throughput of our age encryption and decryption, file to file, for comparison with the stock
// `age` CLI on the same data (bench/age_throughput.sh runs both).
//
//   age_throughput encrypt RECIPIENT IN OUT      (age1... recipient)
//   age_throughput decrypt IDENTITY_FILE IN OUT
//
// Prints "<op> <bytes> <seconds> <MB/s> <peak RSS MiB>" on stdout.

#include <chrono>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "codec/age.hpp"
#include "util/file.hpp"

namespace {

using namespace csnap;

// Writes to a file without the fsync of FileSink: the CLI we compare with does not sync either.
class PlainFileSink final : public ByteSink {
 public:
  explicit PlainFileSink(int fd) : fd_(fd) {}
  using ByteSink::write;
  Status write(std::span<const std::byte> data) override {
    while (!data.empty()) {
      ssize_t written = ::write(fd_, data.data(), data.size());
      if (written < 0)
        return errno_error("writing the output");
      data = data.subspan(static_cast<std::size_t>(written));
    }
    return {};
  }
  Status finish() override { return ::close(fd_) == 0 ? Status() : errno_error("closing"); }

 private:
  int fd_;
};

Result<std::uint64_t> copy(ByteSource& from, ByteSink& to) {
  std::vector<std::byte> buffer(1 << 20);
  std::uint64_t total = 0;
  while (true) {
    CSNAP_ASSIGN_OR_RETURN(std::size_t count, from.read(buffer));
    if (count == 0)
      break;
    CSNAP_TRY(to.write(std::span<const std::byte>(buffer).first(count)));
    total += count;
  }
  CSNAP_TRY(to.finish());
  return total;
}

Result<std::uint64_t> run(std::string_view operation, std::string_view key, const char* in,
                          const char* out) {
  CSNAP_ASSIGN_OR_RETURN(FileSource input, FileSource::open(in));
  int fd = ::open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return errno_error("opening the output");
  PlainFileSink output(fd);
  if (operation == "encrypt") {
    codec::age::EncryptOptions options;
    CSNAP_ASSIGN_OR_RETURN(auto recipient, codec::age::X25519Recipient::parse(key));
    options.recipients.push_back(recipient);
    CSNAP_ASSIGN_OR_RETURN(auto sink, codec::age::EncryptSink::create(output, options));
    return copy(input, *sink);
  }
  CSNAP_ASSIGN_OR_RETURN(std::string identity_text, read_file(std::string(key)));
  codec::age::DecryptOptions options;
  CSNAP_ASSIGN_OR_RETURN(options.identities, codec::age::parse_identity_file(identity_text));
  CSNAP_ASSIGN_OR_RETURN(auto source, codec::age::DecryptSource::open(input, options));
  return copy(*source, output);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5 ||
      (std::string_view(argv[1]) != "encrypt" && std::string_view(argv[1]) != "decrypt")) {
    std::fprintf(stderr, "usage: %s encrypt RECIPIENT IN OUT | decrypt IDENTITY_FILE IN OUT\n",
                 argv[0]);
    return 2;
  }
  auto start = std::chrono::steady_clock::now();
  auto bytes = run(argv[1], argv[2], argv[3], argv[4]);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!bytes) {
    std::fprintf(stderr, "%s: %s\n", argv[1], bytes.error().message().c_str());
    return 1;
  }
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  std::printf("%s %llu %.3f %.1f %ld\n", argv[1], static_cast<unsigned long long>(*bytes), seconds,
              static_cast<double>(*bytes) / seconds / 1e6, usage.ru_maxrss / 1024);
  return 0;
}
