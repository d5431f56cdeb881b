// A restore never costs other people's data and tells the truth, against a real Consul agent:
// keys held by a session keep their value and session in merge and replace mode; the daemon's
// own keys survive a replace restore; a key changed between the plan and the write (at the
// terminal prompt) is a reported conflict, exit 1, and keeps its new value unless --force; a
// query Consul refuses makes the restore exit 1 and the report names it; a restore killed with
// SIGKILL midway and run again ends exactly as the backup. State is read with curl and the
// consul CLI.

#include <chrono>
#include <csignal>
#include <fstream>
#include <random>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <poll.h>
#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli_test.hpp"
#include "daemon_process.hpp"
#include "util/base64.hpp"

namespace csnap::testing {
namespace {

using Json = nlohmann::json;
using namespace std::chrono_literals;

class RestoreSafetyTest : public CliTest {
 protected:
  void SetUp() override {
    CSNAP_REQUIRE_CONSUL(agent, ConsulAgentOptions{});
    adopt(std::move(agent));
  }

  std::string url(const std::string& path) const {
    return "http://" + agent_->http_address() + path;
  }
  void put(const std::string& key, const std::string& value) {
    ASSERT_TRUE(agent_->run_cli({"kv", "put", key, value}).ok()) << key;
  }
  // A new session of another application (curl PUT /v1/session/create).
  std::string create_session() {
    auto created = curl({"-X", "PUT", "--data-binary", R"({"Name":"other-app","TTL":"600s"})",
                         url("/v1/session/create")});
    EXPECT_TRUE(created.ok() && created->status == 200) << (created.ok() ? created->body : "");
    return created.ok() ? Json::parse(created->body).value("ID", "") : "";
  }
  // Acquires `key` for `session` with `value`, as a lock holder does (?acquire=).
  void acquire(const std::string& key, const std::string& session, const std::string& value) {
    auto acquired =
        curl({"-X", "PUT", "--data-binary", value, url("/v1/kv/" + key + "?acquire=" + session)});
    ASSERT_TRUE(acquired.ok());
    ASSERT_EQ(acquired->body.substr(0, 4), "true") << key << ": " << acquired->body;
  }
  // The live entry at `key` as Consul returns it (curl), or null when it does not exist.
  Json entry(const std::string& key) {
    auto got = curl({url("/v1/kv/" + key)});
    if (!got.ok() || got->status != 200)
      return nullptr;
    return Json::parse(got->body).at(0);
  }
  // The session that holds `key`; "" when none holds it or the key does not exist.
  std::string session_of(const std::string& key) {
    auto live = entry(key);
    return live.is_null() ? "" : live.value("Session", "");
  }
  std::string value_of(const std::string& key) {
    auto live = entry(key);
    if (live.is_null())
      return "<missing>";
    auto decoded = base64::decode(live.value("Value", std::string()));
    return decoded ? *decoded : "<not base64>";
  }
  // Every key, flags and value under `prefix`, with the consul CLI's export.
  Json exported(const std::string& prefix) {
    auto out = agent_->run_cli({"kv", "export", prefix});
    EXPECT_TRUE(out.ok());
    return out.ok() ? Json::parse(*out) : Json();
  }
  std::size_t key_count(const std::string& prefix) {
    auto keys = curl({url("/v1/kv/" + prefix + "?keys")});
    if (!keys.ok() || keys->status != 200)
      return 0;
    return Json::parse(keys->body).size();
  }
};

TEST_F(RestoreSafetyTest, KeysHeldBySessionsKeepTheirValueAndSessionInBothModes) {
  put("vault/core/lock", "leader at backup time");
  put("vault/core/config", "backup config");
  auto backup = run_tool({"backup", "--once"}, env());
  ASSERT_EQ(backup.exit_code, 0) << backup.all();

  // Another application now holds the lock with a new value, and a key the backup lacks.
  const auto session = create_session();
  ASSERT_FALSE(session.empty());
  acquire("vault/core/lock", session, "leader now");
  acquire("vault/core/held-later", session, "also held");
  put("vault/core/config", "changed config");

  auto dry = run_tool({"restore", "latest", "--dry-run"}, env());
  ASSERT_EQ(dry.exit_code, 0) << dry.all();
  EXPECT_NE(dry.out.find("skip kv \"vault/core/lock\": held by session " + session),
            std::string::npos)
      << dry.out;
  auto diff = run_tool({"diff", "latest", "--json"}, env());
  ASSERT_EQ(diff.exit_code, 0) << diff.all();
  auto changes = Json::parse(diff.out);
  EXPECT_EQ(changes["kv"]["skip"], 1) << diff.out;
  bool diff_names_it = false;
  for (const auto& change : changes["changes"]) {
    diff_names_it |= change["key"] == "vault/core/lock" && change["action"] == "skip" &&
                     change["reason"].get<std::string>().find(session) != std::string::npos;
  }
  EXPECT_TRUE(diff_names_it) << diff.out;

  auto merge = run_tool({"restore", "latest", "--yes"}, env());
  ASSERT_EQ(merge.exit_code, 0) << merge.all();
  EXPECT_NE(merge.out.find("skip kv \"vault/core/lock\""), std::string::npos) << merge.out;
  EXPECT_EQ(value_of("vault/core/lock"), "leader now");
  EXPECT_EQ(session_of("vault/core/lock"), session);
  EXPECT_EQ(value_of("vault/core/config"), "backup config") << "the free key is restored";

  auto replace = run_tool({"restore", "latest", "--mode", "replace", "--yes"}, env());
  ASSERT_EQ(replace.exit_code, 0) << replace.all();
  EXPECT_EQ(value_of("vault/core/lock"), "leader now");
  EXPECT_EQ(session_of("vault/core/lock"), session);
  EXPECT_EQ(value_of("vault/core/held-later"), "also held") << "replace deleted a held key";
  EXPECT_EQ(session_of("vault/core/held-later"), session);
  EXPECT_NE(replace.out.find("skip kv \"vault/core/held-later\""), std::string::npos)
      << replace.out;
}

TEST_F(RestoreSafetyTest, TheDaemonsOwnKeysSurviveAReplaceRestore) {
  put("app/a", "1");
  auto backup = run_tool({"backup", "--once"}, env());
  ASSERT_EQ(backup.exit_code, 0) << backup.all();
  // After the backup: the lastbackup key (written by `backup --once` itself), a running daemon's
  // lock, and a lock key of our own chosen with --lock-key that no session holds right now.
  const std::string lastbackup = value_of("service/consul-snapshot/lastbackup");
  ASSERT_NE(lastbackup, "<missing>");
  const auto session = create_session();
  acquire("service/consul-snapshot/leader", session, "");
  put("ops/our-lock", "");

  auto env_with_lock = env();
  env_with_lock["CONSUL_SNAPSHOT_LOCK_KEY"] = "ops/our-lock";
  auto replace = run_tool({"restore", "latest", "--mode", "replace", "--yes"}, env_with_lock);
  ASSERT_EQ(replace.exit_code, 0) << replace.all();
  EXPECT_EQ(value_of("service/consul-snapshot/lastbackup"), lastbackup);
  EXPECT_EQ(session_of("service/consul-snapshot/leader"), session);
  EXPECT_FALSE(entry("ops/our-lock").is_null()) << "replace deleted the --lock-key key";
  EXPECT_NE(replace.out.find("skip kv \"ops/our-lock\": the daemon's leader lock"),
            std::string::npos)
      << replace.out;
  EXPECT_NE(replace.out.find("skip kv \"service/consul-snapshot/lastbackup\""), std::string::npos)
      << replace.out;

  // The flag works as well as the variable.
  put("ops/other-lock", "");
  auto flagged = run_tool(
      {"restore", "latest", "--mode", "replace", "--yes", "--lock-key", "ops/other-lock"}, env());
  ASSERT_EQ(flagged.exit_code, 0) << flagged.all();
  EXPECT_FALSE(entry("ops/other-lock").is_null());
}

// The tool on a pseudo-terminal (so that it asks before writing): `at_prompt` runs once the
// question is on screen, then the answer "y" is typed. Returns the exit code and everything the
// terminal showed.
Run run_on_terminal(const std::vector<std::string>& args,
                    const std::map<std::string, std::string>& env,
                    const std::function<void()>& at_prompt) {
  std::vector<std::string> argv{CSNAP_TOOL_PATH};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<std::string> env_text;
  for (char** entry = environ; *entry != nullptr; ++entry)
    env_text.emplace_back(*entry);
  for (const auto& [name, value] : env)
    env_text.emplace_back(name).append("=").append(value);
  std::vector<char*> argp, envp;
  for (auto& arg : argv)
    argp.push_back(arg.data());
  argp.push_back(nullptr);
  for (auto& text : env_text)
    envp.push_back(text.data());
  envp.push_back(nullptr);

  Run result;
  int master = -1;
  pid_t pid = ::forkpty(&master, nullptr, nullptr, nullptr);
  if (pid < 0) {
    ADD_FAILURE() << "forkpty failed";
    return result;
  }
  if (pid == 0) {
    ::execve(argp[0], argp.data(), envp.data());
    ::_exit(127);
  }
  bool prompted = false;
  const auto deadline = std::chrono::steady_clock::now() + 120s;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd fd{master, POLLIN, 0};
    if (::poll(&fd, 1, 200) <= 0)
      continue;
    char buffer[4096];
    auto count = ::read(master, buffer, sizeof buffer);
    if (count <= 0)
      break;  // EIO once the child has closed the terminal
    result.out.append(buffer, static_cast<std::size_t>(count));
    if (!prompted && result.out.find("[y/N]") != std::string::npos) {
      prompted = true;
      at_prompt();
      EXPECT_EQ(::write(master, "y\n", 2), 2);
    }
  }
  int status = 0;
  if (std::chrono::steady_clock::now() >= deadline)
    ::kill(pid, SIGKILL);
  ::waitpid(pid, &status, 0);
  ::close(master);
  EXPECT_TRUE(prompted) << "the tool never asked: " << result.out;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

TEST_F(RestoreSafetyTest, AKeyChangedAfterThePlanIsAConflictNotOverwritten) {
  put("app/changed", "v1");
  put("app/steady", "v1");
  put("app/removed", "v1");
  put("app/deleted-later", "v1");
  auto backup = run_tool({"backup", "--once"}, env());
  ASSERT_EQ(backup.exit_code, 0) << backup.all();
  for (const auto* key : {"app/changed", "app/steady", "app/deleted-later"})
    put(key, "v2");
  ASSERT_TRUE(agent_->run_cli({"kv", "delete", "app/removed"}).ok());
  put("app/extra", "v2");
  put("app/extra-changed", "v2");
  // The plan: update changed, steady and deleted-later, create removed, delete both extras.
  auto restore =
      run_on_terminal({"restore", "latest", "--mode", "replace", "--prefix", "app/"}, env(), [&] {
        // Someone else writes between the plan and the answer.
        put("app/changed", "someone else's");
        put("app/removed", "recreated by someone else");
        put("app/extra-changed", "someone else's");
        ASSERT_TRUE(agent_->run_cli({"kv", "delete", "app/deleted-later"}).ok());
      });
  EXPECT_EQ(restore.exit_code, 1) << restore.out;
  for (const auto* key : {"app/changed", "app/removed", "app/extra-changed", "app/deleted-later"}) {
    EXPECT_NE(restore.out.find(std::string("conflict kv \"") + key + "\""), std::string::npos)
        << key << "\n"
        << restore.out;
  }
  EXPECT_NE(restore.out.find("--force"), std::string::npos) << restore.out;
  EXPECT_EQ(value_of("app/changed"), "someone else's");
  EXPECT_EQ(value_of("app/removed"), "recreated by someone else");
  EXPECT_EQ(value_of("app/extra-changed"), "someone else's");
  EXPECT_EQ(value_of("app/deleted-later"), "<missing>");
  // The conflicts shared transactions with the other writes, which still happened.
  EXPECT_EQ(value_of("app/steady"), "v1");
  EXPECT_EQ(value_of("app/extra"), "<missing>");

  // With --force the same race overwrites.
  put("app/changed", "v3");
  auto forced = run_on_terminal({"restore", "latest", "--prefix", "app/", "--force"}, env(),
                                [&] { put("app/changed", "someone else's again"); });
  EXPECT_EQ(forced.exit_code, 0) << forced.out;
  EXPECT_EQ(value_of("app/changed"), "v1");
}

// A config entry written by someone else between the plan and the write is a reported conflict:
// PUT /v1/config is a check-and-set against the ModifyIndex the plan saw (0 for a create).
TEST_F(RestoreSafetyTest, AConfigEntryChangedAfterThePlanIsAConflictNotOverwritten) {
  auto protocol_of = [&](const std::string& name) {
    auto read = curl({url("/v1/config/service-defaults/" + name)});
    EXPECT_TRUE(read.ok());
    if (!read.ok() || read->status != 200)
      return std::string("<missing>");
    return Json::parse(read->body).value("Protocol", std::string());
  };
  auto set_protocol = [&](const std::string& name, const std::string& protocol) {
    auto written =
        curl({"-X", "PUT", "--data-binary",
              Json{{"Kind", "service-defaults"}, {"Name", name}, {"Protocol", protocol}}.dump(),
              url("/v1/config")});
    ASSERT_TRUE(written.ok());
    ASSERT_EQ(written->status, 200) << written->body;
  };
  set_protocol("web", "http");
  set_protocol("api", "http");
  auto backup = run_tool({"backup", "--once", "--only", "config"}, env());
  ASSERT_EQ(backup.exit_code, 0) << backup.all();
  set_protocol("web", "grpc");  // the plan: update web
  auto deleted = curl({"-X", "DELETE", url("/v1/config/service-defaults/api")});
  ASSERT_TRUE(deleted.ok());  // the plan: create api
  auto restore = run_on_terminal({"restore", "latest", "--only", "config"}, env(), [&] {
    set_protocol("web", "tcp");
    set_protocol("api", "http2");
  });
  EXPECT_EQ(restore.exit_code, 1) << restore.out;
  EXPECT_NE(restore.out.find("failed to update service-defaults web: it changed in the target"),
            std::string::npos)
      << restore.out;
  EXPECT_NE(restore.out.find("failed to create service-defaults api: it changed in the target"),
            std::string::npos)
      << restore.out;
  EXPECT_EQ(protocol_of("web"), "tcp");
  EXPECT_EQ(protocol_of("api"), "http2");

  // With --force the same race overwrites.
  auto forced = run_on_terminal({"restore", "latest", "--only", "config", "--force"}, env(),
                                [&] { set_protocol("web", "grpc"); });
  EXPECT_EQ(forced.exit_code, 0) << forced.out;
  EXPECT_EQ(protocol_of("web"), "http");
  EXPECT_EQ(protocol_of("api"), "http");
}

TEST_F(RestoreSafetyTest, AQueryConsulRefusesFailsTheRestoreAndIsNamed) {
  auto query = curl({"-X", "POST", "--data-binary",
                     R"({"Name":"web-query","Service":{"Service":"web"}})", url("/v1/query")});
  ASSERT_TRUE(query.ok());
  ASSERT_EQ(query->status, 200) << query->body;
  put("app/a", "1");
  auto backup = run_tool({"backup", "--once"}, env());
  ASSERT_EQ(backup.exit_code, 0) << backup.all();
  auto files = backup_files();
  ASSERT_EQ(files.size(), 1U);

  // The same backup with a second query that has no service name (Consul answers 500 to it).
  const auto crafted = (work_ / "crafted.tar.zst").string();
  rewrite_member(files[0], "prepared-queries.json", crafted, [](Json& queries, Json& meta) {
    ASSERT_EQ(queries.size(), 1U);
    auto refused = queries[0];
    refused["ID"] = "ffffffff-0000-0000-0000-000000000001";
    refused["Name"] = "query-without-service";
    refused["Service"]["Service"] = "";
    queries.push_back(refused);
    meta["counts"]["prepared-queries"] = 2;
  });

  put("app/a", "2");
  auto restore = run_tool({"restore", crafted, "--yes"}, env());
  EXPECT_EQ(restore.exit_code, 1) << restore.all();
  EXPECT_NE(restore.out.find("failed to create prepared query query-without-service"),
            std::string::npos)
      << restore.all();
  EXPECT_NE(restore.err.find("prepared-queries: Consul refused 1"), std::string::npos)
      << restore.err;
  EXPECT_EQ(restore.err.find("with 0 errors"), std::string::npos) << restore.err;
  EXPECT_EQ(value_of("app/a"), "1") << "the KV part is restored all the same";
}

// `count` transactions' worth of keys under `prefix` with pseudo-random values and flags, written
// with curl through /v1/txn.
void seed(const std::string& address, const std::string& prefix, int count,
          const std::filesystem::path& scratch) {
  std::mt19937_64 random(7);
  for (int first = 0; first < count; first += 128) {
    Json ops = Json::array();
    for (int i = first; i < std::min(count, first + 128); ++i) {
      std::string value(200 + random() % 400, '\0');
      for (auto& c : value)
        c = static_cast<char>(random());
      ops.push_back({{"KV",
                      {{"Verb", "set"},
                       {"Key", prefix + std::to_string(i)},
                       {"Value", base64::encode(value)},
                       {"Flags", random() >> (random() % 64)}}}});
    }
    std::ofstream(scratch / "txn.json") << ops.dump();
    auto sent = curl({"-X", "PUT", "--data-binary", "@" + (scratch / "txn.json").string(),
                      "http://" + address + "/v1/txn"});
    ASSERT_TRUE(sent.ok() && sent->status == 200) << (sent.ok() ? sent->body : "");
  }
}

TEST_F(RestoreSafetyTest, ARestoreKilledMidwayAndRunAgainEndsExactlyAsTheBackup) {
  constexpr int kKeys = 20000;
  seed(agent_->http_address(), "big/", kKeys, work_);
  put("small/a", "kept as in the backup");
  const auto at_backup = exported("");
  auto backup = run_tool({"backup", "--once"}, env());
  ASSERT_EQ(backup.exit_code, 0) << backup.all();

  // Up to three tries: a restore may finish before the test sees it halfway.
  bool killed_midway = false;
  for (int attempt = 0; attempt < 3 && !killed_midway; ++attempt) {
    // Away from the backup: big/ gone, keys it lacks, a changed one.
    ASSERT_TRUE(agent_->run_cli({"kv", "delete", "-recurse", "big/"}).ok());
    put("big/not-in-backup", "x");
    put("small/a", "changed");
    Daemon restore({"restore", "latest", "--mode", "replace", "--yes"}, env(),
                   work_ / "restore.log");
    ASSERT_TRUE(restore.started());
    std::size_t seen = 0;
    eventually(120s, [&] {
      seen = key_count("big/");
      return seen > 10 || restore.wait(0ms).has_value();
    });
    restore.signal(SIGKILL);
    auto code = restore.wait(30s);
    ASSERT_TRUE(code.has_value());
    const auto after = key_count("big/");
    killed_midway = *code == 128 + SIGKILL && after > 1 && after < kKeys;
    if (!killed_midway)
      std::cerr << "attempt " << attempt << ": exit " << *code << ", " << after << " keys\n";
  }
  ASSERT_TRUE(killed_midway) << "the restore finished every time before it could be killed";

  auto again = run_tool({"restore", "latest", "--mode", "replace", "--yes"}, env());
  ASSERT_EQ(again.exit_code, 0) << again.all();
  auto now = exported("");
  // Every key, value and flag as at backup time; only the lastbackup key, written by the backup
  // itself after it read the KV store, is new.
  Json without_ours = Json::array();
  for (const auto& item : now) {
    if (item["key"] != "service/consul-snapshot/lastbackup")
      without_ours.push_back(item);
  }
  ASSERT_EQ(without_ours.size(), at_backup.size());
  EXPECT_TRUE(without_ours == at_backup);
  auto clean = run_tool({"diff", "latest", "--exit-code"}, env());
  EXPECT_EQ(clean.exit_code, 0) << clean.all();
}

}  // namespace
}  // namespace csnap::testing
