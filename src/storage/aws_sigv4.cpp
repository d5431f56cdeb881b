#include "storage/aws_sigv4.hpp"

#include <algorithm>
#include <array>

#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "util/text.hpp"
#include "util/time.hpp"

namespace csnap::storage {
namespace {

std::string to_hex(const unsigned char* data, std::size_t size) {
  static constexpr std::string_view digits = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (std::size_t i = 0; i < size; ++i) {
    out.push_back(digits[data[i] >> 4U]);
    out.push_back(digits[data[i] & 0xFU]);
  }
  return out;
}

using Digest = std::array<unsigned char, 32>;

Digest hmac_sha256(std::string_view key, std::string_view data) {
  Digest out{};
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &length);
  return out;
}

std::string_view as_view(const Digest& digest) {
  return {reinterpret_cast<const char*>(digest.data()), digest.size()};
}

// Header values are trimmed and runs of spaces inside them folded to one, as SigV4 requires.
std::string fold_spaces(std::string_view value) {
  std::string out;
  bool in_space = false;
  for (char c : trim(value)) {
    if (c == ' ' || c == '\t') {
      in_space = true;
      continue;
    }
    if (in_space)
      out.push_back(' ');
    in_space = false;
    out.push_back(c);
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> sorted_headers(const SigningInput& input) {
  std::vector<std::pair<std::string, std::string>> headers;
  headers.reserve(input.headers.size());
  for (const auto& [name, value] : input.headers)
    headers.emplace_back(to_lower(name), fold_spaces(value));
  std::stable_sort(headers.begin(), headers.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  return headers;
}

std::string signed_header_names(const SigningInput& input) {
  auto headers = sorted_headers(input);
  std::string out;
  for (std::size_t i = 0; i < headers.size(); ++i) {
    if (i > 0 && headers[i].first == headers[i - 1].first)
      continue;
    if (!out.empty())
      out.push_back(';');
    out += headers[i].first;
  }
  return out;
}

std::string credential_scope(const SigningScope& scope) {
  return fmt::format("{}/{}/{}/aws4_request", amz_day(scope.time), scope.region, scope.service);
}

}  // namespace

std::string sha256_hex(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest.data(), &length, EVP_sha256(), nullptr);
  return to_hex(digest.data(), length);
}

std::string amz_date(std::time_t time) {
  return format_iso8601_basic(std::chrono::sys_seconds{std::chrono::seconds{time}});
}

std::string amz_day(std::time_t time) {
  return amz_date(time).substr(0, 8);
}

std::string canonical_request(const SigningInput& input) {
  std::string out =
      input.method + "\n" + input.canonical_path + "\n" + input.canonical_query + "\n";
  // Repeated names become one line with their values joined by commas, in the order given.
  auto headers = sorted_headers(input);
  for (std::size_t i = 0; i < headers.size(); ++i) {
    if (i > 0 && headers[i].first == headers[i - 1].first) {
      out.back() = ',';
      out += headers[i].second + "\n";
      continue;
    }
    out += headers[i].first + ":" + headers[i].second + "\n";
  }
  // Appended piece by piece: GCC 12 at -O3 misreports `"\n" + std::string&&` as an overlapping
  // memcpy (-Wrestrict).
  out += '\n';
  out += signed_header_names(input);
  out += '\n';
  out += input.payload_sha256;
  return out;
}

std::string string_to_sign(const SigningInput& input, const SigningScope& scope) {
  return fmt::format("AWS4-HMAC-SHA256\n{}\n{}\n{}", amz_date(scope.time), credential_scope(scope),
                     sha256_hex(canonical_request(input)));
}

std::string authorization_header(const SigningInput& input, const SigningScope& scope,
                                 const AwsCredentials& credentials) {
  auto key = hmac_sha256("AWS4" + credentials.secret_access_key.reveal(), amz_day(scope.time));
  key = hmac_sha256(as_view(key), scope.region);
  key = hmac_sha256(as_view(key), scope.service);
  key = hmac_sha256(as_view(key), "aws4_request");
  auto signature = hmac_sha256(as_view(key), string_to_sign(input, scope));
  return fmt::format("AWS4-HMAC-SHA256 Credential={}/{},SignedHeaders={},Signature={}",
                     credentials.access_key_id, credential_scope(scope), signed_header_names(input),
                     to_hex(signature.data(), signature.size()));
}

}  // namespace csnap::storage
