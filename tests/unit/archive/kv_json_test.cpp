#include "archive/kv_json.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "codec/sha256.hpp"
#include "test_support.hpp"

namespace csnap::archive {
namespace {

using testing::hex;
using testing::slurp;

// The original tool's backups and data set (a function: a namespace-scope path could throw before
// main).
std::filesystem::path data_dir() {
  return CSNAP_ORIGINAL_TOOL_DATA;
}

Result<std::vector<KvRecord>> parse(std::string_view text) {
  MemorySource source(text);
  std::vector<KvRecord> records;
  CSNAP_TRY(read_kv_json(source, [&](KvRecord&& record) {
    records.push_back(std::move(record));
    return ok_status();
  }));
  return records;
}

std::string write(const std::vector<KvRecord>& records) {
  StringSink out;
  KvJsonWriter writer(out);
  for (const auto& record : records) {
    EXPECT_TRUE(writer.add(record.key, record.value, record.flags));
  }
  EXPECT_TRUE(writer.finish());
  EXPECT_EQ(writer.count(), records.size());
  return out.take();
}

TEST(KvJsonTest, ReadsConsulKvExportOfTheDataset) {
  ASSERT_TRUE(std::filesystem::exists(data_dir() / "dataset-consul-kv-export.json"))
      << "test data missing: " << (data_dir() / "dataset-consul-kv-export.json")
      << " (the shared/ folder beside the repository)";
  std::string text = slurp(data_dir() / "dataset-consul-kv-export.json");
  auto records = parse(text);
  ASSERT_TRUE(records) << records.error().message();

  auto manifest = nlohmann::json::parse(slurp(data_dir() / "dataset-manifest.json"));
  ASSERT_EQ(manifest.size(), 51u);
  ASSERT_EQ(records->size(), manifest.size());
  std::map<std::string, const KvRecord*> by_hex;
  for (const auto& record : *records)
    by_hex[hex(record.key)] = &record;
  ASSERT_EQ(by_hex.size(), 51u);
  for (const auto& expected : manifest) {
    std::string key_hex = expected["key_utf8_hex"].get<std::string>();
    ASSERT_TRUE(by_hex.contains(key_hex)) << expected["key"];
    const KvRecord& record = *by_hex[key_hex];
    EXPECT_EQ(record.flags, expected["flags"].get<std::uint64_t>()) << expected["key"];
    EXPECT_EQ(record.value.size(), expected["size"].get<std::size_t>()) << expected["key"];
    EXPECT_EQ(codec::Sha256::hex_of(record.value), expected["sha256"].get<std::string>())
        << expected["key"];
  }
}

TEST(KvJsonTest, WritesTheDatasetBackByteForByteAsConsulDoes) {
  ASSERT_TRUE(std::filesystem::exists(data_dir() / "dataset-consul-kv-export.json"))
      << "test data missing: " << (data_dir() / "dataset-consul-kv-export.json")
      << " (the shared/ folder beside the repository)";
  std::string text = slurp(data_dir() / "dataset-consul-kv-export.json");
  auto records = parse(text);
  ASSERT_TRUE(records) << records.error().message();
  std::string written = write(*records);
  EXPECT_EQ(written, text);
  auto again = parse(written);
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_EQ(*again, *records);
}

TEST(KvJsonTest, EscapesLikeGo) {
  std::string key = "a<b>c&d\"e\\f\ng\th\ri";
  key += std::string("\x00\x01\x1f\x7f", 4);
  key += "\xc2\xa0|\xe2\x80\x8d|\xe2\x80\xa8|\xe2\x80\xa9|\xf0\x9f\x98\x80";
  std::string text = write({{key, "v", 7}});
  EXPECT_EQ(text,
            "[\n\t{\n\t\t\"key\": "
            "\"a\\u003cb\\u003ec\\u0026d\\\"e\\\\f\\ng\\th\\ri\\u0000\\u0001\\u001f\x7f"
            "\xc2\xa0|\xe2\x80\x8d|\\u2028|\\u2029|\xf0\x9f\x98\x80\",\n"
            "\t\t\"flags\": 7,\n\t\t\"value\": \"dg==\"\n\t}\n]\n");
  auto back = parse(text);
  ASSERT_TRUE(back) << back.error().message();
  ASSERT_EQ(back->size(), 1u);
  EXPECT_EQ((*back)[0].key, key);
}

TEST(KvJsonTest, EmptyExport) {
  EXPECT_EQ(write({}), "[]\n");
  auto back = parse("[]\n");
  ASSERT_TRUE(back);
  EXPECT_TRUE(back->empty());
}

TEST(KvJsonTest, RoundTripsAdversarialValuesAndFlags) {
  std::string every_byte;
  for (int i = 0; i < 256; ++i)
    every_byte.push_back(static_cast<char>(i));
  std::string big(524288, '\0');
  for (std::size_t i = 0; i < big.size(); ++i)
    big[i] = static_cast<char>((i * 2654435761u) >> 13);
  std::vector<KvRecord> records = {
      {"bin/all", every_byte, 0}, {"big", big, 18446744073709551615ull},
      {"empty", "", 1},           {"folder/", "", 0},
      {"", "empty key", 42},      {" lead and trail ", "x", 9223372036854775808ull},
  };
  auto back = parse(write(records));
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(*back, records);
}

TEST(KvJsonTest, RejectsKeysThatAreNotUtf8) {
  StringSink out;
  KvJsonWriter writer(out);
  for (std::string_view bad : {std::string_view("\xff"), std::string_view("\xc0\xaf"),
                               std::string_view("\xed\xa0\x80"), std::string_view("a\xe2\x80")}) {
    auto status = writer.add(bad, "v", 0);
    ASSERT_FALSE(status);
    EXPECT_EQ(status.error().kind(), ErrorKind::invalid_argument);
  }
  ASSERT_TRUE(writer.add("ok", "v", 0));
  ASSERT_TRUE(writer.finish());
  auto back = parse(out.text());
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(back->size(), 1u);
}

TEST(KvJsonTest, StreamsInsteadOfBuffering) {
  // A sink that records the largest single write.
  class LargestWrite final : public ByteSink {
   public:
    using ByteSink::write;
    Status write(std::span<const std::byte> data) override {
      largest = std::max(largest, data.size());
      total += data.size();
      return {};
    }
    Status finish() override { return {}; }
    std::size_t largest = 0;
    std::size_t total = 0;
  } sink;
  KvJsonWriter writer(sink);
  for (int i = 0; i < 20000; ++i) {
    ASSERT_TRUE(writer.add("key/" + std::to_string(i), std::string(100, 'v'), 0));
  }
  ASSERT_TRUE(writer.finish());
  EXPECT_GT(sink.total, 2'000'000u);
  EXPECT_LT(sink.largest, 200'000u);
}

TEST(KvJsonTest, CallbackErrorStopsReading) {
  std::string text = write({{"a", "1", 0}, {"b", "2", 0}, {"c", "3", 0}});
  MemorySource source(text);
  int seen = 0;
  auto status = read_kv_json(source, [&](KvRecord&&) -> Status {
    if (++seen == 2)
      return Error(ErrorKind::conflict, "stop here");
    return {};
  });
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().kind(), ErrorKind::conflict);
  EXPECT_EQ(seen, 2);
}

TEST(KvJsonTest, RejectsMalformedInputNamingTheEntry) {
  const std::string good = R"({"key": "good", "flags": 0, "value": "AA=="}, )";
  struct Case {
    std::string json;
    std::string expected;
  };
  std::vector<Case> cases = {
      {"[" + good + R"({"key": "k", "flags": -1, "value": ""}])",
       R"(entry 1 (key "k"): "flags" is -1)"},
      {"[" + good + R"({"key": "k", "flags": 1.5, "value": ""}])", "entry 1 (key \"k\")"},
      {"[" + good + R"({"key": "k", "flags": 1e3, "value": ""}])", "not an unsigned integer"},
      {"[" + good + R"({"key": "k", "flags": 18446744073709551616, "value": ""}])",
       "does not fit in 64 bits"},
      {"[" + good + R"({"key": "k", "flags": "1", "value": ""}])", "\"flags\" is a string"},
      {"[" + good + R"({"key": "k", "value": ""}])", R"(entry 1 (key "k"): missing "flags")"},
      {"[" + good + R"({"flags": 0, "value": ""}])", "entry 1: missing \"key\""},
      {"[" + good + R"({"key": "k", "flags": 0}])", "missing \"value\""},
      {"[" + good + R"({"key": "k", "flags": 0, "value": "!!"}])",
       R"(entry 1 (key "k"): "value" is not valid base64)"},
      {"[" + good + R"({"key": "k", "flags": 0, "value": "AA="}])", "not valid base64"},
      {"[" + good + R"({"key": 5, "flags": 0, "value": ""}])", "\"key\" is a number"},
      {"[" + good + R"({"key": "k", "key": "j", "flags": 0, "value": ""}])", "appears twice"},
      {"[" + good + R"("string"])", "entry 1: an entry is a string"},
      {R"({"key": "k"})", "not a JSON array"},
      {"[" + good + R"({"key": "k", "flags": 0, "value": ""})", "invalid JSON"},
      {"[]  x", "invalid JSON"},
      {"", "invalid JSON"},
      {"[{\"key\": \"\xff\", \"flags\": 0, \"value\": \"\"}]", "invalid JSON"},
  };
  for (const auto& c : cases) {
    auto result = parse(c.json);
    ASSERT_FALSE(result) << c.json;
    EXPECT_EQ(result.error().kind(), ErrorKind::corrupt) << c.json;
    EXPECT_NE(result.error().message().find(c.expected), std::string::npos)
        << c.json << "\n  -> " << result.error().message();
  }
}

TEST(KvJsonTest, AcceptsUnknownFieldsAndNullValues) {
  auto records =
      parse(R"([{"key": "k", "namespace": {"a": [1, {"b": null}]}, "flags": 3, "value": null}])");
  ASSERT_TRUE(records) << records.error().message();
  ASSERT_EQ(records->size(), 1u);
  EXPECT_EQ((*records)[0], (KvRecord{"k", "", 3}));
}

// An endless stream of one byte, counting what was read.
class EndlessSource final : public ByteSource {
 public:
  explicit EndlessSource(char byte) : byte_(byte) {}
  Result<std::size_t> read(std::span<std::byte> buffer) override {
    std::fill(buffer.begin(), buffer.end(), static_cast<std::byte>(byte_));
    read_ += buffer.size();
    return buffer.size();
  }
  std::uint64_t bytes_read() const { return read_; }

 private:
  char byte_;
  std::uint64_t read_ = 0;
};

TEST(CheckJson, AcceptsAnyDocument) {
  for (std::string_view text : {R"([{"key": "a", "flags": 0, "value": null}])",
                                R"({"a": [1, 2.5e3]})", "\"text\"", " [ ] \n"}) {
    MemorySource source(text);
    EXPECT_TRUE(check_json(source, "m.json", 64).ok()) << text;
  }
}

TEST(CheckJson, StopsAtTheFirstBadByteOfAnEndlessStream) {
  EndlessSource zeros('\0');
  auto status = check_json(zeros, "kv.json", 64);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().kind(), ErrorKind::corrupt);
  EXPECT_NE(status.error().message().find("kv.json: invalid JSON at byte 0"), std::string::npos)
      << status.error().message();
  EXPECT_LE(zeros.bytes_read(), 64u * 1024);  // one buffer, not the stream

  EndlessSource garbage('x');
  ASSERT_FALSE(check_json(garbage, "kv.json", 64).ok());
  EXPECT_LE(garbage.bytes_read(), 64u * 1024);
}

TEST(CheckJson, RefusesNestingDeeperThanTheLimitWithoutRecursing) {
  std::string deep = std::string(1000000, '[') + std::string(1000000, ']');
  MemorySource source(deep);
  auto status = check_json(source, "m.json", 64);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message().find("nested more than 64 levels deep"), std::string::npos)
      << status.error().message();
  std::string ok = std::string(64, '[') + std::string(64, ']');
  MemorySource shallow(ok);
  EXPECT_TRUE(check_json(shallow, "m.json", 64).ok());
}

TEST(CheckJson, RefusesInvalidUtf8) {
  MemorySource source("[\"\xff\"]");
  EXPECT_FALSE(check_json(source, "m.json", 64).ok());
}

}  // namespace
}  // namespace csnap::archive
