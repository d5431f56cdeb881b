#include "storage/aws_sigv4.hpp"

#include <gtest/gtest.h>

namespace csnap::storage {
namespace {

// 2013-05-24T00:00:00Z and 2015-08-30T12:36:00Z, the times of AWS's published examples.
constexpr std::time_t kS3ExampleTime = 1369353600;
constexpr std::time_t kSuiteTime = 1440938160;

AwsCredentials s3_example_credentials() {
  return {"AKIAIOSFODNN7EXAMPLE", Secret("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"), Secret(),
          std::nullopt, "test"};
}

std::string signature_of(const std::string& authorization) {
  return authorization.substr(authorization.find("Signature=") + 10);
}

TEST(SigV4, FormatsDates) {
  EXPECT_EQ(amz_date(kS3ExampleTime), "20130524T000000Z");
  EXPECT_EQ(amz_day(kSuiteTime), "20150830");
  EXPECT_EQ(sha256_hex(""), kEmptyPayloadSha256);
}

// The "get-vanilla" case of AWS's SigV4 test suite.
TEST(SigV4, MatchesTheTestSuiteGetVanilla) {
  SigningInput input{"GET", "/", "", {}, std::string(kEmptyPayloadSha256)};
  input.headers = {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", "20150830T123600Z"}};
  AwsCredentials credentials{"AKIDEXAMPLE", Secret("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
                             Secret(), std::nullopt, "test"};
  EXPECT_EQ(canonical_request(input),
            "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
            "host;x-amz-date\n" +
                std::string(kEmptyPayloadSha256));
  EXPECT_EQ(authorization_header(input, {"us-east-1", "service", kSuiteTime}, credentials),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request,"
            "SignedHeaders=host;x-amz-date,"
            "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

// The examples of the S3 API reference, "Signature Calculations for the Authorization Header".
TEST(SigV4, MatchesTheS3GetObjectExample) {
  SigningInput input{"GET", "/test.txt", "", {}, std::string(kEmptyPayloadSha256)};
  input.headers = {{"Host", "examplebucket.s3.amazonaws.com"},
                   {"Range", "bytes=0-9"},
                   {"x-amz-content-sha256", std::string(kEmptyPayloadSha256)},
                   {"x-amz-date", "20130524T000000Z"}};
  auto header =
      authorization_header(input, {"us-east-1", "s3", kS3ExampleTime}, s3_example_credentials());
  EXPECT_EQ(header,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(SigV4, MatchesTheS3PutObjectExample) {
  std::string body = "Welcome to Amazon S3.";
  SigningInput input{"PUT", "/test%24file.text", "", {}, sha256_hex(body)};
  EXPECT_EQ(input.payload_sha256,
            "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  input.headers = {{"Host", "examplebucket.s3.amazonaws.com"},
                   {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
                   {"x-amz-date", "20130524T000000Z"},
                   {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
                   {"x-amz-content-sha256", input.payload_sha256}};
  EXPECT_EQ(signature_of(authorization_header(input, {"us-east-1", "s3", kS3ExampleTime},
                                              s3_example_credentials())),
            "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

TEST(SigV4, MatchesTheS3ListObjectsExample) {
  SigningInput input{"GET", "/", "max-keys=2&prefix=J", {}, std::string(kEmptyPayloadSha256)};
  input.headers = {{"Host", "examplebucket.s3.amazonaws.com"},
                   {"x-amz-date", "20130524T000000Z"},
                   {"x-amz-content-sha256", std::string(kEmptyPayloadSha256)}};
  EXPECT_EQ(signature_of(authorization_header(input, {"us-east-1", "s3", kS3ExampleTime},
                                              s3_example_credentials())),
            "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

TEST(SigV4, FoldsSpacesAndJoinsRepeatedHeaders) {
  SigningInput input{"GET", "/", "", {}, "UNSIGNED-PAYLOAD"};
  input.headers = {{"My-Header1", "  a   b  c "}, {"host", "h"}, {"my-header1", "second"}};
  EXPECT_EQ(canonical_request(input),
            "GET\n/\n\nhost:h\nmy-header1:a b c,second\n\nhost;my-header1\nUNSIGNED-PAYLOAD");
}

TEST(SigV4, SecretNeverAppearsInTheHeader) {
  SigningInput input{"GET", "/", "", {{"host", "h"}}, std::string(kEmptyPayloadSha256)};
  auto header =
      authorization_header(input, {"us-east-1", "s3", kS3ExampleTime}, s3_example_credentials());
  EXPECT_EQ(header.find("wJalrXUtnFEMI"), std::string::npos);
}

}  // namespace
}  // namespace csnap::storage
