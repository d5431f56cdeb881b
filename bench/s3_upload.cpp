// Upload throughput and memory of our S3 backend, for comparison with `aws s3 cp` on the same
// file and server (bench/s3_bench.sh runs both).
//
//   csnap_bench_s3_upload [--verify] [--key KEY] FILE STORAGE_URL
//
// STORAGE_URL is a storage URL as the tool takes it, e.g.
// "s3://bucket/prefix?endpoint=http://127.0.0.1:8333". Credentials come from the usual chain
// (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, profiles). FILE is streamed through storage::Backend
// (the multipart upload of src/storage/s3.cpp) to KEY (default: FILE's name). With --verify the
// object is then read back through the backend and its SHA-256 compared with the file's.
//
// Prints one JSON line on stdout:
//   {"bytes":N,"upload_seconds":S,"upload_mib_per_s":R,"peak_rss_upload_mib":M,...}
// peak_rss_upload_mib is getrusage's ru_maxrss right after the upload finished; with --verify
// the read-back fields follow (download_seconds, sha256_file, sha256_object, match).

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <sys/resource.h>

#include "codec/sha256.hpp"
#include "storage/registry.hpp"
#include "util/file.hpp"
#include "util/log.hpp"

namespace {

using namespace csnap;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kChunk = 1 << 20;  // bytes per read from the file, as a backup writes

struct Arguments {
  bool verify = false;
  std::string key;
  std::string file;
  std::string url;
};

struct Measurement {
  std::uint64_t bytes = 0;
  double upload_seconds = 0;
  long peak_rss_upload_kib = 0;
  double download_seconds = 0;
  std::string sha256_file;
  std::string sha256_object;
};

long peak_rss_kib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;  // KiB on Linux
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Reads `source` to its end into `sink` (when given), hashing everything; returns the byte count.
Result<std::uint64_t> pump(ByteSource& source, ByteSink* sink, codec::Sha256* hash) {
  std::vector<std::byte> buffer(kChunk);
  std::uint64_t total = 0;
  while (true) {
    CSNAP_ASSIGN_OR_RETURN(std::size_t count, source.read(buffer));
    if (count == 0)
      break;
    auto chunk = std::span<const std::byte>(buffer).first(count);
    if (hash != nullptr)
      hash->update(chunk);
    if (sink != nullptr) {
      CSNAP_TRY(sink->write(chunk));
    }
    total += count;
  }
  return total;
}

Result<Measurement> run(const Arguments& arguments) {
  storage::StorageSettings settings;
  settings.url = arguments.url;
  CSNAP_ASSIGN_OR_RETURN(auto backend, storage::open_backend(settings));

  Measurement out;
  {
    CSNAP_ASSIGN_OR_RETURN(FileSource input, FileSource::open(arguments.file));
    auto start = Clock::now();
    CSNAP_ASSIGN_OR_RETURN(auto upload, backend->put(arguments.key));
    CSNAP_ASSIGN_OR_RETURN(out.bytes, pump(input, upload.get(), nullptr));
    CSNAP_TRY(upload->finish());
    out.upload_seconds = seconds_since(start);
    out.peak_rss_upload_kib = peak_rss_kib();
  }
  if (!arguments.verify)
    return out;

  {
    CSNAP_ASSIGN_OR_RETURN(FileSource input, FileSource::open(arguments.file));
    codec::Sha256 hash;
    CSNAP_TRY(pump(input, nullptr, &hash));
    out.sha256_file = hash.hex_digest();
  }
  auto start = Clock::now();
  CSNAP_ASSIGN_OR_RETURN(auto object, backend->get(arguments.key));
  codec::Sha256 hash;
  CSNAP_ASSIGN_OR_RETURN(std::uint64_t read_back, pump(*object, nullptr, &hash));
  out.download_seconds = seconds_since(start);
  out.sha256_object = hash.hex_digest();
  if (read_back != out.bytes) {
    return Error(ErrorKind::corrupt,
                 fmt::format("read back {} bytes of {} from {}, uploaded {}", read_back,
                             arguments.key, backend->describe(), out.bytes));
  }
  return out;
}

std::optional<Arguments> parse(int argc, char** argv) {
  Arguments out;
  std::vector<std::string_view> positional;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--verify") {
      out.verify = true;
    } else if (arg == "--key" && i + 1 < argc) {
      out.key = argv[++i];
    } else if (arg.starts_with("--")) {
      return std::nullopt;
    } else {
      positional.push_back(arg);
    }
  }
  if (positional.size() != 2)
    return std::nullopt;
  out.file = positional[0];
  out.url = positional[1];
  if (out.key.empty())
    out.key = std::filesystem::path(out.file).filename().string();
  return out;
}

double mib_per_second(std::uint64_t bytes, double seconds) {
  return seconds > 0 ? static_cast<double>(bytes) / (1024.0 * 1024.0) / seconds : 0;
}

}  // namespace

int main(int argc, char** argv) {
  auto arguments = parse(argc, argv);
  if (!arguments) {
    std::fprintf(stderr,
                 "usage: %s [--verify] [--key KEY] FILE STORAGE_URL\n"
                 "  e.g. %s big.bin 's3://bench/run1?endpoint=http://127.0.0.1:8333'\n"
                 "  credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a profile\n",
                 argv[0], argv[0]);
    return 2;
  }
  csnap::log::set_level(csnap::log::Level::warn);
  auto measured = run(*arguments);
  if (!measured) {
    std::fprintf(stderr, "s3_upload: %s\n", measured.error().message().c_str());
    return 1;
  }
  const auto& m = *measured;
  std::string line = fmt::format(
      R"({{"bytes":{},"upload_seconds":{:.3f},"upload_mib_per_s":{:.1f},"peak_rss_upload_mib":{:.1f})",
      m.bytes, m.upload_seconds, mib_per_second(m.bytes, m.upload_seconds),
      static_cast<double>(m.peak_rss_upload_kib) / 1024.0);
  bool match = m.sha256_file == m.sha256_object;
  if (arguments->verify) {
    line +=
        fmt::format(R"(,"download_seconds":{:.3f},"download_mib_per_s":{:.1f},"sha256_file":"{}",)"
                    R"("sha256_object":"{}","match":{})",
                    m.download_seconds, mib_per_second(m.bytes, m.download_seconds), m.sha256_file,
                    m.sha256_object, match ? "true" : "false");
  }
  line += "}";
  std::printf("%s\n", line.c_str());
  if (arguments->verify && !match) {
    std::fprintf(stderr, "s3_upload: the object read back differs from %s (SHA-256)\n",
                 arguments->file.c_str());
    return 3;
  }
  return 0;
}
