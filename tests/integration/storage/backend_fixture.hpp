#pragma once
// Backends for the storage integration tests: a local directory, or a fresh bucket on the test
// process's SeaweedFS, with a way to count what unfinished uploads left behind.

#include <filesystem>
#include <functional>
#include <memory>
#include <random>
#include <string>

#include <gtest/gtest.h>

#include "seaweed_server.hpp"
#include "storage/local.hpp"
#include "storage/s3.hpp"

namespace csnap::storage::testing {

inline constexpr std::size_t kTestPartSize = kS3MinPartSize;
inline constexpr int kTestPageSize = 3;

// S3 options for `bucket` on `server` as `identity`, with small parts and list pages.
inline S3Options seaweed_options(const ::csnap::testing::SeaweedServer& server,
                                 const std::string& bucket,
                                 const ::csnap::testing::S3Identity& identity) {
  S3Options options;
  options.bucket = bucket;
  options.endpoint = server.endpoint();
  options.part_size = kTestPartSize;
  options.list_page_size = kTestPageSize;
  options.credentials = std::make_shared<StaticCredentialsProvider>(
      AwsCredentials{identity.access_key, Secret(identity.secret_key), Secret(), {}, "test"});
  options.retry.initial_backoff = std::chrono::milliseconds(10);
  return options;
}

// Files under `root` that are not backups: the temporary files of unfinished uploads.
inline std::size_t local_leftovers(const std::filesystem::path& root) {
  std::size_t count = 0;
  std::error_code error;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root, error)) {
    auto name = entry.path().filename().string();
    if (entry.is_regular_file() && name.starts_with('.'))
      ++count;
  }
  return count;
}

inline std::filesystem::path make_temp_root() {
  auto root = std::filesystem::temp_directory_path() /
              ("csnap-storage-" + std::to_string(std::random_device{}()));
  std::filesystem::create_directories(root);
  return root;
}

}  // namespace csnap::storage::testing
