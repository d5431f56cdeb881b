// backup --mode raft|both against a real Consul agent: raft.snap taken out of the backup with the
// stock age, zstd, gzip and tar passes the stock `consul snapshot inspect`, whose counts our
// `inspect` must match; a token without acl = "write" fails with an error naming it and leaves
// no object; a raft.snap whose own checksums fail makes inspect fail as corrupt.

#include <algorithm>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <map>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli_test.hpp"
#include "daemon_process.hpp"
#include "test_data.hpp"

namespace csnap::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;
using test_common::slurp;
using test_common::spit;

class RaftModeTest : public CliTest {
 protected:
  std::string cli(const std::vector<std::string>& args) {
    auto out = agent_->run_cli(args);
    EXPECT_TRUE(out.ok()) << (out.ok() ? "" : out.error().message());
    return out.ok() ? *out : "";
  }

  // Some of everything: keys, a service in the catalog, a prepared query.
  void fill() {
    cli({"kv", "put", "app/config", "raft-mode-marker-value"});
    cli({"kv", "put", "app/other", "two"});
    cli({"kv", "put", "top", "three"});
    cli({"services", "register", "-name", "web", "-port", "8080"});
  }

  fs::path only_backup() {
    auto files = backup_files();
    EXPECT_EQ(files.size(), 1u);
    return files.empty() ? fs::path() : files[0];
  }

  // Extracts the tar `archive` (plain) into `into` with the stock tar; returns its listing.
  std::string untar(const fs::path& archive, const fs::path& into) {
    fs::create_directories(into);
    auto listing = run({"tar", "-tf", archive.string()});
    EXPECT_EQ(listing.exit_code, 0) << listing.all();
    auto extracted = run({"tar", "-xf", archive.string(), "-C", into.string()});
    EXPECT_EQ(extracted.exit_code, 0) << extracted.all();
    return listing.out;
  }

  // Runs the shell `script` with $0, $1... set to `args`.
  static csnap::testing::Run shell(const std::string& script,
                                   const std::vector<std::string>& args) {
    std::vector<std::string> argv{"sh", "-c", script};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv);
  }

  // Decompresses the gzip file `from` into `to` with the stock gzip.
  static bool gunzip(const fs::path& from, const fs::path& to) {
    auto done = shell(R"(gzip -dc "$0" > "$1")", {from.string(), to.string()});
    EXPECT_EQ(done.exit_code, 0) << done.all();
    return done.exit_code == 0;
  }

  // `consul snapshot inspect -format json` of `snapshot`: type name -> count, and the meta.
  json consul_inspect(const fs::path& snapshot) {
    auto inspected = agent_->run_cli({"snapshot", "inspect", "-format", "json", snapshot.string()});
    EXPECT_TRUE(inspected.ok()) << (inspected.ok() ? "" : inspected.error().message());
    return inspected.ok() ? json::parse(*inspected) : json();
  }
};

std::map<std::string, std::uint64_t> counts_of_consul(const json& inspect) {
  std::map<std::string, std::uint64_t> counts;
  for (const auto& stat : inspect["Stats"])
    counts[stat["Name"].get<std::string>()] = stat["Count"].get<std::uint64_t>();
  return counts;
}

std::map<std::string, std::uint64_t> counts_of_ours(const json& inspect) {
  std::map<std::string, std::uint64_t> counts;
  for (const auto& type : inspect["raft"]["types"])
    counts[type["name"].get<std::string>()] = type["count"].get<std::uint64_t>();
  return counts;
}

TEST_F(RaftModeTest, EncryptedRaftBackupPassesConsulsOwnInspect) {
  CSNAP_REQUIRE_CONSUL(agent, ConsulAgentOptions{});
  adopt(std::move(agent));
  fill();
  auto key = work_ / "key.txt";
  ASSERT_EQ(run({"age-keygen", "-o", key.string()}).exit_code, 0);
  auto public_key = run({"age-keygen", "-y", key.string()});
  ASSERT_EQ(public_key.exit_code, 0) << public_key.all();
  std::string recipient = public_key.out.substr(0, public_key.out.find('\n'));

  auto backup = run_tool({"backup", "--once", "--mode", "raft", "--encrypt-to", recipient}, env());
  ASSERT_EQ(backup.exit_code, 0) << backup.all();
  auto file = only_backup();
  ASSERT_TRUE(file.string().ends_with(".tar.zst.age")) << file;
  EXPECT_EQ(slurp(file).find("raft-mode-marker-value"), std::string::npos);

  // The stock age, zstd and tar alone get raft.snap out.
  auto decrypted = work_ / "backup.tar.zst";
  auto age = run({"age", "-d", "-i", key.string(), "-o", decrypted.string(), file.string()});
  ASSERT_EQ(age.exit_code, 0) << age.all();
  auto tar = work_ / "backup.tar";
  ASSERT_EQ(run({"zstd", "-d", "-q", decrypted.string(), "-o", tar.string()}).exit_code, 0);
  auto out = work_ / "out";
  EXPECT_EQ(untar(tar, out), "meta.json\nraft.snap\n");

  json consul = consul_inspect(out / "raft.snap");
  ASSERT_TRUE(consul.contains("Stats")) << consul.dump();
  auto consul_counts = counts_of_consul(consul);
  // The three keys (the lastbackup key is written after the backup).
  EXPECT_EQ(consul_counts.at("KVS"), 3u) << consul.dump();
  EXPECT_EQ(consul_counts.count("Register"), 1u) << consul.dump();

  // meta.json records the snapshot; its Raft counts are not logical counts.
  auto meta = json::parse(slurp(out / "meta.json"));
  EXPECT_EQ(meta["raft"]["index"], consul["Meta"]["Index"]) << meta.dump();
  EXPECT_EQ(meta["raft"]["term"], consul["Meta"]["Term"]) << meta.dump();
  EXPECT_FALSE(meta["raft"]["consul_version"].get<std::string>().empty());
  EXPECT_EQ(meta["raft"]["kv_keys"], consul_counts.at("KVS"));
  EXPECT_TRUE(meta["counts"].empty()) << meta.dump();
  EXPECT_EQ(meta["members"][0]["name"], "raft.snap");
  EXPECT_EQ(meta["members"][0]["size"].get<std::uint64_t>(), fs::file_size(out / "raft.snap"));

  auto ours =
      run_tool({"inspect", file.string(), "--json", "--identity-file", key.string()}, env());
  ASSERT_EQ(ours.exit_code, 0) << ours.all();
  auto inspected = json::parse(ours.out);
  EXPECT_EQ(inspected["raft"]["verified"], true);
  EXPECT_EQ(counts_of_ours(inspected), consul_counts);
  EXPECT_EQ(inspected["raft"]["index"], consul["Meta"]["Index"]);
  EXPECT_EQ(inspected["raft"]["kv_keys"], consul_counts.at("KVS"));

  auto text = run_tool({"inspect", file.string(), "--identity-file", key.string()}, env());
  ASSERT_EQ(text.exit_code, 0) << text.all();
  EXPECT_NE(text.out.find("raft records KVS"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("raft integrity"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("verified"), std::string::npos) << text.out;
}

TEST_F(RaftModeTest, BothHoldsTheLogicalMembersAndRaftSnap) {
  CSNAP_REQUIRE_CONSUL(agent, ConsulAgentOptions{});
  adopt(std::move(agent));
  fill();
  auto with_env = env();
  with_env["CONSUL_SNAPSHOT_MODE"] = "both";
  auto backup = run_tool({"backup", "--once", "--compression", "gzip"}, with_env);
  ASSERT_EQ(backup.exit_code, 0) << backup.all();
  auto file = only_backup();
  ASSERT_TRUE(file.string().ends_with(".tar.gz")) << file;

  auto tar = work_ / "backup.tar";
  ASSERT_TRUE(gunzip(file, tar));
  auto out = work_ / "out";
  auto listing = untar(tar, out);
  for (const char* member : {"meta.json\n", "kv.json\n", "prepared-queries.json\n", "raft.snap\n"})
    EXPECT_NE(listing.find(member), std::string::npos) << member << " in " << listing;
  EXPECT_TRUE(listing.starts_with("meta.json\n")) << listing;
  EXPECT_NE(slurp(out / "kv.json").find("app/config"), std::string::npos);
  json consul = consul_inspect(out / "raft.snap");
  ASSERT_TRUE(consul.contains("Stats")) << consul.dump();

  auto meta = json::parse(slurp(out / "meta.json"));
  EXPECT_EQ(meta["counts"]["kv"], 3) << meta.dump();
  EXPECT_EQ(meta["raft"]["index"], consul["Meta"]["Index"]) << meta.dump();
  EXPECT_FALSE(meta["counts"].contains("KVS")) << meta.dump();

  auto listed = run_tool({"list", "--json"}, env());
  ASSERT_EQ(listed.exit_code, 0) << listed.all();
  auto entries = json::parse(listed.out);
  ASSERT_EQ(entries.size(), 1u) << listed.out;
  EXPECT_EQ(entries[0]["counts"]["kv"], 3) << listed.out;
  EXPECT_EQ(entries[0]["raft"]["index"], consul["Meta"]["Index"]) << listed.out;
  auto table = run_tool({"list"}, env());
  EXPECT_NE(table.out.find("raft snapshot at index"), std::string::npos) << table.out;

  auto inspect = run_tool({"inspect", "latest", "--json"}, env());
  ASSERT_EQ(inspect.exit_code, 0) << inspect.all();
  auto inspected = json::parse(inspect.out);
  EXPECT_EQ(inspected["kv_entries"], 3);
  EXPECT_EQ(counts_of_ours(inspected), counts_of_consul(consul));
}

TEST_F(RaftModeTest, ABadModeIsAUsageErrorNamingItsSource) {
  CSNAP_REQUIRE_CONSUL(agent, ConsulAgentOptions{});
  adopt(std::move(agent));
  auto with_env = env();
  with_env["CONSUL_SNAPSHOT_MODE"] = "snapshot";
  auto bad = run_tool({"backup", "--once"}, with_env);
  EXPECT_EQ(bad.exit_code, 2) << bad.all();
  EXPECT_NE(bad.err.find("CONSUL_SNAPSHOT_MODE"), std::string::npos) << bad.err;
  auto with_only = run_tool({"backup", "--once", "--mode", "raft", "--only", "kv"}, env());
  EXPECT_EQ(with_only.exit_code, 2) << with_only.all();
  EXPECT_TRUE(backup_files().empty());
}

TEST_F(RaftModeTest, ATokenWithoutAclWriteGetsTheNamedErrorAndNoObject) {
  CSNAP_REQUIRE_CONSUL(agent, ConsulAgentOptions{.acl = true});
  adopt(std::move(agent));
  cli({"kv", "put", "app/config", "one"});
  auto token_for = [&](const std::string& name, const std::string& rules) {
    cli({"acl", "policy", "create", "-name", name, "-rules", rules});
    auto created =
        json::parse(cli({"acl", "token", "create", "-policy-name", name, "-format", "json"}));
    return created["SecretID"].get<std::string>();
  };
  // Everything a logical backup needs, and acl = "read".
  auto reader_env = env();
  reader_env["CONSUL_HTTP_TOKEN"] = token_for("raft-reader", R"(agent_prefix "" { policy = "read" }
key_prefix "" { policy = "read" }
key "service/consul-snapshot/lastbackup" { policy = "write" }
acl = "read")");
  auto refused = run_tool({"backup", "--once", "--mode", "raft"}, reader_env);
  EXPECT_EQ(refused.exit_code, 1) << refused.all();
  EXPECT_NE(refused.err.find("403"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find(R"(acl = "write")"), std::string::npos) << refused.err;
  EXPECT_EQ(refused.all().find(reader_env["CONSUL_HTTP_TOKEN"]), std::string::npos);
  EXPECT_TRUE(backup_files().empty()) << "a failed Raft backup left an object";
  EXPECT_TRUE(fs::is_empty(work_ / "tmp"));

  // The README's Raft-mode policy is enough.
  auto writer_env = env();
  writer_env["CONSUL_HTTP_TOKEN"] = token_for("raft-writer", R"(agent_prefix "" { policy = "read" }
key "service/consul-snapshot/lastbackup" { policy = "write" }
acl = "write")");
  writer_env["CRYPTO_PASSWORD"] = "raft mode test passphrase";
  writer_env["CONSUL_SNAPSHOT_SCRYPT_WORK_FACTOR"] = "12";
  auto taken = run_tool({"backup", "--once", "--mode", "raft"}, writer_env);
  ASSERT_EQ(taken.exit_code, 0) << taken.all();
  EXPECT_EQ(taken.err.find("[WARN]"), std::string::npos) << taken.err;
  EXPECT_EQ(backup_files().size(), 1u);
}

// The daemon takes Raft backups on its interval, with its health as for logical ones.
TEST_F(RaftModeTest, TheDaemonTakesRaftBackups) {
  CSNAP_REQUIRE_CONSUL(agent, ConsulAgentOptions{});
  adopt(std::move(agent));
  fill();
  auto daemon_env = env();
  daemon_env["BACKUPINTERVAL"] = "1";
  daemon_env["CONSUL_SNAPSHOT_MODE"] = "raft";
  Daemon daemon({"backup"}, daemon_env, work_ / "daemon.log");
  ASSERT_TRUE(daemon.started());
  auto url = served_url(daemon, 30s);
  ASSERT_FALSE(url.empty()) << daemon.log();
  EXPECT_TRUE(eventually(60s, [&] { return !backup_files().empty(); })) << daemon.log();
  EXPECT_TRUE(eventually(30s, [&] {
    auto health = curl({url + "/health"});
    return health.ok() && health->status == 200;
  })) << daemon.log();
  daemon.signal(SIGTERM);
  auto code = daemon.wait(30s);
  ASSERT_TRUE(code.has_value()) << daemon.log();
  EXPECT_EQ(*code, 0) << daemon.log();
  EXPECT_NE(daemon.log().find("Saving Consul's Raft snapshot"), std::string::npos) << daemon.log();

  auto inspect = run_tool({"inspect", "latest", "--json"}, env());
  ASSERT_EQ(inspect.exit_code, 0) << inspect.all();
  auto inspected = json::parse(inspect.out);
  EXPECT_EQ(inspected["raft"]["verified"], true) << inspect.out;
  // Three keys, and the lastbackup key once an earlier backup wrote it.
  EXPECT_GE(inspected["raft"]["kv_keys"].get<std::uint64_t>(), 3u) << inspect.out;
  EXPECT_TRUE(inspected["meta"]["counts"].empty()) << inspect.out;
}

// A raft.snap whose state.bin was changed after Consul wrote it, re-wrapped so that every outer
// checksum (meta.json's SHA-256 of raft.snap, gzip, zstd) is right: only the snapshot's own
// SHA256SUMS can tell, and inspect must.
TEST_F(RaftModeTest, InspectRefusesARaftSnapFailingItsOwnChecksums) {
  CSNAP_REQUIRE_CONSUL(agent, ConsulAgentOptions{});
  adopt(std::move(agent));
  fill();
  auto backup = run_tool({"backup", "--once", "--mode", "raft", "--compression", "gzip"}, env());
  ASSERT_EQ(backup.exit_code, 0) << backup.all();
  auto file = only_backup();

  auto outer = work_ / "outer";
  auto tar = work_ / "backup.tar";
  ASSERT_TRUE(gunzip(file, tar));
  untar(tar, outer);
  auto inner = work_ / "inner";
  auto inner_tar = work_ / "raft.tar";
  ASSERT_TRUE(gunzip(outer / "raft.snap", inner_tar));
  EXPECT_EQ(untar(inner_tar, inner), "meta.json\nstate.bin\nSHA256SUMS\n");
  std::string state = slurp(inner / "state.bin");
  auto at = state.find("raft-mode-marker-value");
  ASSERT_NE(at, std::string::npos);
  state[at] = 'R';  // same length: the records still frame
  spit(inner / "state.bin", state);
  auto rewrapped = shell(
      R"(cd "$0" && tar -cf - meta.json state.bin SHA256SUMS | gzip -c > "$1/raft.snap" && cd "$1" && sha256sum raft.snap | cut -c1-64)",
      {inner.string(), outer.string()});
  ASSERT_EQ(rewrapped.exit_code, 0) << rewrapped.all();
  std::string digest = rewrapped.out.substr(0, 64);
  auto meta = json::parse(slurp(outer / "meta.json"));
  meta["members"][0]["sha256"] = digest;
  meta["members"][0]["size"] = fs::file_size(outer / "raft.snap");
  spit(outer / "meta.json", meta.dump(2) + "\n");
  auto forged = work_ / "forged.tar.gz";
  auto packed = shell(R"(cd "$0" && tar -cf - meta.json raft.snap | gzip -c > "$1")",
                      {outer.string(), forged.string()});
  ASSERT_EQ(packed.exit_code, 0) << packed.all();

  auto consul = agent_->run_cli({"snapshot", "inspect", (outer / "raft.snap").string()});
  EXPECT_FALSE(consul.ok()) << "the stock consul accepts the forged snapshot too";

  auto inspect = run_tool({"inspect", forged.string()}, env());
  EXPECT_EQ(inspect.exit_code, 3) << inspect.all();
  EXPECT_NE(inspect.err.find("raft.snap"), std::string::npos) << inspect.err;
  EXPECT_NE(inspect.err.find("state.bin"), std::string::npos) << inspect.err;

  // restore and diff verify raft.snap before anything else: corrupt (3), not the usage error a
  // Raft-only backup otherwise gets, and nothing is written.
  cli({"kv", "delete", "top"});
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"restore", forged.string(), "--yes"}, {"diff", forged.string()}}) {
    auto refused = run_tool(args, env());
    EXPECT_EQ(refused.exit_code, 3) << args[0] << ": " << refused.all();
    EXPECT_NE(refused.err.find("state.bin"), std::string::npos) << refused.err;
  }
  EXPECT_EQ(agent_->run_cli({"kv", "get", "top"}).ok(), false) << "the restore wrote a key";
}

// A backup without kv.json (--mode raft, or --only acl) says nothing about the KV store: even with
// --mode replace a restore leaves every key alone, and a Raft-only backup is refused with a
// message that says how to restore it whole, instead of a plan that changes nothing.
TEST_F(RaftModeTest, ARestoreOfABackupWithoutKvJsonLeavesTheKvStoreAlone) {
  CSNAP_REQUIRE_CONSUL(agent, ConsulAgentOptions{});
  adopt(std::move(agent));
  fill();
  auto raft = run_tool({"backup", "--once", "--mode", "raft"}, env());
  ASSERT_EQ(raft.exit_code, 0) << raft.all();
  auto raft_backup = only_backup();
  auto refused = run_tool({"restore", raft_backup.string(), "--mode", "replace", "--yes"}, env());
  EXPECT_EQ(refused.exit_code, 2) << refused.all();
  EXPECT_NE(refused.err.find("consul snapshot restore"), std::string::npos) << refused.err;
  EXPECT_EQ(cli({"kv", "get", "app/config"}), "raft-mode-marker-value\n");

  fs::remove(raft_backup);
  auto query_only = run_tool({"backup", "--once", "--only", "query"}, env());
  ASSERT_EQ(query_only.exit_code, 0) << query_only.all();
  auto replaced =
      run_tool({"restore", only_backup().string(), "--mode", "replace", "--yes"}, env());
  EXPECT_EQ(replaced.exit_code, 0) << replaced.all();
  for (const char* key : {"app/config", "app/other", "top"})
    EXPECT_TRUE(agent_->run_cli({"kv", "get", key}).ok()) << key << " was deleted";
}

}  // namespace
}  // namespace csnap::testing
