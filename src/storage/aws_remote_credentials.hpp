#pragma once
// AWS credentials that a service hands out, after the environment and the shared files in the
// SDKs' chain: STS AssumeRoleWithWebIdentity (a web identity token file and a role), the container
// credentials endpoint (ECS task roles, EKS Pod Identity) and the EC2 instance metadata service
// over IMDSv2. All of them are temporary and carry an expiry; CachedCredentials refreshes them.

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "storage/aws_credentials.hpp"
#include "util/result.hpp"
#include "util/secret.hpp"

namespace csnap::storage {

// How long one call to a credentials service may take. Short, so that a machine without the
// service gives up quickly.
struct RemoteCallOptions {
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds request_timeout{5000};
  int max_attempts = 3;
};

// One AssumeRoleWithWebIdentity call.
struct WebIdentitySettings {
  std::string token_file;  // read again on every call: the platform rotates it
  std::string role_arn;
  std::string session_name;  // empty: "consul-snapshot-<unix time>"
  std::string endpoint;      // the STS base URL: "https://sts.eu-west-1.amazonaws.com"
  // The variable that set `endpoint`, for messages; empty for STS's own https endpoint.
  std::string endpoint_origin{};
  // Where the settings came from, for messages: "AWS_WEB_IDENTITY_TOKEN_FILE" or
  // "web_identity_token_file of profile 'ci'".
  std::string token_file_origin = "AWS_WEB_IDENTITY_TOKEN_FILE";
};

// AWS_ENDPOINT_URL_STS, else AWS_ENDPOINT_URL, else https://sts.<region>.amazonaws.com (the global
// https://sts.amazonaws.com without a region).
std::string sts_endpoint(const EnvironmentLookup& environment, std::string_view region);
// The variable `sts_endpoint` takes the endpoint from ("AWS_ENDPOINT_URL_STS"), "" for none.
std::string sts_endpoint_variable(const EnvironmentLookup& environment);

// Exchanges the token in `settings.token_file` for temporary credentials (an unsigned STS call);
// STS's error code and message appear in the error, the token never does. The token and the
// credentials travel over plain http only to a loopback address (a local emulator): another
// http endpoint is an error naming `settings.endpoint_origin`.
Result<AwsCredentials> assume_role_with_web_identity(const WebIdentitySettings& settings,
                                                     const RemoteCallOptions& options = {});

// The credentials of an AssumeRoleWithWebIdentityResponse; `corrupt` when they are not there.
Result<AwsCredentials> parse_web_identity_response(std::string_view xml);

// "Code: Message" of an STS ErrorResponse, if `xml` is one.
std::optional<std::string> parse_sts_error(std::string_view xml);

// AccessKeyId, SecretAccessKey, Token and Expiration of a container or instance metadata answer
// (the same JSON shape); `what` names the source in errors. A Code other than "Success" is an
// error. Without an Expiration the credentials are treated as good for 15 minutes from `now`.
Result<AwsCredentials> parse_credentials_json(std::string_view json, std::string_view what,
                                              std::chrono::system_clock::time_point now);

// AWS_WEB_IDENTITY_TOKEN_FILE with AWS_ROLE_ARN (and AWS_ROLE_SESSION_NAME); `not_found` when the
// token file is not set, an error when only one of the two is.
class WebIdentityCredentialsProvider final : public CredentialsProvider {
 public:
  // `region` picks the STS endpoint when no endpoint variable is set; empty: AWS_REGION, then
  // AWS_DEFAULT_REGION.
  explicit WebIdentityCredentialsProvider(EnvironmentLookup environment, std::string region = {},
                                          RemoteCallOptions options = {});
  Result<AwsCredentials> fetch() override;
  std::string name() const override { return "web identity"; }

 private:
  EnvironmentLookup environment_;
  std::string region_;
  RemoteCallOptions options_;
};

// AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (on 169.254.170.2) or AWS_CONTAINER_CREDENTIALS_FULL_URI,
// with AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (read on every call) or
// AWS_CONTAINER_AUTHORIZATION_TOKEN as the Authorization header. A full URI over plain http must
// point at a loopback address or at the ECS or EKS credentials address.
struct ContainerCredentialsOptions {
  RemoteCallOptions call{};
  // Where a relative URI points; tests put a loopback server here.
  std::string relative_uri_base = "http://169.254.170.2";
};

class ContainerCredentialsProvider final : public CredentialsProvider {
 public:
  explicit ContainerCredentialsProvider(EnvironmentLookup environment,
                                        ContainerCredentialsOptions options = {});
  Result<AwsCredentials> fetch() override;
  std::string name() const override { return "container credentials"; }

 private:
  EnvironmentLookup environment_;
  ContainerCredentialsOptions options_;
};

struct InstanceMetadataOptions {
  RemoteCallOptions call{std::chrono::milliseconds(1000), std::chrono::milliseconds(2000), 2};
  // Lifetime asked for each IMDSv2 session token; a new one is fetched shortly before it ends.
  std::chrono::seconds token_ttl{21600};
  // For tests: the clock that ages the session token.
  std::function<std::chrono::steady_clock::time_point()> now{};
};

// The EC2 instance profile's role credentials over IMDSv2: a session token (PUT /latest/api/token),
// then the role name and the role's credentials. The endpoint is AWS_EC2_METADATA_SERVICE_ENDPOINT
// (default http://169.254.169.254, or http://[fd00:ec2::254] with
// AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv6); AWS_EC2_METADATA_DISABLED=true turns it off. No
// answer from the endpoint is `not_found`. Thread-safe.
class InstanceProfileCredentialsProvider final : public CredentialsProvider {
 public:
  explicit InstanceProfileCredentialsProvider(EnvironmentLookup environment,
                                              InstanceMetadataOptions options = {});
  Result<AwsCredentials> fetch() override;
  std::string name() const override { return "instance profile"; }

 private:
  Result<std::string> session_token(const std::string& endpoint, bool renew);

  EnvironmentLookup environment_;
  InstanceMetadataOptions options_;
  std::mutex mutex_;
  std::string token_endpoint_;  // where `token_` came from
  Secret token_;
  std::chrono::steady_clock::time_point token_renew_at_{};
};

}  // namespace csnap::storage
