#include "archive/raft_snapshot.hpp"

#include <chrono>
#include <map>

#include <gtest/gtest.h>
#include <sys/resource.h>

#include "codec/gzip.hpp"
#include "codec/sha256.hpp"
#include "crafted_backup.hpp"
#include "test_data.hpp"

namespace csnap::archive {
namespace {

using test_common::compressed;
using test_common::slurp;
using test_common::TarBuilder;

// Made by a real Consul v1.16.3 (tests/data/raft/ABOUT.md).
std::filesystem::path fixture_path() {
  return std::filesystem::path(CSNAP_RAFT_DATA) / "consul-1.16.3.snap";
}

struct Member {
  std::string name;
  std::string data;
};

std::string gunzip(std::string_view bytes) {
  MemorySource source(bytes);
  codec::GzipDecompressSource gzip(source);
  auto text = read_all(gzip);
  EXPECT_TRUE(text) << text.error().message();
  return text ? *text : std::string();
}

// The members of a plain USTAR archive, as Go's archive/tar writes Consul's.
std::vector<Member> untar(std::string_view tar) {
  std::vector<Member> members;
  std::size_t at = 0;
  while (at + 512 <= tar.size() && tar[at] != '\0') {
    std::string name(tar.substr(at, 100).data());
    std::uint64_t size = std::stoull(std::string(tar.substr(at + 124, 12)), nullptr, 8);
    members.push_back({name, std::string(tar.substr(at + 512, size))});
    at += 512 + (size + 511) / 512 * 512;
  }
  return members;
}

std::vector<Member> fixture_members() {
  return untar(gunzip(slurp(fixture_path())));
}

std::string snapshot_of(const std::vector<Member>& members) {
  TarBuilder tar;
  for (const auto& member : members)
    tar.file(member.name, member.data);
  return compressed(codec::Compression::gzip, tar.finish());
}

std::string sums_of(std::string_view meta, std::string_view state) {
  return codec::Sha256::hex_of(state) + "  state.bin\n" + codec::Sha256::hex_of(meta) +
         "  meta.json\n";
}

std::string meta_for(std::string_view state) {
  return R"({"Version":1,"ID":"2-9-1700000000000","Index":9,"Term":2,"Peers":"","Configuration":)"
         R"({"Servers":[]},"ConfigurationIndex":1,"Size":)" +
         std::to_string(state.size()) + "}";
}

// A whole snapshot archive around `state`, with correct sums.
std::string snapshot_around(std::string_view state) {
  std::string meta = meta_for(state);
  return snapshot_of({{"meta.json", meta},
                      {"state.bin", std::string(state)},
                      {"SHA256SUMS", sums_of(meta, state)}});
}

// msgpack of Consul's snapshot header: {"LastIndex": 9}.
std::string header() {
  return std::string("\x81\xa9LastIndex\x09", 12);
}

// A KVS record: type 2, then a DirEntry map.
std::string kv_record(std::string_view key, std::string_view value, std::uint64_t flags) {
  msgpack::sbuffer buffer;
  msgpack::packer<msgpack::sbuffer> packer(buffer);
  packer.pack_map(3);
  packer.pack(std::string("Key"));
  packer.pack(std::string(key));
  packer.pack(std::string("Flags"));
  packer.pack(flags);
  packer.pack(std::string("Value"));
  packer.pack_bin(static_cast<std::uint32_t>(value.size()));
  packer.pack_bin_body(value.data(), static_cast<std::uint32_t>(value.size()));
  return std::string(1, '\x02') + std::string(buffer.data(), buffer.size());
}

Result<RaftSnapshotSummary> read_bytes(std::string_view bytes,
                                       const RaftReadOptions& options = {}) {
  MemorySource source(bytes);
  return read_raft_snapshot(source, options);
}

Result<RaftStateSummary> read_state(std::string_view bytes, const RaftReadOptions& options = {}) {
  MemorySource source(bytes);
  return read_raft_state(source, options);
}

std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> stats_by_name(
    const RaftStateSummary& state) {
  std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> out;
  for (const auto& type : state.types)
    out[type.name] = {type.count, type.bytes};
  return out;
}

TEST(RaftSnapshot, FixtureMatchesConsulSnapshotInspect) {
  std::map<std::string, RaftKvEntry> kv;
  std::uint64_t decoded = 0;
  RaftReadOptions options;
  options.on_record = [&](const RaftRecord& record) -> Status {
    if (record.value != nullptr)
      ++decoded;
    if (record.type == static_cast<std::uint8_t>(RaftRecordType::kv)) {
      EXPECT_NE(record.value, nullptr);
      CSNAP_ASSIGN_OR_RETURN(auto entry, decode_raft_kv_entry(*record.value));
      kv.emplace(entry.key, std::move(entry));
    }
    return {};
  };
  auto summary = read_bytes(slurp(fixture_path()), options);
  ASSERT_TRUE(summary) << summary.error().message();

  // `consul snapshot inspect -format json` of the same file (tests/data/raft/*.inspect.json).
  EXPECT_EQ(summary->meta.id, "2-30-1796670855665");
  EXPECT_EQ(summary->meta.index, 30U);
  EXPECT_EQ(summary->meta.term, 2U);
  EXPECT_EQ(summary->meta.version, 1);
  EXPECT_EQ(summary->meta.size, 8327U);
  EXPECT_EQ(summary->meta.configuration_index, 1U);
  EXPECT_EQ(summary->state.size, 8327U);
  EXPECT_EQ(summary->state.last_index, 30U);
  EXPECT_EQ(summary->state_sha256,
            "36eb8f81a8b095b026682f9ca9b38493944dacf10d6d1c6c3b643b9bb69caf9b");
  EXPECT_EQ(summary->meta_sha256,
            "f24c86a570111f218a1e3e8dbfab368b4ee8bf7ddce24b395190bcc81070c3b5");
  // Counts and bytes (type byte and value) as inspect's; inspect adds the 12-byte header to the
  // first record it reads, a Register.
  std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> expected = {
      {"Register", {3, 1960 - 12}},  {"ACLPolicy", {3, 1428}},
      {"ACLToken", {3, 1070}},       {"KVS", {9, 1047}},
      {"Index", {24, 674}},          {"ConfigEntry", {1, 405}},
      {"PreparedQuery", {1, 313}},   {"ACLAuthMethod", {1, 305}},
      {"ACLRole", {1, 238}},         {"Autopilot", {1, 199}},
      {"Session", {1, 194}},         {"ACLBindingRule", {1, 168}},
      {"FederationState", {1, 139}}, {"SystemMetadata", {1, 101}},
      {"Tombstone", {1, 74}},        {"ChunkingState", {1, 12}},
  };
  EXPECT_EQ(stats_by_name(summary->state), expected);
  EXPECT_EQ(summary->state.records, 53U);
  EXPECT_EQ(summary->state.kv_keys, 9U);
  // KV 9, ACL tokens 3, policies 3, role, auth method, binding rule, query, config entry.
  EXPECT_EQ(decoded, 20U);

  ASSERT_EQ(kv.size(), 9U);
  std::string every_byte;
  for (int i = 0; i < 256; ++i)
    every_byte.push_back(static_cast<char>(i));
  EXPECT_EQ(kv.at("bin/all-bytes").value, every_byte);
  EXPECT_EQ(kv.at("bin/all-bytes").flags, 42U);
  EXPECT_EQ(kv.at("app/config").value, "hello");
  EXPECT_EQ(kv.at("app/config").flags, 0U);
  EXPECT_EQ(kv.at("app/empty").value, "");
  EXPECT_EQ(kv.at("app/folder/").value, "");
  EXPECT_EQ(kv.at("flags/max").flags, 18446744073709551615ULL);
  EXPECT_EQ(kv.at("odd/with space %?#").value, "space");
  EXPECT_EQ(kv.at("odd/\xc3\xa9t\xc3\xa9/\xe2\x9c\x93").value, "unicode");
  EXPECT_EQ(kv.at("odd/tab\tnewline\n").value, "txn");
  EXPECT_EQ(kv.at("odd/tab\tnewline\n").flags, 7U);
  const RaftKvEntry& lock = kv.at("locks/leader");
  EXPECT_EQ(lock.value, "locked");
  EXPECT_EQ(lock.session.size(), 36U);
  EXPECT_EQ(lock.lock_index, 1U);
  EXPECT_GT(lock.modify_index, 0U);
  EXPECT_GE(lock.modify_index, lock.create_index);
  EXPECT_EQ(kv.count("deleted"), 0U);  // a tombstone, not a key
}

TEST(RaftSnapshot, RawObjectsOfTheOtherRestorableTypes) {
  std::map<std::uint8_t, std::vector<std::string>> names;
  RaftReadOptions options;
  options.on_record = [&](const RaftRecord& record) -> Status {
    if (record.value == nullptr || record.type == static_cast<std::uint8_t>(RaftRecordType::kv))
      return {};
    if (record.type == static_cast<std::uint8_t>(RaftRecordType::config_entry)) {
      CSNAP_ASSIGN_OR_RETURN(auto config, decode_raft_config_entry(*record.value));
      EXPECT_EQ(config.kind, "service-defaults");
      const msgpack::object* protocol = raft_field(*config.entry, "Protocol");
      EXPECT_TRUE(protocol != nullptr && protocol->type == msgpack::type::STR &&
                  std::string_view(protocol->via.str.ptr, protocol->via.str.size) == "http");
      const msgpack::object* name = raft_field(*config.entry, "Name");
      if (name != nullptr && name->type == msgpack::type::STR)
        names[record.type].emplace_back(name->via.str.ptr, name->via.str.size);
      return {};
    }
    EXPECT_EQ(record.value->type, msgpack::type::MAP);
    const msgpack::object* name = raft_field(*record.value, "Name");
    if (record.type == static_cast<std::uint8_t>(RaftRecordType::acl_token))
      name = raft_field(*record.value, "AccessorID");
    if (record.type == static_cast<std::uint8_t>(RaftRecordType::acl_binding_rule))
      name = raft_field(*record.value, "BindName");
    if (name != nullptr && name->type == msgpack::type::STR)
      names[record.type].emplace_back(name->via.str.ptr, name->via.str.size);
    return {};
  };
  auto summary = read_bytes(slurp(fixture_path()), options);
  ASSERT_TRUE(summary) << summary.error().message();
  auto has = [&](RaftRecordType type, const std::string& name) {
    const auto& list = names[static_cast<std::uint8_t>(type)];
    return std::find(list.begin(), list.end(), name) != list.end();
  };
  EXPECT_TRUE(has(RaftRecordType::acl_policy, "kv-read"));
  EXPECT_TRUE(has(RaftRecordType::acl_policy, "global-management"));
  EXPECT_TRUE(has(RaftRecordType::acl_role, "app-role"));
  EXPECT_TRUE(has(RaftRecordType::acl_token, "11111111-1111-4111-8111-111111111111"));
  EXPECT_TRUE(has(RaftRecordType::acl_auth_method, "fixture-jwt"));
  EXPECT_TRUE(has(RaftRecordType::acl_binding_rule, "app-role"));
  EXPECT_TRUE(has(RaftRecordType::prepared_query, "fixture-query"));
  EXPECT_TRUE(has(RaftRecordType::config_entry, "web"));
}

TEST(RaftSnapshot, ReadsTheSameThroughOneByteReads) {
  std::string bytes = slurp(fixture_path());
  test_common::TrickleSource source(bytes, 1);
  auto summary = read_raft_snapshot(source);
  ASSERT_TRUE(summary) << summary.error().message();
  EXPECT_EQ(summary->state.records, 53U);
  EXPECT_EQ(summary->state.kv_keys, 9U);
}

TEST(RaftSnapshot, CraftedArchiveOfTheFixtureMembersReads) {
  // The test's own tar and gzip of the same members read as well: the checks below change one
  // thing each.
  auto summary = read_bytes(snapshot_of(fixture_members()));
  ASSERT_TRUE(summary) << summary.error().message();
  EXPECT_EQ(summary->state.records, 53U);
}

TEST(RaftSnapshot, TamperedStateIsRefusedNamingBothDigests) {
  auto members = fixture_members();
  ASSERT_EQ(members.size(), 3U);
  ASSERT_EQ(members[1].name, "state.bin");
  std::string listed = codec::Sha256::hex_of(members[1].data);
  // A byte inside the all-bytes value: still valid msgpack, only the digest tells.
  auto at = members[1].data.find(std::string("\x10\x11\x12\x13", 4));
  ASSERT_NE(at, std::string::npos);
  members[1].data[at] = '\x7f';
  auto result = read_bytes(snapshot_of(members));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().kind(), ErrorKind::corrupt);
  EXPECT_NE(result.error().message().find("state.bin: SHA-256 mismatch"), std::string::npos)
      << result.error().message();
  EXPECT_NE(result.error().message().find(listed), std::string::npos);
  EXPECT_NE(result.error().message().find(codec::Sha256::hex_of(members[1].data)),
            std::string::npos);
}

TEST(RaftSnapshot, TamperedStateWithRecomputedSumsStillFailsOnItsFraming) {
  auto members = fixture_members();
  // The first byte after the header is the first record's type; the one after it its value's
  // first byte: make it 0xc1, a byte msgpack never uses.
  members[1].data[header().size() + 1] = '\xc1';
  members[2].data = sums_of(members[0].data, members[1].data);
  auto result = read_bytes(snapshot_of(members));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().kind(), ErrorKind::corrupt);
  EXPECT_NE(result.error().message().find("state.bin: record 1 (Register) at byte 12"),
            std::string::npos)
      << result.error().message();
  EXPECT_NE(result.error().message().find("0xc1"), std::string::npos);
}

TEST(RaftSnapshot, TamperedSumsAreRefused) {
  auto members = fixture_members();
  auto& sums = members[2].data;
  auto at = sums.find("  meta.json");
  ASSERT_NE(at, std::string::npos);
  sums[at - 1] = sums[at - 1] == '0' ? '1' : '0';
  auto result = read_bytes(snapshot_of(members));
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().message().find("meta.json: SHA-256 mismatch"), std::string::npos)
      << result.error().message();

  for (const std::string& bad :
       {std::string(""), std::string("nonsense\n"),
        sums_of(members[0].data, members[1].data) + "\n",
        sums_of(members[0].data, members[1].data).substr(0, 76),  // state.bin's line only
        sums_of(members[0].data, members[1].data) + codec::Sha256::hex_of("") + "  other\n",
        codec::Sha256::hex_of(members[1].data) + "  state.bin\n" +
            codec::Sha256::hex_of(members[1].data) + "  state.bin\n"}) {
    members[2].data = bad;
    auto refused = read_bytes(snapshot_of(members));
    ASSERT_FALSE(refused) << bad;
    EXPECT_EQ(refused.error().kind(), ErrorKind::corrupt);
    EXPECT_TRUE(refused.error().message().starts_with("SHA256SUMS: ")) << refused.error().message();
  }
}

TEST(RaftSnapshot, WrongMembersAreRefused) {
  auto members = fixture_members();
  auto refused = [](const std::vector<Member>& list, std::string_view expected) {
    auto result = read_bytes(snapshot_of(list));
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().kind(), ErrorKind::corrupt);
    EXPECT_NE(result.error().message().find(expected), std::string::npos)
        << result.error().message();
  };
  auto extra = members;
  extra.push_back({"extra.txt", "x"});
  refused(extra, "an extra member extra.txt");
  std::vector<Member> inserted = {members[0], {"extra.txt", "x"}, members[1], members[2]};
  refused(inserted,
          "extra.txt where state.bin should be (a member a Consul snapshot does not hold)");
  std::vector<Member> twice = {members[0], members[0], members[1], members[2]};
  refused(twice, "meta.json where state.bin should be");
  auto missing = members;
  missing.pop_back();
  refused(missing, "no SHA256SUMS");
  refused({}, "no meta.json");
  auto swapped = members;
  std::swap(swapped[0], swapped[1]);
  refused(swapped, "state.bin where meta.json should be");
  auto big_meta = members;
  big_meta[0].data.append(kRaftMetaMaxSize, ' ');
  refused(big_meta, "meta.json");
  auto wrong_size = members;
  wrong_size[0].data.replace(wrong_size[0].data.find("\"Size\":8327"), 11, "\"Size\":8326");
  refused(wrong_size, "state.bin: its tar header says 8327 bytes, meta.json says 8326");
  auto bad_meta = members;
  bad_meta[0].data = R"({"Version":1,"ID":"x","Index":-1,"Term":2,"Size":8327})";
  refused(bad_meta, "meta.json: Index is not a non-negative integer");
}

TEST(RaftSnapshot, TruncatedOrNotGzipIsRefused) {
  std::string bytes = slurp(fixture_path());
  for (std::size_t keep : {bytes.size() - 1, bytes.size() - 9, bytes.size() / 2, std::size_t{10}}) {
    auto result = read_bytes(std::string_view(bytes).substr(0, keep));
    ASSERT_FALSE(result) << keep;
    EXPECT_EQ(result.error().kind(), ErrorKind::corrupt) << result.error().message();
  }
  auto trailing = read_bytes(bytes + "x");
  ASSERT_FALSE(trailing);
  auto plain = read_bytes(gunzip(bytes));
  ASSERT_FALSE(plain);
  EXPECT_NE(plain.error().message().find("not a Consul snapshot"), std::string::npos);
}

TEST(RaftSnapshot, UnknownTypesAreCountedAndSkipped) {
  std::string state = header() + kv_record("a", "1", 0);
  state += std::string(
      "\xc8\x82\xa1x\x91\xc0\xa1y\xc4\x03"
      "abc",
      13);                                    // type 200: {x:[nil],y:bin}
  state += std::string("\x2a\xc4\x02hi", 5);  // Resource (42): bin
  state += kv_record("b", std::string("\x00\xff", 2), 5);
  std::vector<std::uint8_t> types;
  std::vector<std::string> keys;
  RaftReadOptions options;
  options.on_record = [&](const RaftRecord& record) -> Status {
    types.push_back(record.type);
    EXPECT_EQ(record.value != nullptr, record.type == 2);
    if (record.value != nullptr) {
      CSNAP_ASSIGN_OR_RETURN(auto entry, decode_raft_kv_entry(*record.value));
      keys.push_back(entry.key);
    }
    return {};
  };
  auto summary = read_bytes(snapshot_around(state), options);
  ASSERT_TRUE(summary) << summary.error().message();
  EXPECT_EQ(types, (std::vector<std::uint8_t>{2, 200, 42, 2}));
  EXPECT_EQ(keys, (std::vector<std::string>{"a", "b"}));
  auto stats = stats_by_name(summary->state);
  EXPECT_EQ(stats.at("Unknown 200"), (std::pair<std::uint64_t, std::uint64_t>{1, 13}));
  EXPECT_EQ(stats.at("Resource"), (std::pair<std::uint64_t, std::uint64_t>{1, 5}));
  EXPECT_EQ(stats.at("KVS").first, 2U);
  EXPECT_EQ(summary->state.kv_keys, 2U);
  EXPECT_EQ(summary->state.last_index, 9U);
}

TEST(RaftSnapshot, DecodesOnlyWhatItIsAskedFor) {
  std::string state = header() + kv_record("a", "1", 0);
  RaftReadOptions options;
  options.decode = [](std::uint8_t) { return false; };
  options.on_record = [](const RaftRecord& record) -> Status {
    EXPECT_EQ(record.value, nullptr);
    return {};
  };
  auto summary = read_state(state, options);
  ASSERT_TRUE(summary) << summary.error().message();
  EXPECT_EQ(summary->kv_keys, 1U);
}

TEST(RaftSnapshot, VisitorErrorsStopTheReadWithContext) {
  std::string state = header() + kv_record("a", "1", 0) + kv_record("b", "2", 0);
  RaftReadOptions options;
  options.on_record = [](const RaftRecord& record) -> Status {
    if (record.number == 2)
      return Error(ErrorKind::invalid_argument, "no thanks");
    return {};
  };
  auto summary = read_state(state, options);
  ASSERT_FALSE(summary);
  EXPECT_EQ(summary.error().kind(), ErrorKind::invalid_argument);
  EXPECT_TRUE(summary.error().message().starts_with("state.bin: record 2 (KVS) at byte"))
      << summary.error().message();
}

TEST(RaftSnapshot, BadHeadersAndRecordsAreRefused) {
  auto refused = [](const std::string& state, std::string_view expected) {
    auto result = read_state(state);
    ASSERT_FALSE(result) << expected;
    EXPECT_EQ(result.error().kind(), ErrorKind::corrupt);
    EXPECT_NE(result.error().message().find(expected), std::string::npos)
        << result.error().message();
  };
  refused("", "state.bin: the header: the value is cut short");
  refused(std::string("\x90", 1), "the header is not Consul's snapshot header: no LastIndex");
  refused(std::string("\x81\xa9LastIndex\xa1x", 13), "LastIndex is not an unsigned integer");
  refused(header() + "\x02", "state.bin: record 1 (KVS) at byte 12: the value is cut short");
  std::string cut = kv_record("a", "1", 0);
  refused(header() + cut.substr(0, cut.size() - 1), "record 1 (KVS) at byte 12");
  refused(header() + "\x02\xc1", "record 1 (KVS) at byte 12: byte 1 of the value: byte 0xc1");
}

msgpack::object_handle unpacked(std::string_view bytes) {
  return msgpack::unpack(bytes.data(), bytes.size());
}

TEST(RaftSnapshot, KvEntriesOfTheWrongShapeAreRefused) {
  auto refused = [](std::string_view bytes, std::string_view expected) {
    auto handle = unpacked(bytes);
    auto entry = decode_raft_kv_entry(handle.get());
    ASSERT_FALSE(entry) << expected;
    EXPECT_EQ(entry.error().kind(), ErrorKind::corrupt);
    EXPECT_EQ(entry.error().message(), expected);
  };
  refused(std::string("\x90", 1), "a KV entry that is not a map");
  refused(std::string("\x80", 1), "no Key");
  refused(std::string("\x81\xa3Key\x05", 6), "Key is not a string");
  refused(std::string("\x82\xa3Key\xa1k\xa5\x46lags\xff", 14), "Flags is not an unsigned integer");
  refused(std::string("\x82\xa3Key\xa1k\xa5Value\x01", 14), "Value is not a string");
  // nil Value and Session (Go's nil slice, an unset string) are empty.
  auto handle = unpacked(std::string("\x83\xa3Key\xa1k\xa5Value\xc0\xa7Session\xc0", 23));
  auto entry = decode_raft_kv_entry(handle.get());
  ASSERT_TRUE(entry) << entry.error().message();
  EXPECT_EQ(entry->key, "k");
  EXPECT_EQ(entry->value, "");
  EXPECT_EQ(entry->session, "");
}

TEST(RaftSnapshot, ConfigEntryRequestsOfTheWrongShapeAreRefused) {
  auto decode = [](std::string_view inner) {
    msgpack::sbuffer buffer;
    msgpack::packer<msgpack::sbuffer> packer(buffer);
    packer.pack_str(static_cast<std::uint32_t>(inner.size()));
    packer.pack_str_body(inner.data(), static_cast<std::uint32_t>(inner.size()));
    auto handle = unpacked(std::string_view(buffer.data(), buffer.size()));
    return decode_raft_config_entry(handle.get());
  };
  std::string good_request("\x81\xa5\x45ntry\x81\xa4Name\xa3web", 17);
  auto good = decode(std::string("\xa4mesh", 5) + good_request);
  ASSERT_TRUE(good) << good.error().message();
  EXPECT_EQ(good->kind, "mesh");
  const msgpack::object* name = raft_field(*good->entry, "Name");
  ASSERT_NE(name, nullptr);
  EXPECT_EQ(std::string_view(name->via.str.ptr, name->via.str.size), "web");

  for (const auto& [inner, expected] : std::vector<std::pair<std::string, std::string>>{
           {std::string(), "the value is cut short"},
           {std::string("\xa4mesh", 5), "the value is cut short"},
           {std::string("\xa4mesh", 5) + good_request + "\xc0", "bytes after its two values"},
           {std::string("\x05", 1) + good_request, "kind is not a string"},
           {std::string("\xa4mesh\x80", 6), "without an Entry map"},
           {std::string("\xa4mesh", 5) + std::string(100000, '\x91') + "\xc0",
            "nested deeper than 32 levels"},
       }) {
    auto refused = decode(inner);
    ASSERT_FALSE(refused) << expected;
    EXPECT_EQ(refused.error().kind(), ErrorKind::corrupt);
    EXPECT_NE(refused.error().message().find(expected), std::string::npos)
        << refused.error().message();
  }
  auto handle = unpacked(std::string("\x80", 1));
  EXPECT_FALSE(decode_raft_config_entry(handle.get()));
}

// Hostile values, as the value of a decoded type (KVS) and of a skipped one (Unknown 99): each is
// refused at once, from its headers, before anything big is allocated or read.
TEST(RaftSnapshot, HostileMsgpackIsRefusedQuickly) {
  struct Case {
    std::string name;
    std::string value;
    std::string expected;
  };
  std::vector<Case> cases = {
      {"arrays nested 10^6 deep", std::string(1000000, '\x91') + '\xc0',
       "containers nested deeper than 32 levels"},
      {"maps nested 10^6 deep",
       [] {
         std::string out;
         for (int i = 0; i < 1000000; ++i)
           out += std::string("\x81\xa1k", 3);
         return out + '\xc0';
       }(),
       "containers nested deeper than 32 levels"},
      {"a str of 4 GiB", std::string("\xdb\xff\xff\xff\xff", 5) + "abc",
       "4294967295 more bytes would pass the 67108864 bytes a record may hold"},
      {"a bin of 4 GiB", std::string("\xc6\xff\xff\xff\xff", 5),
       "4294967295 more bytes would pass the 67108864 bytes a record may hold"},
      {"an ext of 4 GiB", std::string("\xc9\xff\xff\xff\xff\x01", 6),
       "4294967296 more bytes would pass"},
      {"a map of 2^32-1 entries", std::string("\xdf\xff\xff\xff\xff", 5) + "\xa1k",
       "a map of 4294967295 entries: more than the 1048576 values a record may hold"},
      {"an array of 2^32-1 elements", std::string("\xdd\xff\xff\xff\xff", 5),
       "an array of 4294967295 entries: more than the 1048576 values"},
      {"a million-element array in a map, each of them empty",
       [] {
         std::string out("\x81\xa1k\xdd\x00\x10\x00\x00", 8);  // 2^20 elements
         return out + std::string(std::size_t{1} << 20, '\x90');
       }(),
       "more than the 1048576 values a record may hold"},
  };
  // Peak memory may not grow by what the headers claim (each test runs in its own process).
  auto peak_kib = [] {
    struct rusage usage {};
    ::getrusage(RUSAGE_SELF, &usage);
    return usage.ru_maxrss;
  };
  long peak_before = peak_kib();
  for (const auto& hostile : cases) {
    for (char type : {'\x02', '\x63'}) {
      std::string state = header() + type + hostile.value;
      auto started = std::chrono::steady_clock::now();
      auto result = read_bytes(snapshot_around(state));
      auto took = std::chrono::steady_clock::now() - started;
      ASSERT_FALSE(result) << hostile.name;
      EXPECT_EQ(result.error().kind(), ErrorKind::corrupt);
      EXPECT_NE(result.error().message().find(hostile.expected), std::string::npos)
          << hostile.name << ": " << result.error().message();
      EXPECT_NE(result.error().message().find(type == '\x02' ? "record 1 (KVS)"
                                                             : "record 1 (Unknown 99)"),
                std::string::npos)
          << result.error().message();
      EXPECT_LT(took, std::chrono::seconds(5)) << hostile.name;
    }
  }
#ifndef __SANITIZE_ADDRESS__  // ASan's quarantine keeps every freed block: RSS only grows there
  EXPECT_LT(peak_kib() - peak_before, 64 * 1024) << "KiB more at the peak";
#else
  (void)peak_before;
#endif
}

TEST(RaftSnapshot, LimitsAreOptions) {
  std::string state = header() + kv_record("a", std::string(1000, 'v'), 0);
  RaftReadOptions options;
  options.limits.max_record_size = 500;
  auto big = read_state(state, options);
  ASSERT_FALSE(big);
  EXPECT_NE(big.error().message().find("the 500 bytes a record may hold"), std::string::npos)
      << big.error().message();
  options.limits = {};
  options.limits.max_depth = 1;
  auto deep = read_state(header() + std::string("\x02\x81\xa1k\x91\xc0", 6), options);
  ASSERT_FALSE(deep);
  EXPECT_NE(deep.error().message().find("nested deeper than 1 levels"), std::string::npos);
  EXPECT_TRUE(read_state(header() + std::string("\x02\x81\xa1k\xc0", 5), options));
  options.limits = {};
  options.limits.max_record_values = 3;
  EXPECT_TRUE(read_state(header() + std::string("\x02\x81\xa1k\xc0", 5), options));
  EXPECT_FALSE(read_state(header() + std::string("\x02\x81\xa1k\x91\xc0", 6), options));
}

TEST(RaftSnapshot, TypeNames) {
  EXPECT_EQ(raft_type_name(2), "KVS");
  EXPECT_EQ(raft_type_name(17), "ACLToken");
  EXPECT_EQ(raft_type_name(22), "ConfigEntry");
  EXPECT_EQ(raft_type_name(27), "ACLAuthMethod");
  EXPECT_EQ(raft_type_name(42), "Resource");
  EXPECT_EQ(raft_type_name(43), "UpdateManualVirtualIPRequestType");
  EXPECT_EQ(raft_type_name(44), "Unknown 44");
  EXPECT_EQ(raft_type_name(255), "Unknown 255");
  EXPECT_TRUE(is_restorable_raft_type(2));
  EXPECT_TRUE(is_restorable_raft_type(25));
  EXPECT_FALSE(is_restorable_raft_type(0));
  EXPECT_FALSE(is_restorable_raft_type(5));  // tombstones
}

}  // namespace
}  // namespace csnap::archive
