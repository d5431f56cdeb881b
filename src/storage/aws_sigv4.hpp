#pragma once
// AWS Signature Version 4 for header-authenticated requests, signed with OpenSSL. The caller gives
// the canonical (already percent-encoded) path and query, exactly as they go on the wire.

#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "storage/aws_credentials.hpp"

namespace csnap::storage {

// The hash of an empty payload, and the marker for a payload that is not hashed.
inline constexpr std::string_view kEmptyPayloadSha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";

// Lower-case hex SHA-256 of `data`.
std::string sha256_hex(std::string_view data);

struct SigningInput {
  std::string method;           // "GET"
  std::string canonical_path;   // "/bucket/a%20b"
  std::string canonical_query;  // sorted, encoded: "list-type=2&prefix=a%2Fb"
  // Every header to sign, with its value as sent; names are lower-cased and sorted here.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string payload_sha256;  // hex SHA-256 of the body, or kUnsignedPayload
};

struct SigningScope {
  std::string region;    // "us-east-1"
  std::string service;   // "s3"
  std::time_t time = 0;  // the request time, UTC seconds
};

// "20130524T000000Z" and "20130524" for `time`.
std::string amz_date(std::time_t time);
std::string amz_day(std::time_t time);

// The canonical request and string to sign of SigV4, exposed to test them against AWS's vectors.
std::string canonical_request(const SigningInput& input);
std::string string_to_sign(const SigningInput& input, const SigningScope& scope);

// The Authorization header value for `input`; `input.headers` must include host and x-amz-date.
std::string authorization_header(const SigningInput& input, const SigningScope& scope,
                                 const AwsCredentials& credentials);

}  // namespace csnap::storage
