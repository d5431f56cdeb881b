#pragma once
// Backups as objects in an S3 or S3-compatible bucket, over libcurl with requests signed by
// SigV4. Uploads stream: small objects go up in one PUT, larger ones as a multipart upload with at
// most one part in memory, completed only by `finish` and aborted on any failure. Downloads fetch
// bounded ranges of one version of the object (If-Match on its ETag).

#include <chrono>
#include <cstddef>
#include <ctime>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/client.hpp"
#include "storage/aws_credentials.hpp"
#include "storage/backend.hpp"
#include "storage/s3_xml.hpp"

namespace csnap::storage {

enum class S3Addressing {
  automatic,       // virtual-hosted on AWS for DNS-safe bucket names, path-style elsewhere
  path_style,      // https://endpoint/bucket/key
  virtual_hosted,  // https://bucket.endpoint/key
};

enum class S3Encryption { none, aes256, kms };

inline constexpr std::size_t kMiB = std::size_t{1024} * 1024;
inline constexpr std::size_t kS3MinPartSize = 5 * kMiB;
inline constexpr int kS3MaxParts = 10000;

struct S3Options {
  std::string bucket{};
  std::string region = "us-east-1";
  std::string endpoint{};  // "http://127.0.0.1:8333" or "minio.local:9000" (https); empty: AWS
  std::string root{};      // a key prefix inside the bucket ("team/consul"), no '/' at the ends
  S3Addressing addressing = S3Addressing::automatic;
  S3Encryption sse = S3Encryption::none;
  std::string sse_kms_key_id{};                // with aws:kms; empty uses the account's default key
  std::size_t part_size = 8 * kMiB;            // multipart part size (S3 needs >= 5 MiB)
  std::size_t download_chunk_size = 8 * kMiB;  // bytes per ranged GET
  int list_page_size = 1000;                   // max-keys of each ListObjectsV2 page
  std::shared_ptr<CredentialsProvider> credentials{};
  http::TlsOptions tls{};
  http::RetryPolicy retry{};
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds request_timeout{300000};  // per attempt
  // For tests: the wall clock used for signatures, and the http client's wait between retries.
  std::function<std::time_t()> clock{};
  std::function<void(std::chrono::milliseconds)> sleep{};
};

// The size of multipart part `part_number` (from 1): `base` for parts 1-1000, then doubling every
// 1000 parts, so that 10000 parts hold about 1000 * base * 1023 bytes without knowing the size.
std::size_t multipart_part_size(std::size_t base, int part_number);

// True when `etag` (of an object, from HEAD) can be the ETag of the multipart upload of parts with
// `part_etags`: S3's form, the MD5 of the parts' binary MD5s and "-<part count>", must match
// where both are computable; a server that uses another form is only held to the part count.
bool s3_etag_matches_parts(std::string_view etag, const std::vector<std::string>& part_etags);

// The path of `key` in a request: each byte outside RFC 3986's unreserved set and '/' as %XX.
std::string s3_encode_path(std::string_view key);
// A canonical SigV4 query string: names and values fully percent-encoded ("/" as %2F), sorted by
// name then value, a valueless parameter as "name=".
std::string s3_canonical_query(std::vector<std::pair<std::string, std::string>> parameters);

struct PendingUpload {
  std::string key;  // relative to the root, like every key of this backend
  std::string upload_id;
};

class S3Backend final : public Backend {
 public:
  static Result<std::unique_ptr<S3Backend>> create(S3Options options);
  S3Backend(const S3Backend&) = delete;
  S3Backend& operator=(const S3Backend&) = delete;
  ~S3Backend() override;

  // "s3://bucket/root?region=..&endpoint=..": no credentials.
  std::string describe() const override;
  // The upload and sources returned by `put` and `get` use this backend: destroy them first.
  Result<std::unique_ptr<Upload>> put(std::string_view key) override;
  Result<std::unique_ptr<ByteSource>> get(std::string_view key) override;
  Result<ObjectInfo> stat(std::string_view key) override;
  Result<std::vector<ObjectInfo>> list(std::string_view prefix) override;
  // Removes `key`; not_found when there is no such object.
  Status remove(std::string_view key) override;

  // Multipart uploads under `prefix` that were started and neither completed nor aborted (a
  // process killed mid-upload leaves one); `abort_upload` discards one.
  Result<std::vector<PendingUpload>> pending_uploads(std::string_view prefix);
  // The upload IDs of the pending uploads of exactly `full_key` (root included). A cleanup after
  // a failure: each request is tried `kCleanupAttempts` times.
  Result<std::vector<std::string>> pending_uploads_of_full_key(const std::string& full_key);
  static constexpr int kCleanupAttempts = 8;
  Status abort_upload(const PendingUpload& upload);
  // Aborts the multipart upload `upload_id` of `full_key` (root included), tried
  // `kCleanupAttempts` times; one already gone (404) is done.
  Status abort_multipart_upload(const std::string& full_key, const std::string& upload_id);
  // Creates the bucket (in `region`): for tests and first-time setup.
  Status create_bucket();

  const S3Options& options() const { return options_; }
  // The Host header of every request: "bucket.s3.eu-west-1.amazonaws.com", "127.0.0.1:8333".
  const std::string& host() const { return host_; }

  // One request to the bucket; `key` is the full object key (root included), empty for the
  // bucket itself. Public for the upload and download objects of this backend.
  struct Call {
    std::string method = "GET";
    std::string key{};
    std::vector<std::pair<std::string, std::string>> query{};
    std::vector<std::pair<std::string, std::string>> headers{};  // x-amz-* ones are signed
    std::string body{};
    // Unset: by method (a POST is not sent again once it may have reached the server).
    std::optional<bool> idempotent{};
    // Unset: the client's retry policy. Cleanups after a failure ask for more: they are what
    // keeps a failed upload from leaving parts behind.
    std::optional<int> max_attempts{};
  };
  // Sends `call` signed; any HTTP status is a response. With `sink`, a 2xx body streams there.
  // The body is lent to the request and given back, not copied.
  Result<http::Response> send(Call& call, ByteSink* sink = nullptr,
                              const http::StreamOptions& stream = {});
  // The error for a failed `call`: "PUT s3://b/k: 403 SignatureDoesNotMatch: <message>".
  Error error_for(const Call& call, const http::Response& response) const;
  std::string full_key(std::string_view key) const;
  std::string object_url(std::string_view full_key) const;  // "s3://bucket/key", for messages

 private:
  S3Backend(S3Options options, std::unique_ptr<http::Client> client, std::string host,
            bool path_style);
  // Every pending multipart upload whose key starts with `full_prefix`; an error, not an endless
  // loop, when the server repeats its markers.
  Result<std::vector<S3MultipartUpload>> list_uploads(const std::string& full_prefix,
                                                      std::optional<int> max_attempts = {});

  S3Options options_;
  std::unique_ptr<http::Client> client_;
  std::string host_;  // Host header value: "bucket.s3.us-east-1.amazonaws.com", "127.0.0.1:8333"
  bool path_style_;
  std::mutex mutex_;  // one request at a time on the client
};

}  // namespace csnap::storage
