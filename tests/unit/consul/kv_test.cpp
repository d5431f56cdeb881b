#include "consul/kv.hpp"

#include <vector>

#include <gtest/gtest.h>

namespace csnap::consul {
namespace {

Result<std::vector<KvEntry>> parse(std::string_view json) {
  MemorySource source(json);
  std::vector<KvEntry> entries;
  CSNAP_TRY(parse_kv_entries(source, [&](KvEntry&& entry) -> Status {
    entries.push_back(std::move(entry));
    return {};
  }));
  return entries;
}

TEST(ParseKvEntries, ReadsEveryField) {
  auto entries = parse(R"([
    {"LockIndex":3,"Key":"a/b","Flags":18446744073709551615,"Value":"aGk=","CreateIndex":5,
     "ModifyIndex":9,"Session":"s-1"},
    {"Key":"empty","Flags":0,"Value":null,"CreateIndex":1,"ModifyIndex":1,"LockIndex":0},
    {"Key":"tab\tnul\u0000","Value":"AAEC/w==","Extra":{"nested":[1,-2,3.5,"x",true,null]}}
  ])");
  ASSERT_TRUE(entries.ok()) << entries.error().message();
  ASSERT_EQ(entries->size(), 3U);
  const auto& first = (*entries)[0];
  EXPECT_EQ(first.key, "a/b");
  EXPECT_EQ(first.value, "hi");
  EXPECT_EQ(first.flags, 18446744073709551615ULL);
  EXPECT_EQ(first.lock_index, 3U);
  EXPECT_EQ(first.create_index, 5U);
  EXPECT_EQ(first.modify_index, 9U);
  EXPECT_EQ(first.session, "s-1");
  EXPECT_EQ((*entries)[1].value, "");
  EXPECT_EQ((*entries)[2].key, std::string("tab\tnul\0", 8));
  EXPECT_EQ((*entries)[2].value, std::string("\x00\x01\x02\xff", 4));
}

TEST(ParseKvEntries, EmptyArray) {
  auto entries = parse(" [ ] \n");
  ASSERT_TRUE(entries.ok());
  EXPECT_TRUE(entries->empty());
}

TEST(ParseKvEntries, RejectsBadInputAsCorrupt) {
  for (std::string_view bad :
       {"", "{}", "[1]", R"([{"Key":"a"})", R"([{"Value":"aGk="}])",
        R"([{"Key":"a","Value":"@@"}])", R"([{"Key":"a","Flags":-1}])",
        R"([{"Key":"a","Flags":1.5}])", "[{\"Key\":null}]", R"([{"Key":"a","Flags":"1"}])", "[] x",
        R"([{"Key":"a"}] [)", "nul"}) {
    auto entries = parse(bad);
    ASSERT_FALSE(entries.ok()) << bad;
    EXPECT_EQ(entries.error().kind(), ErrorKind::corrupt) << bad;
  }
}

TEST(ParseKvEntries, StopsAtTheFirstCallbackError) {
  MemorySource source(R"([{"Key":"a"},{"Key":"b"},{"Key":"c"}])");
  int seen = 0;
  auto count = parse_kv_entries(source, [&](KvEntry&&) -> Status {
    if (++seen == 2)
      return Error(ErrorKind::io, "disk full");
    return {};
  });
  ASSERT_FALSE(count.ok());
  EXPECT_EQ(count.error().kind(), ErrorKind::io);
  EXPECT_EQ(seen, 2);
}

TEST(ParseKvEntries, StreamsInputLargerThanItsBuffer) {
  std::string json = "[";
  for (int i = 0; i < 5000; ++i) {
    if (i > 0)
      json += ",";
    json += R"({"Key":"key/)" + std::to_string(i) + R"(","Value":"dmFsdWUtdmFsdWUtdmFsdWU="})";
  }
  json += "]";
  auto entries = parse(json);
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->size(), 5000U);
  EXPECT_EQ(entries->back().key, "key/4999");
  EXPECT_EQ(entries->back().value, "value-value-value");
}

}  // namespace
}  // namespace csnap::consul
