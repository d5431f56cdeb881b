#include "storage/s3.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <set>

#include <fmt/format.h>
#include <openssl/evp.h>

#include "http/url.hpp"
#include "storage/aws_sigv4.hpp"
#include "util/log.hpp"
#include "util/text.hpp"
#include "util/time.hpp"

namespace csnap::storage {
namespace {

constexpr std::size_t kMaxPartSize = std::size_t{5} * 1024 * kMiB;
constexpr std::size_t kMaxErrorText = 300;

bool is_dns_safe_bucket(std::string_view bucket) {
  return bucket.find('.') == std::string_view::npos &&
         std::all_of(bucket.begin(), bucket.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
         });
}

std::string_view header_or_empty(const http::Response& response, std::string_view name) {
  return response.headers.get(name).value_or(std::string_view());
}

template <typename Number>
std::optional<Number> parse_number(std::string_view text) {
  Number value{};
  text = trim(text);
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || text.empty())
    return std::nullopt;
  return value;
}

// Appends to a string, refusing to grow past `limit` (a ranged GET answered with more).
class BoundedStringSink final : public ByteSink {
 public:
  BoundedStringSink(std::string& out, std::size_t limit) : out_(out), limit_(limit) {}
  using ByteSink::write;
  Status write(std::span<const std::byte> data) override {
    if (out_.size() + data.size() > limit_) {
      return Error(ErrorKind::corrupt,
                   fmt::format("the server sent more than the {} bytes asked for", limit_));
    }
    out_.append(reinterpret_cast<const char*>(data.data()), data.size());
    return {};
  }
  Status finish() override { return {}; }

 private:
  std::string& out_;
  std::size_t limit_;
};

std::vector<std::pair<std::string, std::string>> encryption_headers(const S3Options& options) {
  switch (options.sse) {
    case S3Encryption::none:
      return {};
    case S3Encryption::aes256:
      return {{"x-amz-server-side-encryption", "AES256"}};
    case S3Encryption::kms: {
      std::vector<std::pair<std::string, std::string>> out = {
          {"x-amz-server-side-encryption", "aws:kms"}};
      if (!options.sse_kms_key_id.empty())
        out.emplace_back("x-amz-server-side-encryption-aws-kms-key-id", options.sse_kms_key_id);
      return out;
    }
  }
  return {};
}

// An object being written: buffered until one part is full, then a multipart upload.
class S3Upload final : public Upload {
 public:
  S3Upload(S3Backend& backend, std::string full_key)
      : backend_(backend), full_key_(std::move(full_key)) {}
  S3Upload(const S3Upload&) = delete;
  S3Upload& operator=(const S3Upload&) = delete;

  ~S3Upload() override {
    if (!upload_id_.empty() && !completed_) {
      auto aborted = abort();
      if (!aborted.ok()) {
        log::warn("could not abort the unfinished upload of {}: {}", backend_.object_url(full_key_),
                  aborted.error().message());
      }
    }
  }

  using ByteSink::write;
  Status write(std::span<const std::byte> data) override {
    CSNAP_TRY(usable());
    while (!data.empty()) {
      std::size_t part_size = multipart_part_size(backend_.options().part_size, next_part());
      if (buffer_.size() >= part_size) {
        // Only sent once more data arrives, so that an object of exactly one part is one PUT.
        CSNAP_TRY(upload_part());
        continue;
      }
      std::size_t take = std::min(part_size - buffer_.size(), data.size());
      if (buffer_.capacity() < part_size && buffer_.size() + take > buffer_.capacity())
        buffer_.reserve(std::min(part_size, std::max(buffer_.size() + take, 2 * buffer_.size())));
      buffer_.append(reinterpret_cast<const char*>(data.data()), take);
      data = data.subspan(take);
    }
    return {};
  }

  Status finish() override {
    CSNAP_TRY(usable());
    if (upload_id_.empty()) {
      S3Backend::Call call{"PUT", full_key_, {}, encryption_headers(backend_.options()), {}};
      call.headers.emplace_back("Content-Type", "application/octet-stream");
      call.body = std::move(buffer_);
      auto status = check(call, backend_.send(call));
      buffer_.clear();
      failed_ = !status.ok();
      completed_ = status.ok();
      return status;
    }
    if (!buffer_.empty())
      CSNAP_TRY(upload_part());
    S3Backend::Call call{"POST", full_key_, {{"uploadId", upload_id_}}, {}, {}};
    call.headers.emplace_back("Content-Type", "application/xml");
    call.body = complete_multipart_body(etags_);
    // Safe to send again: a retry whose first attempt already applied finds the upload gone
    // (NoSuchUpload), and the object it made is checked below.
    call.idempotent = true;
    auto response = backend_.send(call);
    if (response.ok() && response->status == 404) {
      auto error = parse_s3_error(response->body);
      if (error && error->code == "NoSuchUpload") {
        auto confirmed = confirm_completed();
        if (!confirmed.ok()) {
          return fail(std::move(confirmed.error().add_context(
              fmt::format("POST {}: NoSuchUpload", backend_.object_url(full_key_)))));
        }
        completed_ = true;
        upload_id_.clear();
        log::debug("s3: completing {} had already applied (a retry found the upload gone)",
                   backend_.object_url(full_key_));
        return {};
      }
    }
    Status status = check(call, response);
    // CompleteMultipartUpload may fail after a 200 status, with an <Error> document as its body.
    if (status.ok()) {
      if (auto error = parse_s3_error(response->body)) {
        status = Error(s3_error_kind(500, error->code),
                       fmt::format("POST {}: {}: {}", backend_.object_url(full_key_), error->code,
                                   error->message));
      }
    }
    if (!status.ok())
      return fail(std::move(status).error());
    completed_ = true;
    log::debug("s3: completed {} in {} parts", backend_.object_url(full_key_), etags_.size());
    return {};
  }

 private:
  int next_part() const { return static_cast<int>(etags_.size()) + 1; }

  // After a CompleteMultipartUpload answered NoSuchUpload: succeeds when the object exists and
  // is this upload (its size, and its ETag where the server computes it the way S3 does).
  Status confirm_completed() {
    S3Backend::Call call{"HEAD", full_key_, {}, {}, {}};
    CSNAP_ASSIGN_OR_RETURN(auto response, backend_.send(call));
    if (response.status == 404) {
      return Error(ErrorKind::not_found,
                   "the upload is gone and there is no object: it was aborted, not completed");
    }
    if (!response.ok())
      return backend_.error_for(call, response);
    auto size = parse_number<std::uint64_t>(header_or_empty(response, "Content-Length"));
    if (!size || *size != uploaded_bytes_) {
      return Error(ErrorKind::conflict,
                   fmt::format("the upload is gone and the object there has {} bytes, not the {} "
                               "of this upload",
                               header_or_empty(response, "Content-Length"), uploaded_bytes_));
    }
    std::string etag(header_or_empty(response, "ETag"));
    if (!s3_etag_matches_parts(etag, etags_)) {
      return Error(ErrorKind::conflict,
                   fmt::format("the upload is gone and the object there has ETag {}, which is not "
                               "that of this upload's {} parts",
                               etag, etags_.size()));
    }
    return {};
  }

  Status usable() const {
    if (failed_) {
      return Error(ErrorKind::internal,
                   fmt::format("upload of {} already failed", backend_.object_url(full_key_)));
    }
    if (completed_) {
      return Error(ErrorKind::internal,
                   fmt::format("upload of {} already finished", backend_.object_url(full_key_)));
    }
    return {};
  }

  Status check(const S3Backend::Call& call, const Result<http::Response>& response) {
    if (!response.ok())
      return response.error();
    if (!response->ok())
      return backend_.error_for(call, *response);
    return {};
  }

  Status upload_part() {
    if (next_part() > kS3MaxParts) {
      return fail(Error(ErrorKind::invalid_argument,
                        fmt::format("{} would need more than {} parts: raise the part size",
                                    backend_.object_url(full_key_), kS3MaxParts)));
    }
    if (upload_id_.empty()) {
      // Not retried once it may have reached the server: each CreateMultipartUpload starts a new
      // upload, and one whose answer was lost is found and aborted instead.
      S3Backend::Call call{
          "POST", full_key_, {{"uploads", ""}}, encryption_headers(backend_.options()), {}};
      call.headers.emplace_back("Content-Type", "application/octet-stream");
      auto response = backend_.send(call);
      if (auto status = check(call, response); !status.ok())
        return fail(abort_lost_uploads(response, std::move(status).error()));
      auto id = parse_initiate_multipart(response->body);
      if (!id.ok()) {
        return fail(abort_lost_uploads(
            response, std::move(id.error().add_context(backend_.object_url(full_key_)))));
      }
      upload_id_ = std::move(id).value();
    }
    S3Backend::Call call{"PUT",
                         full_key_,
                         {{"partNumber", std::to_string(next_part())}, {"uploadId", upload_id_}},
                         {{"Content-Type", "application/octet-stream"}},
                         {}};
    const std::size_t buffer_size = buffer_.size();
    call.body = std::move(buffer_);
    auto response = backend_.send(call);
    buffer_ = std::move(call.body);
    buffer_.clear();
    if (auto status = check(call, response); !status.ok())
      return fail(std::move(status).error());
    auto etag = header_or_empty(*response, "ETag");
    if (etag.empty()) {
      return fail(
          Error(ErrorKind::corrupt, fmt::format("PUT {} part {}: no ETag in the answer",
                                                backend_.object_url(full_key_), next_part())));
    }
    etags_.emplace_back(etag);
    uploaded_bytes_ += buffer_size;
    return {};
  }

  // After a failed CreateMultipartUpload that the server may have applied (no answer, a 5xx, an
  // answer without an UploadId): aborts the uploads of this key that it may have started, and
  // returns `error`. Backup keys are unique, so every pending upload of this key is ours.
  Error abort_lost_uploads(const Result<http::Response>& response, Error error) {
    bool refused = response.ok() && response->status >= 400 && response->status < 500;
    if (refused || error.kind() == ErrorKind::unavailable)
      return error;
    std::string message = error.message();
    auto pending = backend_.pending_uploads_of_full_key(full_key_);
    if (!pending.ok()) {
      message += fmt::format(" (an upload it may have started could not be looked for: {})",
                             pending.error().message());
      return Error(error.kind(), std::move(message));
    }
    for (const auto& upload_id : *pending) {
      auto aborted = backend_.abort_multipart_upload(full_key_, upload_id);
      if (!aborted.ok()) {
        message += fmt::format(" (the multipart upload {} it started could not be aborted: {})",
                               upload_id, aborted.error().message());
      }
    }
    return Error(error.kind(), std::move(message));
  }

  // Aborts the multipart upload so that no parts are left behind, and returns `error`.
  Error fail(Error error) {
    failed_ = true;
    buffer_.clear();
    buffer_.shrink_to_fit();
    if (!upload_id_.empty()) {
      auto aborted = abort();
      if (!aborted.ok()) {
        error.add_context(fmt::format("(the multipart upload {} could not be aborted: {})",
                                      upload_id_, aborted.error().message()));
      }
    }
    return error;
  }

  Status abort() {
    CSNAP_TRY(backend_.abort_multipart_upload(full_key_, upload_id_));
    upload_id_.clear();
    return {};
  }

  S3Backend& backend_;
  std::string full_key_;
  std::string buffer_;
  std::string upload_id_;
  std::vector<std::string> etags_;
  std::uint64_t uploaded_bytes_ = 0;  // in the parts of `etags_`
  bool completed_ = false;
  bool failed_ = false;
};

// Reads one version of an object in ranges of `download_chunk_size` bytes.
class S3ObjectSource final : public ByteSource {
 public:
  S3ObjectSource(S3Backend& backend, std::string full_key, std::string etag, std::uint64_t size,
                 std::uint64_t offset, std::string buffer)
      : backend_(backend),
        full_key_(std::move(full_key)),
        etag_(std::move(etag)),
        size_(size),
        offset_(offset),
        buffer_(std::move(buffer)) {}

  Result<std::size_t> read(std::span<std::byte> out) override {
    while (position_ == buffer_.size()) {
      if (offset_ >= size_)
        return std::size_t{0};
      CSNAP_TRY(fetch());
    }
    std::size_t count = std::min(out.size(), buffer_.size() - position_);
    std::copy_n(reinterpret_cast<const std::byte*>(buffer_.data() + position_), count, out.data());
    position_ += count;
    return count;
  }

 private:
  Status fetch() {
    std::uint64_t length =
        std::min<std::uint64_t>(backend_.options().download_chunk_size, size_ - offset_);
    S3Backend::Call call{"GET", full_key_, {}, {}, {}};
    call.headers.emplace_back("Range", fmt::format("bytes={}-{}", offset_, offset_ + length - 1));
    if (!etag_.empty())
      call.headers.emplace_back("If-Match", etag_);
    buffer_.clear();
    position_ = 0;
    BoundedStringSink sink(buffer_, length);
    http::StreamOptions stream{[this]() -> Status {
      buffer_.clear();
      return {};
    }};
    CSNAP_ASSIGN_OR_RETURN(auto response, backend_.send(call, &sink, stream));
    if (response.status == 412) {
      return Error(ErrorKind::conflict, fmt::format("GET {}: the object changed while being read",
                                                    backend_.object_url(full_key_)));
    }
    if (response.status != 206)
      return backend_.error_for(call, response);
    if (buffer_.size() != length) {
      return Error(ErrorKind::transient,
                   fmt::format("GET {}: got {} bytes of the {} asked for at offset {}",
                               backend_.object_url(full_key_), buffer_.size(), length, offset_));
    }
    offset_ += length;
    return {};
  }

  S3Backend& backend_;
  std::string full_key_;
  std::string etag_;
  std::uint64_t size_;
  std::uint64_t offset_;
  std::string buffer_;
  std::size_t position_ = 0;
};

// The total size in "bytes 0-99/1234".
std::optional<std::uint64_t> content_range_total(std::string_view header) {
  auto slash = header.rfind('/');
  if (slash == std::string_view::npos)
    return std::nullopt;
  return parse_number<std::uint64_t>(header.substr(slash + 1));
}

}  // namespace

std::size_t multipart_part_size(std::size_t base, int part_number) {
  int doublings = std::max(0, (part_number - 1) / 1000);
  std::size_t size = base;
  for (int i = 0; i < doublings && size < kMaxPartSize; ++i)
    size *= 2;
  return std::min(size, kMaxPartSize);
}

bool s3_etag_matches_parts(std::string_view etag, const std::vector<std::string>& part_etags) {
  auto unquote = [](std::string_view text) {
    text = trim(text);
    if (text.starts_with("W/"))
      text.remove_prefix(2);
    if (text.size() >= 2 && text.front() == '"' && text.back() == '"')
      text = text.substr(1, text.size() - 2);
    return text;
  };
  auto is_md5_hex = [](std::string_view text) {
    return text.size() == 32 && std::all_of(text.begin(), text.end(), [](char c) {
             return std::isxdigit(static_cast<unsigned char>(c)) != 0;
           });
  };
  etag = unquote(etag);
  auto dash = etag.rfind('-');
  if (dash == std::string_view::npos)
    return true;  // not S3's multipart form: nothing to compare beyond the size
  auto count = parse_number<std::size_t>(etag.substr(dash + 1));
  if (!count || *count != part_etags.size())
    return false;
  auto digest_hex = etag.substr(0, dash);
  std::string digests;  // the parts' MD5s, binary, in order
  for (const auto& part : part_etags) {
    auto hex = unquote(part);
    if (!is_md5_hex(hex) || !is_md5_hex(digest_hex))
      return true;  // the server's parts are not plain MD5s (SSE-KMS): the count has to do
    for (std::size_t i = 0; i < hex.size(); i += 2)
      digests.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  if (EVP_Digest(digests.data(), digests.size(), digest.data(), &length, EVP_md5(), nullptr) != 1)
    return false;
  std::string expected;
  for (unsigned int i = 0; i < length; ++i)
    expected += fmt::format("{:02x}", digest[i]);
  return to_lower(digest_hex) == expected;
}

std::string s3_encode_path(std::string_view key) {
  return http::percent_encode_path(key);
}

std::string s3_canonical_query(std::vector<std::pair<std::string, std::string>> parameters) {
  for (auto& [name, value] : parameters) {
    name = http::percent_encode_component(name);
    value = http::percent_encode_component(value);
  }
  std::sort(parameters.begin(), parameters.end());
  std::string out;
  for (const auto& [name, value] : parameters) {
    if (!out.empty())
      out.push_back('&');
    out += name;
    out.push_back('=');
    out += value;
  }
  return out;
}

Result<std::unique_ptr<S3Backend>> S3Backend::create(S3Options options) {
  if (options.bucket.empty())
    return Error(ErrorKind::invalid_argument, "S3 bucket name is empty");
  if (options.bucket.find('/') != std::string::npos) {
    return Error(ErrorKind::invalid_argument,
                 fmt::format("S3 bucket name '{}' contains '/'", options.bucket));
  }
  if (!options.credentials)
    return Error(ErrorKind::internal, "S3 backend created without a credentials provider");
  if (options.part_size == 0 || options.part_size > kMaxPartSize)
    return Error(ErrorKind::invalid_argument, "S3 part size must be between 1 byte and 5 GiB");
  if (options.download_chunk_size == 0 || options.list_page_size < 1)
    return Error(ErrorKind::invalid_argument, "S3 download chunk and list page must be positive");
  if (options.region.empty())
    options.region = "us-east-1";
  while (options.root.starts_with('/'))
    options.root.erase(0, 1);
  while (options.root.ends_with('/'))
    options.root.pop_back();
  if (!options.clock)
    options.clock = [] { return std::time(nullptr); };

  std::string endpoint = options.endpoint.empty()
                             ? fmt::format("https://s3.{}.amazonaws.com", options.region)
                             : options.endpoint;
  auto url = http::parse_url(endpoint, {.default_scheme = "https"});
  if (!url.ok()) {
    return std::move(url).error().add_context(
        fmt::format("S3 endpoint {}", http::redact_url(endpoint)));
  }
  if (url->has_credentials) {
    return Error(ErrorKind::invalid_argument,
                 "S3 endpoint must not carry credentials (use AWS_ACCESS_KEY_ID and friends)");
  }
  if (url->path != "/" || !url->query.empty() || url->has_fragment) {
    return Error(ErrorKind::invalid_argument,
                 fmt::format("S3 endpoint {} must not have a path", http::redact_url(endpoint)));
  }
  // libcurl leaves a default port out of the Host header; so does the signature.
  std::string authority = url->host;
  if (!url->port.empty() && url->port != (url->scheme == "https" ? "443" : "80"))
    authority += ":" + url->port;
  const std::string& scheme = url->scheme;
  bool path_style = false;
  switch (options.addressing) {
    case S3Addressing::path_style:
      path_style = true;
      break;
    case S3Addressing::virtual_hosted:
      path_style = false;
      break;
    case S3Addressing::automatic:
      path_style = !options.endpoint.empty() || !is_dns_safe_bucket(options.bucket);
      break;
  }
  std::string host = path_style ? authority : options.bucket + "." + authority;

  http::ClientOptions client_options;
  client_options.base_url = scheme + "://" + host;
  client_options.tls = options.tls;
  client_options.connect_timeout = options.connect_timeout;
  client_options.request_timeout = options.request_timeout;
  client_options.retry = options.retry;
  client_options.sleep = options.sleep;
  client_options.hints.unreachable = "check the S3 endpoint and region";
  CSNAP_ASSIGN_OR_RETURN(auto client, http::Client::create(std::move(client_options)));
  return std::unique_ptr<S3Backend>(
      new S3Backend(std::move(options), std::move(client), std::move(host), path_style));
}

S3Backend::S3Backend(S3Options options, std::unique_ptr<http::Client> client, std::string host,
                     bool path_style)
    : options_(std::move(options)),
      client_(std::move(client)),
      host_(std::move(host)),
      path_style_(path_style) {}

S3Backend::~S3Backend() = default;

std::string S3Backend::describe() const {
  std::string out = "s3://" + options_.bucket + "/" + options_.root;
  out += "?region=" + options_.region;
  if (!options_.endpoint.empty())
    out += "&endpoint=" + http::redact_url(options_.endpoint);
  return out;
}

std::string S3Backend::full_key(std::string_view key) const {
  return options_.root.empty() ? std::string(key) : options_.root + "/" + std::string(key);
}

std::string S3Backend::object_url(std::string_view full_key) const {
  return fmt::format("s3://{}/{}", options_.bucket, full_key);
}

Result<http::Response> S3Backend::send(Call& call, ByteSink* sink,
                                       const http::StreamOptions& stream) {
  std::string path = path_style_ ? "/" + s3_encode_path(options_.bucket) : std::string();
  if (!call.key.empty() || !path_style_)
    path += "/" + s3_encode_path(call.key);
  std::string query = s3_canonical_query(call.query);

  auto credentials = options_.credentials->fetch();
  if (!credentials.ok()) {
    return std::move(
        credentials.error().add_context(fmt::format("{} {}", call.method, object_url(call.key))));
  }
  std::time_t now = options_.clock();
  SigningInput input{call.method, path, query, {}, sha256_hex(call.body)};
  input.headers.emplace_back("host", host_);
  input.headers.emplace_back("x-amz-date", amz_date(now));
  input.headers.emplace_back("x-amz-content-sha256", input.payload_sha256);
  if (!credentials->session_token.empty())
    input.headers.emplace_back("x-amz-security-token", credentials->session_token.reveal());
  http::Request request;
  request.method = call.method;
  request.target = query.empty() ? path : path + "?" + query;
  request.idempotent = call.idempotent;
  request.max_attempts = call.max_attempts;
  for (const auto& [name, value] : call.headers) {
    if (to_lower(name).starts_with("x-amz-"))
      input.headers.emplace_back(name, value);
    request.headers.emplace_back(name, value);
  }
  request.headers.emplace_back("Host", host_);
  request.headers.emplace_back("x-amz-date", amz_date(now));
  request.headers.emplace_back("x-amz-content-sha256", input.payload_sha256);
  if (!credentials->session_token.empty())
    request.secret_headers.emplace_back("x-amz-security-token", credentials->session_token);
  request.secret_headers.emplace_back(
      "Authorization",
      Secret(authorization_header(input, {options_.region, "s3", now}, *credentials)));
  // The body is the large part of a request: lend it instead of copying it.
  request.body = std::move(call.body);
  std::lock_guard lock(mutex_);
  auto response =
      sink == nullptr ? client_->send(request) : client_->send_streaming(request, *sink, stream);
  call.body = std::move(request.body);
  if (!response.ok()) {
    return std::move(
        response.error().add_context(fmt::format("{} {}", call.method, object_url(call.key))));
  }
  return response;
}

Error S3Backend::error_for(const Call& call, const http::Response& response) const {
  std::string message =
      fmt::format("{} {}: {}", call.method, object_url(call.key), response.status);
  auto parsed = parse_s3_error(response.body);
  std::string code;
  if (parsed) {
    code = parsed->code;
    message += " " + parsed->code;
    if (!parsed->message.empty())
      message += ": " + parsed->message;
  } else {
    if (auto phrase = http::reason_phrase(response.status); !phrase.empty())
      message += fmt::format(" {}", phrase);
    std::string text(trim(response.body));
    if (text.size() > kMaxErrorText)
      text = text.substr(0, kMaxErrorText) + "...";
    if (!text.empty())
      message += ": " + text;
  }
  return Error(s3_error_kind(response.status, code), std::move(message));
}

Result<std::unique_ptr<Upload>> S3Backend::put(std::string_view key) {
  CSNAP_TRY(validate_key(key));
  return std::unique_ptr<Upload>(std::make_unique<S3Upload>(*this, full_key(key)));
}

Result<std::unique_ptr<ByteSource>> S3Backend::get(std::string_view key) {
  CSNAP_TRY(validate_key(key));
  std::string object = full_key(key);
  std::size_t chunk = options_.download_chunk_size;
  Call call{"GET", object, {}, {{"Range", fmt::format("bytes=0-{}", chunk - 1)}}, {}};
  std::string buffer;
  BoundedStringSink sink(buffer, chunk);
  http::StreamOptions stream{[&buffer]() -> Status {
    buffer.clear();
    return {};
  }};
  CSNAP_ASSIGN_OR_RETURN(auto response, send(call, &sink, stream));
  std::string etag(header_or_empty(response, "ETag"));
  if (response.status == 416) {
    // A range of an empty object cannot be satisfied: make sure that is what this is.
    CSNAP_ASSIGN_OR_RETURN(auto info, stat(key));
    if (info.size != 0)
      return error_for(call, response);
    return std::unique_ptr<ByteSource>(
        std::make_unique<S3ObjectSource>(*this, object, etag, 0, 0, std::string()));
  }
  if (response.status == 200) {  // the whole object, smaller than one chunk
    std::uint64_t size = buffer.size();
    return std::unique_ptr<ByteSource>(
        std::make_unique<S3ObjectSource>(*this, object, etag, size, size, std::move(buffer)));
  }
  if (response.status != 206)
    return error_for(call, response);
  auto total = content_range_total(header_or_empty(response, "Content-Range"));
  if (!total || *total < buffer.size()) {
    return Error(ErrorKind::corrupt,
                 fmt::format("GET {}: bad Content-Range '{}'", object_url(object),
                             header_or_empty(response, "Content-Range")));
  }
  std::uint64_t offset = buffer.size();
  return std::unique_ptr<ByteSource>(
      std::make_unique<S3ObjectSource>(*this, object, etag, *total, offset, std::move(buffer)));
}

Result<ObjectInfo> S3Backend::stat(std::string_view key) {
  CSNAP_TRY(validate_key(key));
  Call call{"HEAD", full_key(key), {}, {}, {}};
  CSNAP_ASSIGN_OR_RETURN(auto response, send(call));
  if (!response.ok())
    return error_for(call, response);
  auto size = parse_number<std::uint64_t>(header_or_empty(response, "Content-Length"));
  if (!size) {
    return Error(ErrorKind::corrupt,
                 fmt::format("HEAD {}: no Content-Length", object_url(call.key)));
  }
  auto modified = parse_http_date(header_or_empty(response, "Last-Modified"));
  return ObjectInfo{std::string(key), *size, modified ? modified->time_since_epoch().count() : 0};
}

Result<std::vector<ObjectInfo>> S3Backend::list(std::string_view prefix) {
  std::string root = options_.root.empty() ? std::string() : options_.root + "/";
  std::vector<ObjectInfo> out;
  std::optional<std::string> token;
  std::set<std::string> seen_tokens;
  do {
    Call call{"GET",
              {},
              {{"list-type", "2"},
               {"prefix", root + std::string(prefix)},
               {"max-keys", std::to_string(options_.list_page_size)}},
              {},
              {}};
    if (token)
      call.query.emplace_back("continuation-token", *token);
    CSNAP_ASSIGN_OR_RETURN(auto response, send(call));
    if (!response.ok())
      return error_for(call, response);
    auto page = parse_list_objects_v2(response.body);
    if (!page.ok())
      return std::move(page.error().add_context(fmt::format("listing {}", describe())));
    for (auto& object : page->objects) {
      if (!object.key.starts_with(root))
        continue;
      out.push_back({object.key.substr(root.size()), object.size, object.modified_unix});
    }
    if (page->next_continuation_token &&
        !seen_tokens.insert(*page->next_continuation_token).second) {
      return Error(ErrorKind::corrupt,
                   fmt::format("listing {}: the server sent continuation token {:?} twice; "
                               "stopping rather than listing forever",
                               describe(), *page->next_continuation_token));
    }
    token = std::move(page->next_continuation_token);
  } while (token);
  std::sort(out.begin(), out.end(),
            [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
  return out;
}

Status S3Backend::remove(std::string_view key) {
  // S3 answers 204 for a missing key too: ask first, so that every backend says not_found.
  CSNAP_TRY(stat(key));
  Call call{"DELETE", full_key(key), {}, {}, {}};
  CSNAP_ASSIGN_OR_RETURN(auto response, send(call));
  if (!response.ok())
    return error_for(call, response);
  return {};
}

Result<std::vector<S3MultipartUpload>> S3Backend::list_uploads(const std::string& full_prefix,
                                                               std::optional<int> max_attempts) {
  std::vector<S3MultipartUpload> out;
  std::optional<std::pair<std::string, std::string>> markers;
  std::set<std::pair<std::string, std::string>> seen_markers;
  do {
    Call call{"GET", {}, {{"uploads", ""}, {"prefix", full_prefix}}, {}, {}};
    call.max_attempts = max_attempts;
    if (markers) {
      call.query.emplace_back("key-marker", markers->first);
      call.query.emplace_back("upload-id-marker", markers->second);
    }
    CSNAP_ASSIGN_OR_RETURN(auto response, send(call));
    if (!response.ok())
      return error_for(call, response);
    auto page = parse_list_multipart_uploads(response.body);
    if (!page.ok()) {
      return std::move(
          page.error().add_context(fmt::format("listing the multipart uploads of {}", describe())));
    }
    for (auto& upload : page->uploads)
      out.push_back(std::move(upload));
    markers = std::move(page->next_key_and_upload_id);
    if (markers && !seen_markers.insert(*markers).second) {
      return Error(ErrorKind::corrupt,
                   fmt::format("listing the multipart uploads of {}: the server sent the markers "
                               "{:?}/{:?} twice; stopping rather than listing forever",
                               describe(), markers->first, markers->second));
    }
  } while (markers);
  return out;
}

Result<std::vector<PendingUpload>> S3Backend::pending_uploads(std::string_view prefix) {
  std::string root = options_.root.empty() ? std::string() : options_.root + "/";
  CSNAP_ASSIGN_OR_RETURN(auto uploads, list_uploads(root + std::string(prefix)));
  std::vector<PendingUpload> out;
  for (auto& upload : uploads) {
    if (upload.key.starts_with(root))
      out.push_back({upload.key.substr(root.size()), std::move(upload.upload_id)});
  }
  return out;
}

Result<std::vector<std::string>> S3Backend::pending_uploads_of_full_key(
    const std::string& full_key) {
  CSNAP_ASSIGN_OR_RETURN(auto uploads, list_uploads(full_key, kCleanupAttempts));
  std::vector<std::string> out;
  for (auto& upload : uploads) {
    if (upload.key == full_key)
      out.push_back(std::move(upload.upload_id));
  }
  return out;
}

Status S3Backend::abort_upload(const PendingUpload& upload) {
  return abort_multipart_upload(full_key(upload.key), upload.upload_id);
}

Status S3Backend::abort_multipart_upload(const std::string& full_key,
                                         const std::string& upload_id) {
  Call call{"DELETE", full_key, {{"uploadId", upload_id}}, {}, {}};
  call.max_attempts = kCleanupAttempts;
  CSNAP_ASSIGN_OR_RETURN(auto response, send(call));
  if (!response.ok() && response.status != 404)
    return error_for(call, response);
  return {};
}

Status S3Backend::create_bucket() {
  Call call{"PUT", {}, {}, {}, {}};
  if (options_.region != "us-east-1") {
    call.body = fmt::format(
        "<CreateBucketConfiguration><LocationConstraint>{}</LocationConstraint>"
        "</CreateBucketConfiguration>",
        options_.region);
  }
  CSNAP_ASSIGN_OR_RETURN(auto response, send(call));
  if (!response.ok())
    return error_for(call, response);
  return {};
}

}  // namespace csnap::storage
