#include "seaweed_server.hpp"

#include <fstream>
#include <random>
#include <set>
#include <vector>

#include <fmt/format.h>

#include "consul_agent.hpp"
#include "server_process.hpp"

namespace csnap::testing {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kWeedVersion = "v0.0.0-20261109003541-7506e5f91cd6";

std::string identities_json() {
  auto admin = SeaweedServer::admin();
  auto reader = SeaweedServer::reader();
  return fmt::format(
      R"({{"identities": [
  {{"name": "csnap_admin", "credentials": [{{"accessKey": "{}", "secretKey": "{}"}}],
    "actions": ["Admin", "Read", "List", "Tagging", "Write"]}},
  {{"name": "csnap_reader", "credentials": [{{"accessKey": "{}", "secretKey": "{}"}}],
    "actions": ["Read", "List"]}}
]}}
)",
      admin.access_key, admin.secret_key, reader.access_key, reader.secret_key);
}

}  // namespace

S3Identity SeaweedServer::admin() {
  return {"CSNAPADMINKEY0000001", "csnap-admin-secret/with+odd=chars0000001"};
}

S3Identity SeaweedServer::reader() {
  return {"CSNAPREADERKEY000001", "csnap-reader-secret-00000000000000000001"};
}

std::optional<std::filesystem::path> find_weed_binary() {
  return find_cached_binary("WEED_BIN", fmt::format("weed-{}", kWeedVersion));
}

std::string unique_bucket_name() {
  std::random_device device;
  return fmt::format("csnap-{:08x}{:08x}", device(), device());
}

Result<SeaweedServer*> SeaweedServer::shared() {
  static Result<std::unique_ptr<SeaweedServer>> server = start();
  if (!server.ok())
    return server.error();
  return server->get();
}

Result<std::unique_ptr<SeaweedServer>> SeaweedServer::start() {
  auto binary = find_weed_binary();
  if (!binary) {
    return Error(ErrorKind::not_found,
                 "weed binary not found: run scripts/build-seaweedfs.sh or set WEED_BIN");
  }
  std::unique_ptr<SeaweedServer> server(new SeaweedServer());
  CSNAP_ASSIGN_OR_RETURN(server->directory_, make_temp_directory("csnap-weed-"));
  const auto& dir = server->directory_;
  std::filesystem::create_directories(dir / "data");
  std::ofstream(dir / "identities.json") << identities_json();

  // Every listener gets a port picked here: its defaults are fixed numbers, and its gRPC ports
  // default to HTTP port + 10000, which may be taken.
  std::set<int> used;
  auto pick = [&]() -> Result<int> {
    for (int tries = 0; tries < 50; ++tries) {
      CSNAP_ASSIGN_OR_RETURN(int port, free_port());
      if (used.insert(port).second)
        return port;
    }
    return Error(ErrorKind::internal, "no free port");
  };
  std::vector<std::string> argv = {binary->string(),
                                   "mini",
                                   "-dir=" + (dir / "data").string(),
                                   "-ip=127.0.0.1",
                                   "-ip.bind=127.0.0.1",
                                   "-master.telemetry=false",
                                   "-webdav=false",
                                   "-admin.ui=false",
                                   "-s3.config=" + (dir / "identities.json").string(),
                                   "-s3.autoCreateBucket=false",
                                   "-s3.port.iceberg=0",
                                   "-s3.port.lance=0",
                                   "-admin.port.legacy=0",
                                   "-master.volumeSizeLimitMB=64"};
  CSNAP_ASSIGN_OR_RETURN(server->s3_port_, pick());
  argv.push_back(fmt::format("-s3.port={}", server->s3_port_));
  for (const char* flag :
       {"s3.port.grpc", "master.port", "master.port.grpc", "filer.port", "filer.port.grpc",
        "volume.port", "volume.port.grpc", "admin.port", "admin.port.grpc", "webdav.port"}) {
    CSNAP_ASSIGN_OR_RETURN(int port, pick());
    argv.push_back(fmt::format("-{}={}", flag, port));
  }
  CSNAP_TRY(launch_server({.name = "SeaweedFS",
                           .argv = std::move(argv),
                           .env = {},
                           .directory = dir,
                           .log_path = dir / "weed.log",
                           .deadline = 90s,
                           // An anonymous request is refused once the S3 gateway has loaded its
                           // identities.
                           .ready_request = {server->endpoint() + "/"},
                           .ready_status = 403},
                          server->pid_));
  return server;
}

std::string SeaweedServer::endpoint() const {
  return fmt::format("http://127.0.0.1:{}", s3_port_);
}

SeaweedServer::~SeaweedServer() {
  stop_and_remove(pid_, directory_, 10s);
}

}  // namespace csnap::testing
