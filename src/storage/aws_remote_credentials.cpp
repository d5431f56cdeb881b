#include "storage/aws_remote_credentials.hpp"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <pugixml.hpp>

#include "http/client.hpp"
#include "http/url.hpp"
#include "storage/s3_xml.hpp"
#include "util/file.hpp"
#include "util/log.hpp"
#include "util/text.hpp"
#include "util/time.hpp"

namespace csnap::storage {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kImdsEndpoint = "http://169.254.169.254";
constexpr std::string_view kImdsEndpointIpv6 = "http://[fd00:ec2::254]";
constexpr std::string_view kImdsTokenHeader = "X-aws-ec2-metadata-token";
constexpr std::string_view kImdsTtlHeader = "X-aws-ec2-metadata-token-ttl-seconds";
constexpr std::string_view kImdsRolePath = "/latest/meta-data/iam/security-credentials/";

Error nothing_found(std::string message) {
  return Error(ErrorKind::not_found, std::move(message));
}

// A service's failure must stop the chain: `not_found` would make it ask the next source.
ErrorKind failure_kind(long status) {
  auto kind = http::error_kind_for_status(status);
  return kind == ErrorKind::not_found ? ErrorKind::unavailable : kind;
}

// `url` parsed, with errors that name `what` (the variable or the endpoint it came from).
Result<http::Url> split_url(std::string_view url, std::string_view what) {
  auto parsed = http::parse_url(url);
  if (!parsed.ok()) {
    return Error(ErrorKind::invalid_argument,
                 fmt::format("{} '{}' is not a URL (expected http://host[:port]/path): {}", what,
                             http::redact_url(url), parsed.error().message()));
  }
  if (parsed->has_credentials) {
    return Error(ErrorKind::invalid_argument,
                 fmt::format("{} {} must name a host and carry no user or password", what,
                             http::redact_url(url)));
  }
  return std::move(parsed).value();
}

bool is_loopback_host(const std::string& host) {
  if (host == "localhost" || host == "::1")
    return true;
  return host.starts_with("127.") && std::all_of(host.begin(), host.end(), [](char c) {
           return c == '.' || std::isdigit(static_cast<unsigned char>(c)) != 0;
         });
}

// Plain http is only trusted to hosts that cannot be on the way to anywhere else: loopback and
// the addresses where ECS and EKS serve credentials.
bool trusted_plain_http_host(const std::string& host) {
  return is_loopback_host(host) || host == "169.254.170.2" || host == "169.254.170.23" ||
         host == "fd00:ec2::23";
}

bool has_line_break(std::string_view text) {
  return text.find_first_of("\r\n") != std::string_view::npos;
}

Result<std::unique_ptr<http::Client>> client_for(const std::string& base_url,
                                                 const RemoteCallOptions& options,
                                                 std::string hint) {
  http::ClientOptions client;
  client.base_url = base_url;
  client.connect_timeout = options.connect_timeout;
  client.request_timeout = options.request_timeout;
  client.retry.max_attempts = std::max(1, options.max_attempts);
  client.retry.max_total = std::chrono::milliseconds(
      (options.connect_timeout + options.request_timeout) * client.retry.max_attempts);
  client.hints.unreachable = std::move(hint);
  return http::Client::create(std::move(client));
}

std::string text_of(const pugi::xml_node& node, const char* child) {
  return std::string(trim(node.child(child).text().as_string()));
}

std::string without(std::string text, const std::string& secret) {
  if (secret.empty())
    return text;
  for (auto at = text.find(secret); at != std::string::npos; at = text.find(secret, at))
    text.replace(at, secret.size(), Secret::kRedacted);
  return text;
}

// "code: message" of a JSON error answer ({"code": .., "message": ..} in any case), if it is one.
std::optional<std::string> json_error(std::string_view body) {
  auto json = nlohmann::json::parse(body, nullptr, false);
  if (json.is_discarded() || !json.is_object())
    return std::nullopt;
  std::string code, message;
  for (const auto& [key, value] : json.items()) {
    if (!value.is_string())
      continue;
    if (to_lower(key) == "code")
      code = value.get<std::string>();
    else if (to_lower(key) == "message")
      message = value.get<std::string>();
  }
  if (code.empty() && message.empty())
    return std::nullopt;
  return code.empty() ? message : message.empty() ? code : code + ": " + message;
}

// Trims the token read from `path`; `variable` names the setting in errors.
Result<std::string> read_token_file(const std::string& path, std::string_view variable,
                                    std::string_view advice) {
  auto text = read_file(path);
  if (!text.ok()) {
    return Error(ErrorKind::invalid_argument,
                 fmt::format("{} names {}, which cannot be read ({}); {}", variable, path,
                             text.error().message(), advice));
  }
  std::string token(trim(*text));
  if (token.empty()) {
    return Error(ErrorKind::invalid_argument,
                 fmt::format("{} names {}, which is empty; {}", variable, path, advice));
  }
  log::register_secret(token);
  return token;
}

}  // namespace

std::string sts_endpoint_variable(const EnvironmentLookup& environment) {
  for (std::string_view name : {"AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL"}) {
    if (environment(name))
      return std::string(name);
  }
  return {};
}

std::string sts_endpoint(const EnvironmentLookup& environment, std::string_view region) {
  if (auto endpoint = first_set(environment, {"AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL"}))
    return *endpoint;
  if (region.empty())
    return "https://sts.amazonaws.com";
  return fmt::format("https://sts.{}.amazonaws.com", region);
}

std::optional<std::string> parse_sts_error(std::string_view xml) {
  pugi::xml_document document;
  if (!document.load_buffer(xml.data(), xml.size()))
    return std::nullopt;
  auto error = document.child("ErrorResponse").child("Error");
  if (!error)
    error = document.child("Error");
  if (!error)
    return std::nullopt;
  std::string code = text_of(error, "Code");
  std::string message = text_of(error, "Message");
  if (code.empty() && message.empty())
    return std::nullopt;
  return message.empty() ? code : code + ": " + message;
}

Result<AwsCredentials> parse_web_identity_response(std::string_view xml) {
  pugi::xml_document document;
  auto parsed = document.load_buffer(xml.data(), xml.size());
  if (!parsed) {
    return Error(ErrorKind::corrupt,
                 fmt::format("malformed AssumeRoleWithWebIdentity XML from STS: {} at offset {}",
                             parsed.description(), parsed.offset));
  }
  auto credentials_node = document.child("AssumeRoleWithWebIdentityResponse")
                              .child("AssumeRoleWithWebIdentityResult")
                              .child("Credentials");
  if (!credentials_node)
    return Error(ErrorKind::corrupt, "STS answer has no AssumeRoleWithWebIdentityResult");
  AwsCredentials credentials;
  credentials.access_key_id = text_of(credentials_node, "AccessKeyId");
  credentials.secret_access_key = Secret(text_of(credentials_node, "SecretAccessKey"));
  credentials.session_token = Secret(text_of(credentials_node, "SessionToken"));
  for (auto [value, name] : {std::pair{credentials.access_key_id.empty(), "AccessKeyId"},
                             std::pair{credentials.secret_access_key.empty(), "SecretAccessKey"},
                             std::pair{credentials.session_token.empty(), "SessionToken"}}) {
    if (value)
      return Error(ErrorKind::corrupt, fmt::format("STS answer has no {}", name));
  }
  auto expiration = parse_rfc3339(text_of(credentials_node, "Expiration"));
  if (!expiration)
    return Error(ErrorKind::corrupt, "STS answer has no valid Expiration");
  credentials.expires = *expiration;
  register_secrets(credentials);
  return credentials;
}

Result<AwsCredentials> parse_credentials_json(std::string_view json, std::string_view what,
                                              std::chrono::system_clock::time_point now) {
  // The text is never quoted in errors: it holds the secret.
  auto document = nlohmann::json::parse(json, nullptr, false);
  if (document.is_discarded() || !document.is_object())
    return Error(ErrorKind::corrupt, fmt::format("{} answered something that is not JSON", what));
  auto string_field = [&](const char* name) -> std::string {
    auto it = document.find(name);
    return it != document.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  std::string code = string_field("Code");
  if (!code.empty() && code != "Success") {
    std::string message = string_field("Message");
    return Error(ErrorKind::unauthenticated,
                 fmt::format("{} answered Code {}{}", what, code,
                             message.empty() ? std::string() : ": " + message));
  }
  AwsCredentials credentials;
  credentials.access_key_id = string_field("AccessKeyId");
  credentials.secret_access_key = Secret(string_field("SecretAccessKey"));
  credentials.session_token = Secret(string_field("Token"));
  register_secrets(credentials);
  if (credentials.access_key_id.empty() || credentials.secret_access_key.empty()) {
    return Error(
        ErrorKind::corrupt,
        fmt::format("{} answered without {}", what,
                    credentials.access_key_id.empty() ? "AccessKeyId" : "SecretAccessKey"));
  }
  std::string expiration = string_field("Expiration");
  if (expiration.empty()) {
    credentials.expires = now + 15min;
  } else {
    auto parsed = parse_rfc3339(expiration);
    if (!parsed) {
      return Error(
          ErrorKind::corrupt,
          fmt::format("{} answered an Expiration that is not a time: '{}'", what, expiration));
    }
    credentials.expires = *parsed;
  }
  return credentials;
}

Result<AwsCredentials> assume_role_with_web_identity(const WebIdentitySettings& settings,
                                                     const RemoteCallOptions& options) {
  CSNAP_ASSIGN_OR_RETURN(
      auto token,
      read_token_file(settings.token_file, settings.token_file_origin,
                      "it must hold the OIDC token that the platform issues for the pod or job"));
  std::string session_name = settings.session_name.empty()
                                 ? fmt::format("consul-snapshot-{}", std::time(nullptr))
                                 : settings.session_name;
  std::string origin =
      settings.endpoint_origin.empty() ? "the STS endpoint" : settings.endpoint_origin;
  CSNAP_ASSIGN_OR_RETURN(auto url, split_url(settings.endpoint, origin));
  if (url.scheme == "http" && !is_loopback_host(url.bare_host())) {
    return Error(ErrorKind::invalid_argument,
                 fmt::format("{} is {}, plain http to {}: the web identity token and the "
                             "credentials STS returns would cross the network unencrypted; use "
                             "https (plain http only to a loopback address)",
                             origin, http::redact_url(settings.endpoint), url.bare_host()));
  }
  CSNAP_ASSIGN_OR_RETURN(auto client,
                         client_for(url.origin(), options,
                                    "check AWS_ENDPOINT_URL_STS or AWS_REGION and the network"));
  http::Request request;
  request.method = "POST";
  request.target = url.target();
  // AssumeRoleWithWebIdentity hands out new credentials each time and changes nothing.
  request.idempotent = true;
  request.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded; charset=utf-8");
  request.headers.emplace_back("Accept", "text/xml");
  // The body carries the token; the HTTP client logs the target only.
  request.body = fmt::format(
      "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn={}&RoleSessionName={}"
      "&WebIdentityToken={}",
      http::percent_encode_component(settings.role_arn),
      http::percent_encode_component(session_name), http::percent_encode_component(token));
  std::string what = fmt::format("STS AssumeRoleWithWebIdentity for {} at {}", settings.role_arn,
                                 http::redact_url(settings.endpoint));
  auto response = client->send(request);
  if (!response.ok())
    return std::move(response.error().add_context(what));
  if (!response->ok()) {
    auto detail = parse_sts_error(response->body);
    std::string message = fmt::format("{}: HTTP {}{}", what, response->status,
                                      detail ? ": " + without(*detail, token) : std::string());
    return Error(failure_kind(response->status), std::move(message));
  }
  auto credentials = parse_web_identity_response(response->body);
  if (!credentials.ok())
    return std::move(credentials.error().add_context(what));
  credentials->source = fmt::format("web identity ({} as {})", settings.role_arn, session_name);
  return credentials;
}

WebIdentityCredentialsProvider::WebIdentityCredentialsProvider(EnvironmentLookup environment,
                                                               std::string region,
                                                               RemoteCallOptions options)
    : environment_(std::move(environment)), region_(std::move(region)), options_(options) {}

Result<AwsCredentials> WebIdentityCredentialsProvider::fetch() {
  auto token_file = environment_("AWS_WEB_IDENTITY_TOKEN_FILE");
  if (!token_file)
    return nothing_found("AWS_WEB_IDENTITY_TOKEN_FILE is not set");
  auto role_arn = environment_("AWS_ROLE_ARN");
  if (!role_arn) {
    return Error(ErrorKind::invalid_argument,
                 "AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not: set the ARN of the "
                 "role to assume");
  }
  std::string region = region_;
  if (region.empty())
    region = first_set(environment_, {"AWS_REGION", "AWS_DEFAULT_REGION"}).value_or("");
  WebIdentitySettings settings;
  settings.token_file = *token_file;
  settings.role_arn = *role_arn;
  settings.session_name = environment_("AWS_ROLE_SESSION_NAME").value_or("");
  settings.endpoint = sts_endpoint(environment_, region);
  settings.endpoint_origin = sts_endpoint_variable(environment_);
  return assume_role_with_web_identity(settings, options_);
}

ContainerCredentialsProvider::ContainerCredentialsProvider(EnvironmentLookup environment,
                                                           ContainerCredentialsOptions options)
    : environment_(std::move(environment)), options_(std::move(options)) {}

Result<AwsCredentials> ContainerCredentialsProvider::fetch() {
  auto relative = environment_("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
  auto full = environment_("AWS_CONTAINER_CREDENTIALS_FULL_URI");
  if (!relative && !full) {
    return nothing_found(
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and AWS_CONTAINER_CREDENTIALS_FULL_URI are not "
        "set");
  }
  std::string variable =
      relative ? "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI" : "AWS_CONTAINER_CREDENTIALS_FULL_URI";
  std::string url =
      relative ? options_.relative_uri_base + (relative->starts_with('/') ? "" : "/") + *relative
               : *full;
  CSNAP_ASSIGN_OR_RETURN(auto parts, split_url(url, variable));
  if (full && !relative && parts.scheme == "http" && !trusted_plain_http_host(parts.bare_host())) {
    return Error(ErrorKind::invalid_argument,
                 fmt::format("AWS_CONTAINER_CREDENTIALS_FULL_URI points at {} over plain http; use "
                             "https, or a loopback address, 169.254.170.2 or 169.254.170.23",
                             parts.bare_host()));
  }

  Secret authorization;
  if (auto token_file = environment_("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")) {
    CSNAP_ASSIGN_OR_RETURN(auto token,
                           read_token_file(*token_file, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
                                           "it must hold the container's token"));
    authorization = Secret(std::move(token));
  } else if (auto token = environment_("AWS_CONTAINER_AUTHORIZATION_TOKEN")) {
    log::register_secret(*token);
    authorization = Secret(*token);
  }
  if (has_line_break(authorization.reveal())) {
    return Error(ErrorKind::invalid_argument,
                 "the container authorization token contains a line break; check "
                 "AWS_CONTAINER_AUTHORIZATION_TOKEN(_FILE)");
  }

  // The path may identify the task: messages and logs show the host only.
  std::string what = fmt::format("container credentials at {}", parts.origin());
  CSNAP_ASSIGN_OR_RETURN(
      auto client, client_for(parts.origin(), options_.call, fmt::format("check {}", variable)));
  http::Request request;
  request.target = parts.target();
  request.headers.emplace_back("Accept", "application/json");
  if (!authorization.empty())
    request.secret_headers.emplace_back("Authorization", authorization);
  auto response = client->send(request);
  if (!response.ok())
    return std::move(response.error().add_context(what));
  if (!response->ok()) {
    auto detail = json_error(response->body);
    return Error(
        failure_kind(response->status),
        fmt::format("{}: HTTP {}{}", what, response->status,
                    detail ? ": " + without(*detail, authorization.reveal()) : std::string()));
  }
  CSNAP_ASSIGN_OR_RETURN(
      auto credentials,
      parse_credentials_json(response->body, what, std::chrono::system_clock::now()));
  credentials.source = fmt::format("container credentials ({})", parts.origin());
  return credentials;
}

InstanceProfileCredentialsProvider::InstanceProfileCredentialsProvider(
    EnvironmentLookup environment, InstanceMetadataOptions options)
    : environment_(std::move(environment)), options_(std::move(options)) {
  if (!options_.now)
    options_.now = [] { return std::chrono::steady_clock::now(); };
}

Result<std::string> InstanceProfileCredentialsProvider::session_token(const std::string& endpoint,
                                                                      bool renew) {
  if (!renew && endpoint == token_endpoint_ && !token_.empty() && options_.now() < token_renew_at_)
    return token_.reveal();
  token_ = Secret();
  CSNAP_ASSIGN_OR_RETURN(
      auto client,
      client_for(endpoint, options_.call, "not on EC2, or set AWS_EC2_METADATA_SERVICE_ENDPOINT"));
  http::Request request;
  request.method = "PUT";
  request.target = "/latest/api/token";
  request.headers.emplace_back(std::string(kImdsTtlHeader),
                               std::to_string(options_.token_ttl.count()));
  auto started = options_.now();
  auto response = client->send(request);
  if (!response.ok()) {
    auto kind = response.error().kind();
    if (kind == ErrorKind::unavailable || kind == ErrorKind::transient) {
      return nothing_found(fmt::format("no EC2 instance metadata service answered at {} ({})",
                                       endpoint, response.error().message()));
    }
    return std::move(response.error().add_context("EC2 instance metadata session token"));
  }
  if (response->status == 403 || response->status == 404 || response->status == 405) {
    // Not an IMDSv2 endpoint, or the instance has its metadata service turned off.
    return nothing_found(fmt::format(
        "the EC2 instance metadata service at {} refused an IMDSv2 session token (HTTP {})",
        endpoint, response->status));
  }
  if (!response->ok()) {
    return Error(failure_kind(response->status),
                 fmt::format("EC2 instance metadata at {}: PUT /latest/api/token: HTTP {}",
                             endpoint, response->status));
  }
  std::string token(trim(response->body));
  if (token.empty() || has_line_break(token)) {
    return Error(
        ErrorKind::corrupt,
        fmt::format("EC2 instance metadata at {} answered an unusable session token", endpoint));
  }
  log::register_secret(token);
  // Renew a little before the service forgets it: a tenth of its life, at most a minute early.
  auto ttl = std::chrono::duration_cast<std::chrono::milliseconds>(options_.token_ttl);
  token_renew_at_ = started + ttl - std::min<std::chrono::milliseconds>(ttl / 10, 60s);
  token_endpoint_ = endpoint;
  token_ = Secret(token);
  return token;
}

Result<AwsCredentials> InstanceProfileCredentialsProvider::fetch() {
  auto disabled = environment_("AWS_EC2_METADATA_DISABLED");
  if (disabled && to_lower(trim(*disabled)) == "true")
    return nothing_found("AWS_EC2_METADATA_DISABLED is true");
  std::string endpoint = environment_("AWS_EC2_METADATA_SERVICE_ENDPOINT").value_or("");
  if (endpoint.empty()) {
    auto mode = environment_("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
    endpoint = mode && to_lower(*mode) == "ipv6" ? kImdsEndpointIpv6 : kImdsEndpoint;
  }
  CSNAP_ASSIGN_OR_RETURN(auto parts, split_url(endpoint, "AWS_EC2_METADATA_SERVICE_ENDPOINT"));
  endpoint = parts.origin();

  std::lock_guard lock(mutex_);
  CSNAP_ASSIGN_OR_RETURN(
      auto client,
      client_for(endpoint, options_.call, "not on EC2, or set AWS_EC2_METADATA_SERVICE_ENDPOINT"));
  // GETs `target` with the session token; a 401 (the token expired early or the service
  // restarted) gets one new token and one more try.
  auto get = [&](const std::string& target) -> Result<http::Response> {
    for (int attempt = 0;; ++attempt) {
      CSNAP_ASSIGN_OR_RETURN(auto token, session_token(endpoint, attempt > 0));
      http::Request request;
      request.target = target;
      request.secret_headers.emplace_back(std::string(kImdsTokenHeader), Secret(token));
      CSNAP_ASSIGN_OR_RETURN(auto response, client->send(request));
      if (response.status == 401 && attempt == 0) {
        log::debug("aws credentials: instance metadata refused the session token, renewing it");
        continue;
      }
      return response;
    }
  };
  auto failure = [&](const http::Request& request, const http::Response& response) {
    return Error(failure_kind(response.status),
                 fmt::format("EC2 instance metadata at {}: GET {}: HTTP {}", endpoint,
                             request.target, response.status));
  };

  http::Request roles{.target = std::string(kImdsRolePath)};
  CSNAP_ASSIGN_OR_RETURN(auto role_list, get(roles.target));
  if (role_list.status == 404) {
    return nothing_found(fmt::format(
        "this EC2 instance has no IAM role (instance metadata at {} lists none)", endpoint));
  }
  if (!role_list.ok())
    return failure(roles, role_list);
  std::string role(trim(std::string_view(role_list.body).substr(0, role_list.body.find('\n'))));
  if (role.empty()) {
    return nothing_found(fmt::format(
        "this EC2 instance has no IAM role (instance metadata at {} lists none)", endpoint));
  }

  http::Request role_credentials{.target =
                                     std::string(kImdsRolePath) + http::percent_encode_path(role)};
  CSNAP_ASSIGN_OR_RETURN(auto answer, get(role_credentials.target));
  if (!answer.ok())
    return failure(role_credentials, answer);
  std::string what = fmt::format("EC2 instance metadata at {} for role {}", endpoint, role);
  CSNAP_ASSIGN_OR_RETURN(
      auto credentials,
      parse_credentials_json(answer.body, what, std::chrono::system_clock::now()));
  credentials.source = fmt::format("instance profile {} ({})", role, endpoint);
  return credentials;
}

}  // namespace csnap::storage
