#include "storage/registry.hpp"

#include <fmt/format.h>

#include "http/url.hpp"
#include "storage/local.hpp"
#include "storage/s3.hpp"
#include "util/text.hpp"

namespace csnap::storage {
namespace {

constexpr std::string_view kDefaultLocalDir = "consul-snapshots";

Error bad(std::string message) {
  return Error(ErrorKind::invalid_argument, std::move(message));
}

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

Result<std::string> percent_decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    if (i + 2 >= text.size() || hex_value(text[i + 1]) < 0 || hex_value(text[i + 2]) < 0)
      return bad(fmt::format("bad percent escape in storage URL part '{}'", text));
    int high = hex_value(text[i + 1]);
    int low = hex_value(text[i + 2]);
    out.push_back(static_cast<char>(high * 16 + low));
    i += 2;
  }
  return out;
}

Result<bool> parse_url_bool(std::string_view name, std::string_view value) {
  if (auto parsed = parse_bool(value))
    return *parsed;
  return bad(fmt::format("storage URL parameter {} must be true or false, not '{}'", name, value));
}

Result<std::unique_ptr<Backend>> open_s3(const StorageSettings& settings,
                                         const OpenOptions& options) {
  S3Options s3;
  s3.bucket = settings.s3_bucket;
  s3.root = settings.s3_prefix;
  s3.endpoint =
      settings.s3_endpoint.empty()
          ? first_set(options.environment, {"AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"}).value_or("")
          : settings.s3_endpoint;
  auto profile = ProfileOptions::from_environment(options.environment);
  if (!settings.aws_profile.empty())
    profile.profile = settings.aws_profile;
  s3.region =
      settings.s3_region.empty()
          ? first_set(options.environment, {"AWS_REGION", "AWS_DEFAULT_REGION"}).value_or("")
          : settings.s3_region;
  if (s3.region.empty())
    s3.region = profile_region(profile).value_or("us-east-1");
  CSNAP_ASSIGN_OR_RETURN(s3.sse, parse_sse(settings.s3_sse, settings.s3_sse_kms_key_id));
  s3.sse_kms_key_id = settings.s3_sse_kms_key_id;
  if (settings.s3_force_path_style) {
    s3.addressing =
        *settings.s3_force_path_style ? S3Addressing::path_style : S3Addressing::virtual_hosted;
  }
  if (settings.request_timeout.count() > 0)
    s3.request_timeout = settings.request_timeout;
  if (settings.s3_part_size != 0) {
    if (settings.s3_part_size < kS3MinPartSize)
      return bad("the S3 part size must be at least 5 MiB");
    s3.part_size = settings.s3_part_size;
  }
  if (options.credentials) {
    s3.credentials = options.credentials;
  } else {
    DefaultChainOptions chain;
    if (!settings.aws_access_key_id.empty() || !settings.aws_secret_access_key.empty()) {
      if (settings.aws_access_key_id.empty() || settings.aws_secret_access_key.empty())
        return bad("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together");
      chain.static_credentials =
          AwsCredentials{settings.aws_access_key_id, settings.aws_secret_access_key,
                         settings.aws_session_token, std::nullopt, "configuration"};
    }
    chain.profile = settings.aws_profile;
    chain.region = s3.region;  // web identity asks STS in the bucket's region
    s3.credentials = default_credentials_chain(options.environment, std::move(chain));
  }
  CSNAP_ASSIGN_OR_RETURN(auto backend, S3Backend::create(std::move(s3)));
  return std::unique_ptr<Backend>(std::move(backend));
}

}  // namespace

Result<S3Encryption> parse_sse(std::string_view value, std::string_view kms_key_id) {
  auto lower = to_lower(trim(value));
  if (lower.empty() || lower == "none") {
    if (!kms_key_id.empty()) {
      return bad(
          "CONSUL_SNAPSHOT_S3_SSE_KMS_KEY_ID is set but CONSUL_SNAPSHOT_S3_SSE is not aws:kms");
    }
    return S3Encryption::none;
  }
  if (lower == "aes256") {
    if (!kms_key_id.empty()) {
      return bad(
          "CONSUL_SNAPSHOT_S3_SSE_KMS_KEY_ID is set but CONSUL_SNAPSHOT_S3_SSE is not aws:kms");
    }
    return S3Encryption::aes256;
  }
  if (lower == "aws:kms" || lower == "kms")
    return S3Encryption::kms;
  return bad(fmt::format("CONSUL_SNAPSHOT_S3_SSE must be AES256 or aws:kms, not '{}'", value));
}

Result<StorageSettings> apply_storage_url(std::string_view url, StorageSettings base) {
  auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos)
    return bad(fmt::format("storage URL '{}' has no scheme (use s3:// or file://)", url));
  if (to_lower(url.substr(0, scheme_end)) == "file") {
    // Not parsed as a URL: file://relative/path is a path, not a host.
    std::string_view rest = url.substr(scheme_end + 3);
    std::string_view query;
    if (auto question = rest.find('?'); question != std::string_view::npos) {
      query = rest.substr(question + 1);
      rest = rest.substr(0, question);
    }
    if (!query.empty())
      return bad(fmt::format("file storage URL '{}' takes no parameters", url));
    // file:///abs/path, file://localhost/abs/path, and file://relative/path for convenience.
    if (rest.starts_with("localhost/"))
      rest.remove_prefix(9);
    CSNAP_ASSIGN_OR_RETURN(auto path, percent_decode(rest));
    if (path.empty())
      return bad(fmt::format("file storage URL '{}' has no path", url));
    base.local_dir = std::move(path);
    base.s3_bucket.clear();
    return base;
  }
  auto parsed =
      http::parse_url(url, {.schemes = {"s3"}, .host_name = "bucket", .literal_path = true});
  if (!parsed.ok()) {
    return bad(fmt::format("storage URL '{}': {} (use s3://bucket/prefix or file:///path)", url,
                           parsed.error().message()));
  }
  if (!parsed->port.empty() || parsed->has_credentials || parsed->has_fragment)
    return bad(fmt::format("storage URL '{}' must be s3://bucket/prefix?parameters", url));
  CSNAP_ASSIGN_OR_RETURN(base.s3_bucket, percent_decode(parsed->host));
  CSNAP_ASSIGN_OR_RETURN(base.s3_prefix, percent_decode(std::string_view(parsed->path).substr(1)));
  while (base.s3_prefix.ends_with('/'))
    base.s3_prefix.pop_back();
  std::string_view query = parsed->query;
  while (!query.empty()) {
    auto amp = query.find('&');
    auto pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty())
      continue;
    auto equals = pair.find('=');
    std::string name(pair.substr(0, equals));
    CSNAP_ASSIGN_OR_RETURN(
        auto value,
        percent_decode(equals == std::string_view::npos ? "" : pair.substr(equals + 1)));
    if (name == "region") {
      base.s3_region = value;
    } else if (name == "endpoint") {
      base.s3_endpoint = value;
    } else if (name == "sse") {
      base.s3_sse = value;
    } else if (name == "sse_kms_key_id" || name == "kms_key_id") {
      base.s3_sse_kms_key_id = value;
    } else if (name == "path_style" || name == "force_path_style") {
      CSNAP_ASSIGN_OR_RETURN(base.s3_force_path_style, parse_url_bool(name, value));
    } else {
      return bad(fmt::format(
          "unknown storage URL parameter '{}' (known: region, endpoint, sse, sse_kms_key_id, "
          "path_style)",
          name));
    }
  }
  return base;
}

Result<std::unique_ptr<Backend>> open_backend(const StorageSettings& settings,
                                              const OpenOptions& options) {
  StorageSettings effective = settings;
  if (!settings.url.empty()) {
    auto applied = apply_storage_url(settings.url, settings);
    if (!applied.ok())
      return std::move(applied).error();
    effective = std::move(applied).value();
    if (to_lower(settings.url).starts_with("file://"))
      return std::unique_ptr<Backend>(std::make_unique<LocalBackend>(effective.local_dir));
  }
  if (!effective.s3_bucket.empty())
    return open_s3(effective, options);
  return std::unique_ptr<Backend>(std::make_unique<LocalBackend>(
      effective.local_dir.empty() ? std::string(kDefaultLocalDir) : effective.local_dir));
}

}  // namespace csnap::storage
