#include "archive/meta.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace csnap::archive {
namespace {

using namespace std::chrono_literals;

Meta sample_meta() {
  Meta meta;
  meta.tool_version = "0.1.0";
  meta.started_at = std::chrono::sys_days(std::chrono::year(2026) / 11 / 25) + 3h + 4min + 5s;
  meta.finished_at = meta.started_at + 2s;
  meta.hostname = "backup-host";
  meta.node = "consul-1";
  meta.datacenter = "dc1";
  meta.consul_version = "1.16.3";
  meta.consul_index = 18446744073709551615ull;
  meta.leader = "10.0.0.1:8300";
  meta.partial = true;
  meta.counts = {{"kv", 51}, {"acl-policies", 3}};
  meta.members = {{"kv.json", 1234, std::string(64, 'a')},
                  {"acl/policies.json", 0, std::string(64, '0')}};
  return meta;
}

TEST(MetaTest, RoundTripsExactly) {
  Meta meta = sample_meta();
  std::string text = meta_to_json(meta);
  EXPECT_NE(text.find("\"consul_index\": 18446744073709551615"), std::string::npos) << text;
  EXPECT_NE(text.find("\"started_at\": \"2026-11-25T03:04:05Z\""), std::string::npos) << text;
  EXPECT_EQ(text.find("\"format\""), 4u) << "format comes first";
  auto back = meta_from_json(text);
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(*back, meta);
}

TEST(MetaTest, RaftFieldsRoundTrip) {
  Meta meta = sample_meta();
  meta.raft = RaftMeta{.index = 18446744073709551614ull,
                       .term = 7,
                       .consul_version = "1.16.3",
                       .kv_keys = 9,
                       .records = {{"KVS", 9}, {"Register", 3}, {"Unknown 250", 1}}};
  std::string text = meta_to_json(meta);
  auto json = nlohmann::json::parse(text);
  // The Raft records stay out of "counts", which holds the logical kinds only.
  EXPECT_FALSE(json["counts"].contains("KVS")) << text;
  EXPECT_EQ(json["raft"]["records"]["Register"], 3) << text;
  EXPECT_NE(text.find("\"index\": 18446744073709551614"), std::string::npos) << text;
  auto back = meta_from_json(text);
  ASSERT_TRUE(back) << back.error().message();
  ASSERT_TRUE(back->raft.has_value());
  EXPECT_EQ(*back, meta);
}

TEST(MetaTest, OlderBackupsHaveNoRaftField) {
  std::string text = meta_to_json(sample_meta());
  EXPECT_EQ(text.find("\"raft\""), std::string::npos) << text;
  auto back = meta_from_json(text);
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_FALSE(back->raft.has_value());
}

TEST(MetaTest, IgnoresUnknownFields) {
  auto json = nlohmann::json::parse(meta_to_json(sample_meta()));
  json["added_later"] = {{"x", 1}};
  auto back = meta_from_json(json.dump());
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(*back, sample_meta());
}

struct BadMeta {
  std::string name;
  std::function<void(nlohmann::json&)> damage;
  std::string expected;
};

TEST(MetaTest, RejectsBadInputAsCorrupt) {
  std::vector<BadMeta> cases = {
      {"wrong format", [](auto& j) { j["format"] = "other"; }, "format is \"other\""},
      {"newer version", [](auto& j) { j["format_version"] = 2; }, "format_version 2"},
      {"negative index", [](auto& j) { j["consul_index"] = -1; }, "consul_index"},
      {"float index", [](auto& j) { j["consul_index"] = 1.5; }, "consul_index"},
      {"missing node", [](auto& j) { j.erase("node"); }, "missing field \"node\""},
      {"bad time", [](auto& j) { j["started_at"] = "yesterday"; }, "started_at"},
      {"partial not bool", [](auto& j) { j["partial"] = "yes"; }, "partial"},
      {"bad count", [](auto& j) { j["counts"]["kv"] = -3; }, "counts.kv"},
      {"bad sha", [](auto& j) { j["members"][0]["sha256"] = "ABC"; }, "sha256"},
      {"no size", [](auto& j) { j["members"][0].erase("size"); }, "members[0]: missing field"},
      {"escaping name", [](auto& j) { j["members"][0]["name"] = "../etc/passwd"; }, "members[0]"},
      {"absolute name", [](auto& j) { j["members"][0]["name"] = "/kv.json"; }, "absolute"},
      {"meta listed", [](auto& j) { j["members"][0]["name"] = "meta.json"; }, "reserved"},
      {"listed twice", [](auto& j) { j["members"][1]["name"] = "kv.json"; }, "listed twice"},
  };
  for (const auto& bad : cases) {
    auto json = nlohmann::json::parse(meta_to_json(sample_meta()));
    bad.damage(json);
    auto back = meta_from_json(json.dump());
    ASSERT_FALSE(back) << bad.name;
    EXPECT_EQ(back.error().kind(), ErrorKind::corrupt) << bad.name;
    EXPECT_EQ(back.error().message().rfind("meta.json: ", 0), 0u) << back.error().message();
    EXPECT_NE(back.error().message().find(bad.expected), std::string::npos)
        << bad.name << ": " << back.error().message();
  }
  EXPECT_FALSE(meta_from_json("{not json"));
  EXPECT_FALSE(meta_from_json("[]"));
  EXPECT_FALSE(meta_from_json(""));
}

TEST(MetaTest, RejectsABadRaftField) {
  std::vector<BadMeta> cases = {
      {"not an object", [](auto& j) { j["raft"] = 3; }, "field \"raft\" is not an object"},
      {"no index", [](auto& j) { j["raft"].erase("index"); }, "raft: missing field \"index\""},
      {"negative term", [](auto& j) { j["raft"]["term"] = -1; }, "raft: field \"term\""},
      {"version not text", [](auto& j) { j["raft"]["consul_version"] = 1; }, "consul_version"},
      {"no records", [](auto& j) { j["raft"].erase("records"); }, "raft.records"},
      {"bad record count", [](auto& j) { j["raft"]["records"]["KVS"] = 1.5; }, "raft.records.KVS"},
  };
  Meta meta = sample_meta();
  meta.raft = RaftMeta{
      .index = 30, .term = 2, .consul_version = "1.16.3", .kv_keys = 9, .records = {{"KVS", 9}}};
  for (const auto& bad : cases) {
    auto json = nlohmann::json::parse(meta_to_json(meta));
    bad.damage(json);
    auto back = meta_from_json(json.dump());
    ASSERT_FALSE(back) << bad.name;
    EXPECT_EQ(back.error().kind(), ErrorKind::corrupt) << bad.name;
    EXPECT_NE(back.error().message().find(bad.expected), std::string::npos)
        << bad.name << ": " << back.error().message();
  }
}

TEST(MemberNameTest, Rules) {
  for (const char* good : {"kv.json", "acl/policies.json", "raft.snap", "prepared-queries.json"}) {
    EXPECT_TRUE(validate_member_name(good)) << good;
  }
  for (const char* bad : {"", "meta.json", "/abs", "a//b", "a/./b", "../x", "x/..", "x/",
                          "tab\tname", "back\\slash"}) {
    EXPECT_FALSE(validate_member_name(bad)) << bad;
  }
}

}  // namespace
}  // namespace csnap::archive
