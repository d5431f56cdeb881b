#pragma once
// Picks and opens the storage backend that the configuration names: a URL (`s3://bucket/prefix`,
// `file:///path`), else an S3 bucket, else a local directory.

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "storage/aws_credentials.hpp"
#include "storage/backend.hpp"
#include "storage/s3.hpp"
#include "util/result.hpp"
#include "util/secret.hpp"

namespace csnap::storage {

// The server-side encryption that CONSUL_SNAPSHOT_S3_SSE (or a URL's `sse=`) names: "" or
// "none", "AES256", "aws:kms" (any case); a KMS key id only with aws:kms.
Result<S3Encryption> parse_sse(std::string_view value, std::string_view kms_key_id);

// Where backups go, as plain values filled from the configuration. `url` wins; its query
// parameters (region, endpoint, sse, sse_kms_key_id, path_style) override the fields below.
struct StorageSettings {
  // "s3://bucket/prefix?region=eu-west-1&endpoint=http://127.0.0.1:8333", "file:///var/backups"
  std::string url{};
  std::string local_dir{};  // LOCAL_DIR; the default when nothing else is set
  std::string s3_bucket{};  // S3BUCKET
  std::string
      s3_region{};  // S3REGION; else AWS_REGION, AWS_DEFAULT_REGION, the profile's, us-east-1
  std::string s3_endpoint{};        // S3ENDPOINT; else AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL
  std::string s3_prefix{};          // keys live under this prefix inside the bucket
  std::string s3_sse{};             // CONSUL_SNAPSHOT_S3_SSE: "", "AES256" or "aws:kms"
  std::string s3_sse_kms_key_id{};  // CONSUL_SNAPSHOT_S3_SSE_KMS_KEY_ID (with aws:kms)
  std::optional<bool> s3_force_path_style{};  // unset: path-style for custom endpoints only
  std::size_t s3_part_size = 0;               // 0: the default (8 MiB); at least 5 MiB
  // Per attempt of one request to a network storage; 0: the backend's default (5 minutes).
  std::chrono::milliseconds request_timeout{0};
  // Static credentials from the configuration, asked before the environment and shared files.
  std::string aws_access_key_id{};
  Secret aws_secret_access_key{};
  Secret aws_session_token{};
  std::string aws_profile{};  // overrides AWS_PROFILE
};

// `base` with the settings a storage URL gives; invalid_argument for a bad URL or parameter.
Result<StorageSettings> apply_storage_url(std::string_view url, StorageSettings base);

struct OpenOptions {
  EnvironmentLookup environment = process_environment();
  // Replaces the default credentials chain (tests).
  std::shared_ptr<CredentialsProvider> credentials{};
};

// The backend `settings` name; invalid_argument naming the setting when one is bad.
Result<std::unique_ptr<Backend>> open_backend(const StorageSettings& settings,
                                              const OpenOptions& options = {});

}  // namespace csnap::storage
