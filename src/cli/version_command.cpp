#include <archive.h>
#include <curl/curl.h>
#include <fmt/format.h>
#include <openssl/crypto.h>
#include <zstd.h>

#include "cli/command_set.hpp"
#include "cli/commands.hpp"
#include "cli/version.hpp"

namespace csnap::cli {
namespace {

Status version_command() {
  fmt::print("consul-snapshot {}\n", kToolVersion);
  fmt::print("build: {} {}, C++ {}\n", kBuildType, __VERSION__, __cplusplus);
  fmt::print("libcurl: {}\n", curl_version());
  fmt::print("openssl: {}\n", OpenSSL_version(OPENSSL_VERSION));
  fmt::print("zstd: {}\n", ZSTD_versionString());
  fmt::print("libarchive: {}\n", archive_version_details());
  return {};
}

}  // namespace

void add_version_commands(CommandSet& commands) {
  commands.add({
      .name = "version",
      .help = "version, build and linked library versions",
      .run = CommandSpec::Alone([] { return exit_status(version_command()); }),
  });
  commands.add({
      .name = "config-reference",
      .help = "print every option (flag, environment variable, file key) as Markdown",
      .run = CommandSpec::Alone([]() -> Result<int> {
        fmt::print("{}", config::reference_markdown());
        return exit_ok;
      }),
  });
}

}  // namespace csnap::cli
