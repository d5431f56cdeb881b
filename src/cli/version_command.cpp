#include <archive.h>
#include <curl/curl.h>
#include <fmt/format.h>
#include <openssl/crypto.h>
#include <zstd.h>

#include "cli/commands.hpp"
#include "cli/version.hpp"

namespace csnap::cli {

Status version_command() {
  fmt::print("consul-snapshot {}\n", tool_version);
  fmt::print("build: {} {}, C++ {}\n", build_type, __VERSION__, __cplusplus);
  fmt::print("libcurl: {}\n", curl_version());
  fmt::print("openssl: {}\n", OpenSSL_version(OPENSSL_VERSION));
  fmt::print("zstd: {}\n", ZSTD_versionString());
  fmt::print("libarchive: {}\n", archive_version_details());
  return {};
}

}  // namespace csnap::cli
