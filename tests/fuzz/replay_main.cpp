// The replay driver our fuzz targets are linked with when they are not built for libFuzzer
// (docs/fuzzing.md). It feeds LLVMFuzzerTestOneInput every seed file it is given, then a
// deterministic series of mutations of those seeds (a fixed-seed PRNG: bit flips, byte sets,
// truncations, insertions, erasures, duplications, splices), so that the sanitizers of the asan
// build see thousands of damaged inputs on every test run.
//
//   fuzz_<target> [--mutations N] [--seed S] [--max-size BYTES] PATH...
//
// A PATH is a seed file or a folder of them. With --mutations 0 it replays the files only, e.g.
// to reproduce a crash libFuzzer saved. Exit status 0 when every input was handled.

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

using Bytes = std::vector<std::uint8_t>;

// splitmix64: small, fast and the same on every platform.
class Prng {
 public:
  explicit Prng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30U)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27U)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31U);
  }
  // Uniform enough in [0, bound); bound > 0.
  std::size_t below(std::size_t bound) { return static_cast<std::size_t>(next() % bound); }

 private:
  std::uint64_t state_;
};

bool read_seed(const std::filesystem::path& path, Bytes& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return false;
  out.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return !in.bad();
}

void run(const Bytes& input) {
  // A copy of exactly `size` bytes, so that ASan sees any read past the end.
  auto copy = std::make_unique<std::uint8_t[]>(std::max<std::size_t>(input.size(), 1));
  std::copy(input.begin(), input.end(), copy.get());
  LLVMFuzzerTestOneInput(copy.get(), input.size());
}

// Applies one random edit to `data`; `other` is another seed for splices.
void mutate_once(Bytes& data, const Bytes& other, std::size_t max_size, Prng& rng) {
  static constexpr std::array<std::uint8_t, 8> kInteresting = {0x00, 0x01, 0x7f, 0x80,
                                                               0xff, 0xfe, '0',  '"'};
  switch (rng.below(8)) {
    case 0:  // flip one bit
      if (!data.empty())
        data[rng.below(data.size())] ^= static_cast<std::uint8_t>(1U << rng.below(8));
      break;
    case 1:  // set one byte to an interesting value
      if (!data.empty())
        data[rng.below(data.size())] = kInteresting[rng.below(kInteresting.size())];
      break;
    case 2:  // set one byte to anything
      if (!data.empty())
        data[rng.below(data.size())] = static_cast<std::uint8_t>(rng.next());
      break;
    case 3:  // truncate
      if (!data.empty())
        data.resize(rng.below(data.size()));
      break;
    case 4: {  // insert a few random bytes
      std::size_t count = 1 + rng.below(16);
      std::size_t at = rng.below(data.size() + 1);
      Bytes inserted(count);
      for (auto& b : inserted)
        b = static_cast<std::uint8_t>(rng.next());
      data.insert(data.begin() + static_cast<std::ptrdiff_t>(at), inserted.begin(), inserted.end());
      break;
    }
    case 5:  // erase a range
      if (!data.empty()) {
        std::size_t at = rng.below(data.size());
        std::size_t count = 1 + rng.below(std::min<std::size_t>(data.size() - at, 64));
        auto begin = data.begin() + static_cast<std::ptrdiff_t>(at);
        data.erase(begin, begin + static_cast<std::ptrdiff_t>(count));
      }
      break;
    case 6:  // duplicate a range in place
      if (!data.empty()) {
        std::size_t at = rng.below(data.size());
        std::size_t count = 1 + rng.below(std::min<std::size_t>(data.size() - at, 64));
        Bytes copy(data.begin() + static_cast<std::ptrdiff_t>(at),
                   data.begin() + static_cast<std::ptrdiff_t>(at + count));
        std::size_t to = rng.below(data.size() + 1);
        data.insert(data.begin() + static_cast<std::ptrdiff_t>(to), copy.begin(), copy.end());
      }
      break;
    default: {  // splice: our head, the other seed's tail
      std::size_t head = data.empty() ? 0 : rng.below(data.size() + 1);
      std::size_t tail = other.empty() ? 0 : rng.below(other.size() + 1);
      data.resize(head);
      data.insert(data.end(), other.begin() + static_cast<std::ptrdiff_t>(tail), other.end());
      break;
    }
  }
  if (data.size() > max_size)
    data.resize(max_size);
}

int usage() {
  std::fprintf(stderr,
               "usage: fuzz_<target> [--mutations N] [--seed S] [--max-size BYTES] "
               "PATH...\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t mutations = 0;
  std::uint64_t seed = 1;
  std::size_t max_size = std::size_t{1024} * 1024;
  std::vector<std::filesystem::path> paths;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if ((arg == "--mutations" || arg == "--seed" || arg == "--max-size") && i + 1 < argc) {
      std::uint64_t value = std::strtoull(argv[++i], nullptr, 10);
      if (arg == "--mutations")
        mutations = static_cast<std::size_t>(value);
      else if (arg == "--seed")
        seed = value;
      else
        max_size = static_cast<std::size_t>(value);
    } else if (arg.starts_with("--")) {
      return usage();
    } else {
      paths.emplace_back(arg);
    }
  }

  std::vector<std::filesystem::path> files;
  for (const auto& path : paths) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
      for (const auto& entry : std::filesystem::directory_iterator(path, ec)) {
        if (entry.is_regular_file())
          files.push_back(entry.path());
      }
      if (ec) {
        std::fprintf(stderr, "cannot list %s: %s\n", path.c_str(), ec.message().c_str());
        return 1;
      }
    } else {
      files.push_back(path);
    }
  }
  std::sort(files.begin(), files.end());  // the same order, so the same mutations, every run

  std::vector<Bytes> seeds;
  for (const auto& file : files) {
    Bytes data;
    if (!read_seed(file, data)) {
      std::fprintf(stderr, "cannot read seed %s\n", file.c_str());
      return 1;
    }
    std::fprintf(stderr, "seed %s (%zu bytes)\n", file.c_str(), data.size());
    run(data);
    seeds.push_back(std::move(data));
  }
  run(Bytes{});  // the empty input
  if (seeds.empty())
    seeds.emplace_back();

  Prng rng(seed);
  for (std::size_t i = 0; i < mutations; ++i) {
    Bytes data = seeds[rng.below(seeds.size())];
    const Bytes& other = seeds[rng.below(seeds.size())];
    std::size_t edits = 1 + rng.below(4);
    for (std::size_t e = 0; e < edits; ++e)
      mutate_once(data, other, max_size, rng);
    run(data);
  }
  std::fprintf(stderr, "replayed %zu seed(s) and %zu mutation(s) (seed %llu)\n", files.size(),
               mutations, static_cast<unsigned long long>(seed));
  return 0;
}
