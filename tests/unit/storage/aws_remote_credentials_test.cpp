// The service-backed credential sources against in-process HTTP servers: STS
// AssumeRoleWithWebIdentity, the container credentials endpoint and IMDSv2. (The integration tests
// run web identity against moto and IMDSv2 against amazon-ec2-metadata-mock.)

#include "storage/aws_remote_credentials.hpp"

#include <atomic>
#include <map>
#include <mutex>
#include <vector>

#include <gtest/gtest.h>

#include "../http/fake_http.hpp"
#include "captured_log.hpp"
#include "fake_environment.hpp"
#include "temp_dir.hpp"

namespace csnap::storage {
namespace {

using namespace std::chrono_literals;
using ::csnap::test_common::fake_environment;
using ::csnap::test_common::TempDir;

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

// Quick to give up: the tests' servers answer at once or not at all.
RemoteCallOptions quick() {
  return {std::chrono::milliseconds(1000), std::chrono::milliseconds(3000), 1};
}

std::string sts_answer(const std::string& key, const std::string& expiration) {
  return "<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
         "<AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>" +
         key +
         "</AccessKeyId><SecretAccessKey>sts-secret</SecretAccessKey>"
         "<SessionToken>sts-session</SessionToken><Expiration>" +
         expiration +
         "</Expiration></Credentials></AssumeRoleWithWebIdentityResult>"
         "</AssumeRoleWithWebIdentityResponse>";
}

TEST(WebIdentityParsing, ReadsCredentialsAndExpiration) {
  auto parsed = parse_web_identity_response(sts_answer("ASIAKEY", "2026-11-27T17:06:41.438003Z"));
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  EXPECT_EQ(parsed->access_key_id, "ASIAKEY");
  EXPECT_EQ(parsed->secret_access_key.reveal(), "sts-secret");
  EXPECT_EQ(parsed->session_token.reveal(), "sts-session");
  ASSERT_TRUE(parsed->expires);
  EXPECT_EQ(std::chrono::system_clock::to_time_t(*parsed->expires), 1795799201);

  EXPECT_EQ(parse_web_identity_response("<x/>").error().kind(), ErrorKind::corrupt);
  EXPECT_EQ(parse_web_identity_response("not xml").error().kind(), ErrorKind::corrupt);
  auto no_expiry = parse_web_identity_response(sts_answer("K", ""));
  ASSERT_FALSE(no_expiry.ok());
  EXPECT_TRUE(contains(no_expiry.error().message(), "Expiration"));
  EXPECT_FALSE(contains(no_expiry.error().message(), "sts-secret"));
}

TEST(WebIdentityParsing, StsErrors) {
  EXPECT_EQ(parse_sts_error("<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>"
                            "<Message>Not authorized</Message></Error></ErrorResponse>"),
            "AccessDenied: Not authorized");
  EXPECT_EQ(parse_sts_error("<html>oops</html>"), std::nullopt);
  EXPECT_EQ(parse_sts_error("garbage"), std::nullopt);
}

TEST(WebIdentityParsing, StsEndpointPrecedence) {
  EXPECT_EQ(sts_endpoint(fake_environment({}), "eu-west-1"), "https://sts.eu-west-1.amazonaws.com");
  EXPECT_EQ(sts_endpoint(fake_environment({}), ""), "https://sts.amazonaws.com");
  EXPECT_EQ(sts_endpoint(fake_environment({{"AWS_ENDPOINT_URL", "http://all:1"}}), "eu-west-1"),
            "http://all:1");
  EXPECT_EQ(sts_endpoint(fake_environment({{"AWS_ENDPOINT_URL", "http://all:1"},
                                           {"AWS_ENDPOINT_URL_STS", "http://sts:2"}}),
                         "eu-west-1"),
            "http://sts:2");
}

TEST(CredentialsJson, ParsesAndRefusesWithoutEchoingSecrets) {
  auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1'700'000'000));
  auto parsed = parse_credentials_json(
      R"({"Code":"Success","AccessKeyId":"ASIAJSON","SecretAccessKey":"json-secret",
          "Token":"json-token","Expiration":"2026-11-27T18:00:00Z"})",
      "test source", now);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  EXPECT_EQ(parsed->access_key_id, "ASIAJSON");
  EXPECT_EQ(parsed->secret_access_key.reveal(), "json-secret");
  EXPECT_EQ(parsed->session_token.reveal(), "json-token");
  EXPECT_EQ(std::chrono::system_clock::to_time_t(*parsed->expires), 1795802400);

  auto no_expiry = parse_credentials_json(R"({"AccessKeyId":"A","SecretAccessKey":"S"})", "t", now);
  ASSERT_TRUE(no_expiry.ok());
  EXPECT_EQ(*no_expiry->expires, now + 15min);

  auto failed = parse_credentials_json(
      R"({"Code":"AssumeRoleUnauthorizedAccess","Message":"role gone","SecretAccessKey":"x1"})",
      "test source", now);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().kind(), ErrorKind::unauthenticated);
  EXPECT_TRUE(contains(failed.error().message(), "AssumeRoleUnauthorizedAccess: role gone"));

  auto missing = parse_credentials_json(R"({"AccessKeyId":"A","Token":"tok-9"})", "src", now);
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(contains(missing.error().message(), "SecretAccessKey"));
  EXPECT_FALSE(contains(missing.error().message(), "tok-9"));
  EXPECT_FALSE(parse_credentials_json(R"(["x"])", "src", now).ok());
  auto bad_time = parse_credentials_json(
      R"({"AccessKeyId":"A","SecretAccessKey":"S","Expiration":"soon"})", "src", now);
  ASSERT_FALSE(bad_time.ok());
  EXPECT_EQ(bad_time.error().kind(), ErrorKind::corrupt);
}

// A fake STS: records each AssumeRoleWithWebIdentity form and answers with `next_key`, or with
// an ErrorResponse when `fail` is set.
class FakeSts : public ::testing::Test {
 protected:
  void SetUp() override {
    fake_.server().Post("/", [this](const httplib::Request& request, httplib::Response& response) {
      std::lock_guard lock(mutex_);
      forms_.emplace_back();
      for (const auto& [name, value] : request.params)
        forms_.back()[name] = value;
      content_type_ = request.get_header_value("Content-Type");
      if (fail_) {
        response.status = 400;
        response.set_content(
            "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidIdentityToken</Code><Message>"
            "Token " +
                request.get_param_value("WebIdentityToken") +
                " is not valid</Message></Error></ErrorResponse>",
            "text/xml");
        return;
      }
      response.set_content(sts_answer(next_key_, "2030-01-01T00:00:00Z"), "text/xml");
    });
    endpoint_ = fake_.start();
  }
  std::map<std::string, std::string> form(std::size_t index) {
    std::lock_guard lock(mutex_);
    return index < forms_.size() ? forms_[index] : std::map<std::string, std::string>{};
  }
  std::size_t calls() {
    std::lock_guard lock(mutex_);
    return forms_.size();
  }

  testing::FakeHttp fake_;
  std::string endpoint_;
  std::mutex mutex_;
  std::vector<std::map<std::string, std::string>> forms_;
  std::string content_type_;
  std::string next_key_ = "ASIASTS1";
  std::atomic<bool> fail_{false};
  TempDir dir_{"csnap-remote-"};
};

TEST_F(FakeSts, SendsTheRoleAndTheTokenReadAgainOnEveryCall) {
  auto token_file = dir_.write("token", "eyJ.first.token\n");
  WebIdentityCredentialsProvider provider(
      fake_environment({{"AWS_WEB_IDENTITY_TOKEN_FILE", token_file},
                        {"AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/backup"},
                        {"AWS_ROLE_SESSION_NAME", "nightly"},
                        {"AWS_ENDPOINT_URL_STS", endpoint_}}),
      "", quick());
  auto credentials = provider.fetch();
  ASSERT_TRUE(credentials.ok()) << credentials.error().message();
  EXPECT_EQ(credentials->access_key_id, "ASIASTS1");
  EXPECT_EQ(credentials->secret_access_key.reveal(), "sts-secret");
  EXPECT_EQ(credentials->session_token.reveal(), "sts-session");
  EXPECT_TRUE(contains(credentials->source, "arn:aws:iam::123456789012:role/backup"));
  auto sent = form(0);
  EXPECT_EQ(sent["Action"], "AssumeRoleWithWebIdentity");
  EXPECT_EQ(sent["Version"], "2011-06-15");
  EXPECT_EQ(sent["RoleArn"], "arn:aws:iam::123456789012:role/backup");
  EXPECT_EQ(sent["RoleSessionName"], "nightly");
  EXPECT_EQ(sent["WebIdentityToken"], "eyJ.first.token");
  EXPECT_TRUE(contains(content_type_, "application/x-www-form-urlencoded"));

  // The platform rotates the file; the next call sends the new token.
  dir_.write("token", "eyJ.second+token/=");
  next_key_ = "ASIASTS2";
  EXPECT_EQ(provider.fetch()->access_key_id, "ASIASTS2");
  EXPECT_EQ(form(1)["WebIdentityToken"], "eyJ.second+token/=");
}

TEST_F(FakeSts, DefaultSessionNameAndEnvironmentEndpoint) {
  auto token_file = dir_.write("token", "eyJ.a.b");
  WebIdentityCredentialsProvider provider(
      fake_environment({{"AWS_WEB_IDENTITY_TOKEN_FILE", token_file},
                        {"AWS_ROLE_ARN", "arn:aws:iam::1:role/r"},
                        {"AWS_ENDPOINT_URL", endpoint_}}),
      "", quick());
  ASSERT_TRUE(provider.fetch().ok());
  EXPECT_TRUE(form(0)["RoleSessionName"].starts_with("consul-snapshot-"));
}

TEST_F(FakeSts, StsErrorsCarryCodeAndMessageButNeverTheToken) {
  fail_ = true;
  auto token_file = dir_.write("token", "eyJ.very-secret-token.sig");
  WebIdentityCredentialsProvider provider(
      fake_environment({{"AWS_WEB_IDENTITY_TOKEN_FILE", token_file},
                        {"AWS_ROLE_ARN", "arn:aws:iam::1:role/r"},
                        {"AWS_ENDPOINT_URL_STS", endpoint_}}),
      "", quick());
  test_common::CapturedLog log;
  auto failed = provider.fetch();
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.error().kind(), ErrorKind::not_found);  // must stop the chain
  EXPECT_TRUE(contains(failed.error().message(), "InvalidIdentityToken"))
      << failed.error().message();
  EXPECT_TRUE(contains(failed.error().message(), "is not valid"));
  EXPECT_TRUE(contains(failed.error().message(), "HTTP 400"));
  EXPECT_FALSE(contains(failed.error().message(), "very-secret-token"));
  EXPECT_FALSE(contains(log.text(), "very-secret-token"));
}

TEST_F(FakeSts, PlainHttpGoesOnlyToALoopbackAddress) {
  auto token_file = dir_.write("token", "eyJ.plain-http-token.sig");
  for (auto [variable, endpoint] : std::initializer_list<std::pair<const char*, const char*>>{
           {"AWS_ENDPOINT_URL_STS", "http://sts.internal.example:8080"},
           {"AWS_ENDPOINT_URL", "http://10.1.2.3:4566/"},
           {"AWS_ENDPOINT_URL_STS", "http://127.0.0.1.example.com"}}) {
    WebIdentityCredentialsProvider provider(
        fake_environment({{"AWS_WEB_IDENTITY_TOKEN_FILE", token_file},
                          {"AWS_ROLE_ARN", "arn:aws:iam::1:role/r"},
                          {variable, endpoint}}),
        "", quick());
    auto refused = provider.fetch();
    ASSERT_FALSE(refused.ok()) << endpoint;
    EXPECT_EQ(refused.error().kind(), ErrorKind::invalid_argument);
    const auto& message = refused.error().message();
    EXPECT_TRUE(message.starts_with(variable)) << message;
    EXPECT_TRUE(contains(message, "plain http")) << message;
    EXPECT_TRUE(contains(message, "https")) << message;
    EXPECT_FALSE(contains(message, "plain-http-token")) << message;
  }
  EXPECT_EQ(calls(), 0u);
  // Loopback by name or by address is a local emulator: allowed (nothing listens on 127.0.0.2:
  // that one gets as far as trying to connect).
  auto port = endpoint_.substr(endpoint_.rfind(':'));
  for (const std::string& local : {"http://localhost" + port, "http://127.0.0.2" + port}) {
    WebIdentityCredentialsProvider provider(
        fake_environment({{"AWS_WEB_IDENTITY_TOKEN_FILE", token_file},
                          {"AWS_ROLE_ARN", "arn:aws:iam::1:role/r"},
                          {"AWS_ENDPOINT_URL_STS", local}}),
        "", quick());
    auto credentials = provider.fetch();
    if (local.starts_with("http://localhost")) {
      EXPECT_TRUE(credentials.ok()) << local << ": " << credentials.error().message();
    } else {
      ASSERT_FALSE(credentials.ok());
      EXPECT_EQ(credentials.error().kind(), ErrorKind::unavailable)
          << credentials.error().message();
    }
  }
}

TEST_F(FakeSts, AProfilesPlainHttpEndpointIsRefusedByItsVariable) {
  auto token_file = dir_.write("token", "eyJ.profile-token.sig");
  auto config = dir_.write("config", "[profile ci]\nweb_identity_token_file = " + token_file +
                                         "\nrole_arn = arn:aws:iam::1:role/r\n");
  auto options = ProfileOptions::from_environment(
      fake_environment({{"AWS_PROFILE", "ci"},
                        {"AWS_CONFIG_FILE", config},
                        {"AWS_SHARED_CREDENTIALS_FILE", dir_.path("none")},
                        {"AWS_ENDPOINT_URL", "http://sts.internal.example"}}));
  auto refused = ProfileCredentialsProvider(options).fetch();
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind(), ErrorKind::invalid_argument);
  EXPECT_TRUE(refused.error().message().starts_with("AWS_ENDPOINT_URL is http://sts.internal"))
      << refused.error().message();
  EXPECT_EQ(calls(), 0u);
}

TEST_F(FakeSts, MissingSettingsAreNamed) {
  auto unset = WebIdentityCredentialsProvider(fake_environment({}), "", quick()).fetch();
  ASSERT_FALSE(unset.ok());
  EXPECT_EQ(unset.error().kind(), ErrorKind::not_found);

  auto missing_file = WebIdentityCredentialsProvider(
                          fake_environment({{"AWS_WEB_IDENTITY_TOKEN_FILE", dir_.path("absent")},
                                            {"AWS_ROLE_ARN", "arn:aws:iam::1:role/r"},
                                            {"AWS_ENDPOINT_URL_STS", endpoint_}}),
                          "", quick())
                          .fetch();
  ASSERT_FALSE(missing_file.ok());
  EXPECT_EQ(missing_file.error().kind(), ErrorKind::invalid_argument);
  EXPECT_TRUE(contains(missing_file.error().message(), "AWS_WEB_IDENTITY_TOKEN_FILE"));
  EXPECT_TRUE(contains(missing_file.error().message(), dir_.path("absent")));

  auto empty_file = WebIdentityCredentialsProvider(
                        fake_environment({{"AWS_WEB_IDENTITY_TOKEN_FILE", dir_.write("e", "\n")},
                                          {"AWS_ROLE_ARN", "arn:aws:iam::1:role/r"},
                                          {"AWS_ENDPOINT_URL_STS", endpoint_}}),
                        "", quick())
                        .fetch();
  ASSERT_FALSE(empty_file.ok());
  EXPECT_TRUE(contains(empty_file.error().message(), "empty"));

  auto no_role =
      WebIdentityCredentialsProvider(
          fake_environment({{"AWS_WEB_IDENTITY_TOKEN_FILE", dir_.write("t", "x")}}), "", quick())
          .fetch();
  ASSERT_FALSE(no_role.ok());
  EXPECT_EQ(no_role.error().kind(), ErrorKind::invalid_argument);
  EXPECT_TRUE(contains(no_role.error().message(), "AWS_ROLE_ARN"));
  EXPECT_EQ(calls(), 0u);
}

TEST_F(FakeSts, ProfileWithWebIdentityAssumesItsRole) {
  auto token_file = dir_.write("token", "eyJ.profile.token");
  dir_.write("config", "[profile ci]\nweb_identity_token_file = " + token_file +
                           "\nrole_arn = arn:aws:iam::1:role/ci\nrole_session_name = ci-run\n"
                           "[profile broken]\nweb_identity_token_file = " +
                           dir_.path("nope") + "\nrole_arn = arn:aws:iam::1:role/ci\n");
  auto options =
      ProfileOptions::from_environment(fake_environment({{"HOME", "/nonexistent"},
                                                         {"AWS_PROFILE", "ci"},
                                                         {"AWS_CONFIG_FILE", dir_.path("config")},
                                                         {"AWS_ENDPOINT_URL_STS", endpoint_}}));
  auto credentials = ProfileCredentialsProvider(options).fetch();
  ASSERT_TRUE(credentials.ok()) << credentials.error().message();
  EXPECT_EQ(credentials->access_key_id, "ASIASTS1");
  EXPECT_TRUE(contains(credentials->source, "profile ci"));
  EXPECT_EQ(form(0)["RoleArn"], "arn:aws:iam::1:role/ci");
  EXPECT_EQ(form(0)["RoleSessionName"], "ci-run");
  EXPECT_EQ(form(0)["WebIdentityToken"], "eyJ.profile.token");

  options.profile = "broken";
  auto failed = ProfileCredentialsProvider(options).fetch();
  ASSERT_FALSE(failed.ok());
  EXPECT_TRUE(contains(failed.error().message(), "web_identity_token_file of profile 'broken'"));
}

TEST_F(FakeSts, DefaultChainUsesWebIdentityAndLogsTheSource) {
  auto token_file = dir_.write("token", "eyJ.chain.token");
  auto chain =
      default_credentials_chain(fake_environment({{"HOME", "/nonexistent"},
                                                  {"AWS_WEB_IDENTITY_TOKEN_FILE", token_file},
                                                  {"AWS_ROLE_ARN", "arn:aws:iam::1:role/chain"},
                                                  {"AWS_ENDPOINT_URL_STS", endpoint_},
                                                  {"AWS_EC2_METADATA_DISABLED", "true"}}));
  test_common::CapturedLog log;
  auto credentials = chain->fetch();
  ASSERT_TRUE(credentials.ok()) << credentials.error().message();
  EXPECT_EQ(credentials->access_key_id, "ASIASTS1");
  auto text = log.text();
  EXPECT_TRUE(contains(text, "web identity (arn:aws:iam::1:role/chain")) << text;
  EXPECT_FALSE(contains(text, "sts-secret"));
  EXPECT_FALSE(contains(text, "sts-session"));
  EXPECT_FALSE(contains(text, "eyJ.chain.token"));
  // Cached until near expiry: no second STS call.
  EXPECT_TRUE(chain->fetch().ok());
  EXPECT_EQ(calls(), 1u);
}

// A fake container credentials endpoint that wants `Authorization: <expected_>`.
class FakeContainer : public ::testing::Test {
 protected:
  void SetUp() override {
    fake_.server().Get(
        R"(/creds/(.*))", [this](const httplib::Request& request, httplib::Response& response) {
          {
            std::lock_guard lock(mutex_);
            authorizations_.push_back(request.get_header_value("Authorization"));
            paths_.push_back(request.path);
          }
          if (!expected_.empty() && request.get_header_value("Authorization") != expected_) {
            response.status = 401;
            response.set_content(R"({"code":"AccessDeniedException","message":"bad token"})",
                                 "application/json");
            return;
          }
          response.set_content(R"({"AccessKeyId":"ASIACONTAINER","SecretAccessKey":"c-secret",
                               "Token":"c-token","Expiration":"2030-01-01T00:00:00Z"})",
                               "application/json");
        });
    base_ = fake_.start();
  }
  ContainerCredentialsOptions options() const { return {quick(), base_}; }

  testing::FakeHttp fake_;
  std::string base_;
  std::string expected_;
  std::mutex mutex_;
  std::vector<std::string> authorizations_;
  std::vector<std::string> paths_;
  TempDir dir_{"csnap-remote-"};
};

TEST_F(FakeContainer, RelativeUriWithoutToken) {
  ContainerCredentialsProvider provider(
      fake_environment({{"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/creds/task-1"}}), options());
  auto credentials = provider.fetch();
  ASSERT_TRUE(credentials.ok()) << credentials.error().message();
  EXPECT_EQ(credentials->access_key_id, "ASIACONTAINER");
  EXPECT_EQ(credentials->secret_access_key.reveal(), "c-secret");
  EXPECT_EQ(credentials->session_token.reveal(), "c-token");
  ASSERT_TRUE(credentials->expires);
  EXPECT_EQ(paths_.at(0), "/creds/task-1");
  EXPECT_EQ(authorizations_.at(0), "");
  EXPECT_FALSE(contains(credentials->source, "task-1"));  // the path is not logged
}

TEST_F(FakeContainer, FullUriWithTokenAndTokenFile) {
  expected_ = "Bearer env-token";
  auto from_env = ContainerCredentialsProvider(
                      fake_environment({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", base_ + "/creds/x"},
                                        {"AWS_CONTAINER_AUTHORIZATION_TOKEN", "Bearer env-token"}}),
                      options())
                      .fetch();
  ASSERT_TRUE(from_env.ok()) << from_env.error().message();
  EXPECT_EQ(authorizations_.back(), "Bearer env-token");

  // The file wins over the variable and is read on every call (EKS rotates it).
  expected_ = "file-token-1";
  auto token_file = dir_.write("token", "file-token-1\n");
  ContainerCredentialsProvider provider(
      fake_environment({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", base_ + "/creds/y"},
                        {"AWS_CONTAINER_AUTHORIZATION_TOKEN", "Bearer env-token"},
                        {"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", token_file}}),
      options());
  ASSERT_TRUE(provider.fetch().ok());
  EXPECT_EQ(authorizations_.back(), "file-token-1");
  dir_.write("token", "file-token-2");
  expected_ = "file-token-2";
  ASSERT_TRUE(provider.fetch().ok());
  EXPECT_EQ(authorizations_.back(), "file-token-2");
}

TEST_F(FakeContainer, RefusalsAndBadSettings) {
  expected_ = "right";
  test_common::CapturedLog log;
  auto refused = ContainerCredentialsProvider(
                     fake_environment({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", base_ + "/creds/z"},
                                       {"AWS_CONTAINER_AUTHORIZATION_TOKEN", "wrong-token-77"}}),
                     options())
                     .fetch();
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().kind(), ErrorKind::not_found);
  EXPECT_TRUE(contains(refused.error().message(), "HTTP 401"));
  EXPECT_TRUE(contains(refused.error().message(), "AccessDeniedException: bad token"));
  EXPECT_FALSE(contains(refused.error().message(), "wrong-token-77"));
  EXPECT_FALSE(contains(log.text(), "wrong-token-77"));

  auto missing_file =
      ContainerCredentialsProvider(
          fake_environment({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", base_ + "/c"},
                            {"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", dir_.path("absent")}}),
          options())
          .fetch();
  ASSERT_FALSE(missing_file.ok());
  EXPECT_TRUE(contains(missing_file.error().message(), "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"));

  std::size_t requests = paths_.size();
  auto plain_http =
      ContainerCredentialsProvider(fake_environment({{"AWS_CONTAINER_CREDENTIALS_FULL_URI",
                                                      "http://credentials.example.com/creds"}}),
                                   options())
          .fetch();
  ASSERT_FALSE(plain_http.ok());
  EXPECT_EQ(plain_http.error().kind(), ErrorKind::invalid_argument);
  EXPECT_TRUE(contains(plain_http.error().message(), "https"));
  auto line_break = ContainerCredentialsProvider(
                        fake_environment({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", base_ + "/c"},
                                          {"AWS_CONTAINER_AUTHORIZATION_TOKEN", "a\r\nX-Evil: 1"}}),
                        options())
                        .fetch();
  ASSERT_FALSE(line_break.ok());
  EXPECT_EQ(paths_.size(), requests);

  EXPECT_EQ(ContainerCredentialsProvider(fake_environment({}), options()).fetch().error().kind(),
            ErrorKind::not_found);
}

// A fake IMDSv2: tokens it issued are valid until `revoke()`; counts token requests.
class FakeImds : public ::testing::Test {
 protected:
  void SetUp() override {
    auto& server = fake_.server();
    server.Put("/latest/api/token",
               [this](const httplib::Request& request, httplib::Response& response) {
                 std::lock_guard lock(mutex_);
                 ttl_header_ = request.get_header_value("X-aws-ec2-metadata-token-ttl-seconds");
                 ++token_requests_;
                 std::string token = "imds-token-" + std::to_string(token_requests_);
                 valid_.push_back(token);
                 response.set_content(token, "text/plain");
               });
    auto checked = [this](const httplib::Request& request, httplib::Response& response) {
      std::lock_guard lock(mutex_);
      auto token = request.get_header_value("X-aws-ec2-metadata-token");
      if (std::find(valid_.begin(), valid_.end(), token) == valid_.end()) {
        ++refused_;
        response.status = 401;
        return false;
      }
      return true;
    };
    server.Get("/latest/meta-data/iam/security-credentials/",
               [this, checked](const httplib::Request& request, httplib::Response& response) {
                 if (!checked(request, response))
                   return;
                 if (role_.empty()) {
                   response.status = 404;
                   return;
                 }
                 response.set_content(role_ + "\n", "text/plain");
               });
    server.Get(R"(/latest/meta-data/iam/security-credentials/([^/]+))",
               [this, checked](const httplib::Request& request, httplib::Response& response) {
                 if (!checked(request, response))
                   return;
                 std::lock_guard lock(mutex_);
                 if (request.matches[1] != role_) {
                   response.status = 404;
                   return;
                 }
                 response.set_content(
                     R"({"Code":"Success","Type":"AWS-HMAC","AccessKeyId":")" + key_ +
                         R"(","SecretAccessKey":"imds-secret","Token":"imds-session",)"
                         R"("Expiration":")" +
                         expiration_ + "\"}",
                     "application/json");
               });
    endpoint_ = fake_.start();
  }
  void revoke() {
    std::lock_guard lock(mutex_);
    valid_.clear();
  }
  EnvironmentLookup environment() const {
    return fake_environment({{"AWS_EC2_METADATA_SERVICE_ENDPOINT", endpoint_}});
  }
  InstanceMetadataOptions options() {
    InstanceMetadataOptions options;
    options.call = quick();
    options.token_ttl = 600s;
    options.now = [this] { return clock_; };
    return options;
  }

  testing::FakeHttp fake_;
  std::string endpoint_;
  std::mutex mutex_;
  std::vector<std::string> valid_;
  int token_requests_ = 0;
  int refused_ = 0;
  std::string ttl_header_;
  std::string role_ = "backup-role";
  std::string key_ = "ASIAIMDS1";
  std::string expiration_ = "2030-01-01T00:00:00Z";
  std::chrono::steady_clock::time_point clock_ = std::chrono::steady_clock::now();
};

TEST_F(FakeImds, TokenThenRoleThenCredentials) {
  InstanceProfileCredentialsProvider provider(environment(), options());
  auto credentials = provider.fetch();
  ASSERT_TRUE(credentials.ok()) << credentials.error().message();
  EXPECT_EQ(credentials->access_key_id, "ASIAIMDS1");
  EXPECT_EQ(credentials->secret_access_key.reveal(), "imds-secret");
  EXPECT_EQ(credentials->session_token.reveal(), "imds-session");
  EXPECT_TRUE(contains(credentials->source, "backup-role"));
  EXPECT_EQ(ttl_header_, "600");
  EXPECT_EQ(token_requests_, 1);
  EXPECT_EQ(refused_, 0);
  // The token is reused while it is young.
  ASSERT_TRUE(provider.fetch().ok());
  EXPECT_EQ(token_requests_, 1);
}

TEST_F(FakeImds, TokenIsRenewedBeforeItsTtlAndAfterA401) {
  InstanceProfileCredentialsProvider provider(environment(), options());
  ASSERT_TRUE(provider.fetch().ok());
  clock_ += 541s;  // within the last tenth of the 600 s life
  ASSERT_TRUE(provider.fetch().ok());
  EXPECT_EQ(token_requests_, 2);
  EXPECT_EQ(refused_, 0);

  revoke();  // the service restarted: the token it gave is gone
  auto credentials = provider.fetch();
  ASSERT_TRUE(credentials.ok()) << credentials.error().message();
  EXPECT_EQ(token_requests_, 3);
  EXPECT_EQ(refused_, 1);
}

TEST_F(FakeImds, ExpiringCredentialsAreFetchedAgainThroughTheCache) {
  auto now = std::chrono::system_clock::now();
  expiration_ = "2030-01-01T00:00:00Z";
  CachedCredentials cached(
      std::make_unique<InstanceProfileCredentialsProvider>(environment(), options()),
      {300s, [&] { return now; }});
  EXPECT_EQ(cached.fetch()->access_key_id, "ASIAIMDS1");
  key_ = "ASIAIMDS2";
  EXPECT_EQ(cached.fetch()->access_key_id, "ASIAIMDS1");  // still cached
  // Five minutes before the expiry (2030-01-01T00:00:00Z): inside the refresh margin.
  now = std::chrono::system_clock::time_point(std::chrono::seconds(1893456000 - 300));
  EXPECT_EQ(cached.fetch()->access_key_id, "ASIAIMDS2");
}

TEST_F(FakeImds, NoRoleDisabledAndNoServiceAreNotFound) {
  role_.clear();
  auto no_role = InstanceProfileCredentialsProvider(environment(), options()).fetch();
  ASSERT_FALSE(no_role.ok());
  EXPECT_EQ(no_role.error().kind(), ErrorKind::not_found);
  EXPECT_TRUE(contains(no_role.error().message(), "no IAM role"));

  int before = token_requests_;
  auto disabled = InstanceProfileCredentialsProvider(
                      fake_environment({{"AWS_EC2_METADATA_SERVICE_ENDPOINT", endpoint_},
                                        {"AWS_EC2_METADATA_DISABLED", "TRUE"}}),
                      options())
                      .fetch();
  EXPECT_EQ(disabled.error().kind(), ErrorKind::not_found);
  EXPECT_EQ(token_requests_, before);

  // A loopback port with nothing behind it: refused at once.
  std::string dead_endpoint = endpoint_;
  fake_.stop();
  auto start = std::chrono::steady_clock::now();
  auto nobody = InstanceProfileCredentialsProvider(environment(), options()).fetch();
  ASSERT_FALSE(nobody.ok());
  EXPECT_EQ(nobody.error().kind(), ErrorKind::not_found);
  EXPECT_TRUE(contains(nobody.error().message(), "no EC2 instance metadata service"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

}  // namespace
}  // namespace csnap::storage
