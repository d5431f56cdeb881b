#include "storage/s3.hpp"

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>

#include <gtest/gtest.h>

#include "../http/fake_http.hpp"
#include "captured_log.hpp"

namespace csnap::storage {
namespace {

using namespace std::chrono_literals;

TEST(S3Encoding, CanonicalQueryIsSortedAndFullyEncoded) {
  EXPECT_EQ(s3_canonical_query({{"uploads", ""}}), "uploads=");
  EXPECT_EQ(s3_canonical_query({{"uploadId", "x/y"}, {"partNumber", "2"}}),
            "partNumber=2&uploadId=x%2Fy");
  EXPECT_EQ(s3_canonical_query({{"prefix", "a b+c/é~"}, {"list-type", "2"}}),
            "list-type=2&prefix=a%20b%2Bc%2F%C3%A9~");
  EXPECT_EQ(s3_canonical_query({}), "");
}

TEST(S3Encoding, PathSegmentsAreEncodedAndSlashesKept) {
  EXPECT_EQ(s3_encode_path("backups/2026/a b+c=é.tar"), "backups/2026/a%20b%2Bc%3D%C3%A9.tar");
}

TEST(S3Multipart, PartSizeGrowsEveryThousandPartsUpToFiveGiB) {
  const std::size_t base = 8 * kMiB;
  EXPECT_EQ(multipart_part_size(base, 1), base);
  EXPECT_EQ(multipart_part_size(base, 1000), base);
  EXPECT_EQ(multipart_part_size(base, 1001), 2 * base);
  EXPECT_EQ(multipart_part_size(base, 2001), 4 * base);
  EXPECT_EQ(multipart_part_size(base, 10000), 512 * base);
  EXPECT_EQ(multipart_part_size(std::size_t{4096} * kMiB, 1001), std::size_t{5120} * kMiB);
  // 10000 parts hold far more than any backup: about 8 TiB with 8 MiB parts.
  std::uint64_t total = 0;
  for (int part = 1; part <= kS3MaxParts; ++part)
    total += multipart_part_size(base, part);
  EXPECT_GT(total, std::uint64_t{8} * 1000 * 1000 * 1000 * 1000);
}

TEST(S3Xml, ParsesErrorsWithOrWithoutNamespace) {
  auto error = parse_s3_error(
      R"(<?xml version="1.0" encoding="UTF-8"?>
<Error xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Code>NoSuchKey</Code>
<Message>The specified key does not exist.</Message><RequestId>R1</RequestId></Error>)");
  ASSERT_TRUE(error);
  EXPECT_EQ(error->code, "NoSuchKey");
  EXPECT_EQ(error->message, "The specified key does not exist.");
  EXPECT_EQ(error->request_id, "R1");
  EXPECT_FALSE(parse_s3_error(""));
  EXPECT_FALSE(parse_s3_error("<html>gateway</html>"));
  EXPECT_FALSE(parse_s3_error("<Error><Code>unterminated"));
}

TEST(S3Xml, ClassifiesErrorCodes) {
  EXPECT_EQ(s3_error_kind(403, "SignatureDoesNotMatch"), ErrorKind::unauthenticated);
  EXPECT_EQ(s3_error_kind(403, "InvalidAccessKeyId"), ErrorKind::unauthenticated);
  EXPECT_EQ(s3_error_kind(403, "AccessDenied"), ErrorKind::permission_denied);
  EXPECT_EQ(s3_error_kind(403, ""), ErrorKind::permission_denied);
  EXPECT_EQ(s3_error_kind(404, "NoSuchBucket"), ErrorKind::not_found);
  EXPECT_EQ(s3_error_kind(404, ""), ErrorKind::not_found);
  EXPECT_EQ(s3_error_kind(503, "SlowDown"), ErrorKind::transient);
  EXPECT_EQ(s3_error_kind(400, "RequestTimeout"), ErrorKind::transient);
  EXPECT_EQ(s3_error_kind(500, ""), ErrorKind::transient);
  EXPECT_EQ(s3_error_kind(412, "PreconditionFailed"), ErrorKind::conflict);
}

TEST(S3Xml, ParsesListPagesAndRejectsBadOnes) {
  auto page = parse_list_objects_v2(
      R"(<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
<IsTruncated>true</IsTruncated><NextContinuationToken>tok/en==</NextContinuationToken>
<Contents><Key>a b&amp;c</Key><Size>12</Size><LastModified>2026-11-09T00:35:41.000Z</LastModified></Contents>
<Contents><Key>é</Key><Size>0</Size></Contents></ListBucketResult>)");
  ASSERT_TRUE(page.ok()) << page.error().message();
  ASSERT_EQ(page->objects.size(), 2u);
  EXPECT_EQ(page->objects[0].key, "a b&c");
  EXPECT_EQ(page->objects[0].size, 12u);
  EXPECT_EQ(page->objects[0].modified_unix, 1794184541);
  EXPECT_EQ(page->objects[1].key, "é");
  EXPECT_EQ(page->next_continuation_token, "tok/en==");

  EXPECT_EQ(parse_list_objects_v2("<ListBucketResult><IsTruncated>true</IsTruncated>"
                                  "</ListBucketResult>")
                .error()
                .kind(),
            ErrorKind::corrupt);
  EXPECT_FALSE(parse_list_objects_v2("<ListBucketResult><Contents><Key>k</Key><Size>-1</Size>"
                                     "</Contents></ListBucketResult>")
                   .ok());
  EXPECT_FALSE(parse_list_objects_v2("not xml").ok());
  EXPECT_FALSE(parse_list_objects_v2("<Other/>").ok());
}

TEST(S3Xml, ParsesMultipartDocuments) {
  EXPECT_EQ(
      *parse_initiate_multipart("<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key>"
                                "<UploadId>id-1</UploadId></InitiateMultipartUploadResult>"),
      "id-1");
  EXPECT_FALSE(parse_initiate_multipart("<InitiateMultipartUploadResult/>").ok());
  auto uploads = parse_list_multipart_uploads(
      "<ListMultipartUploadsResult><IsTruncated>true</IsTruncated><NextKeyMarker>k</NextKeyMarker>"
      "<NextUploadIdMarker>u</NextUploadIdMarker><Upload><Key>k</Key><UploadId>u</UploadId>"
      "</Upload></ListMultipartUploadsResult>");
  ASSERT_TRUE(uploads.ok());
  ASSERT_EQ(uploads->uploads.size(), 1u);
  EXPECT_EQ(uploads->next_key_and_upload_id->second, "u");
  EXPECT_EQ(complete_multipart_body({"\"e1\"", "\"e2\""}),
            "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&quot;e1&quot;</ETag>"
            "</Part><Part><PartNumber>2</PartNumber><ETag>&quot;e2&quot;</ETag></Part>"
            "</CompleteMultipartUpload>");
}

// A scripted S3 server: records every request and answers with `respond`.
struct Seen {
  std::string method, path, query, body;
  std::map<std::string, std::string> headers;
};

class FakeS3 {
 public:
  using Handler = std::function<void(const Seen&, httplib::Response&)>;
  explicit FakeS3(Handler respond) : respond_(std::move(respond)) {
    auto handle = [this](const httplib::Request& req, httplib::Response& res) {
      Seen seen{req.method, req.path, query_of(req.target), req.body, {}};
      for (const auto& [name, value] : req.headers)
        seen.headers[to_lower_copy(name)] = value;
      {
        std::lock_guard lock(mutex_);
        requests_.push_back(seen);
      }
      respond_(seen, res);
    };
    auto& server = fake_.server();
    server.Get(".*", handle);
    server.Put(".*", handle);
    server.Post(".*", handle);
    server.Delete(".*", handle);
    server.set_payload_max_length(64 * kMiB);
    url_ = fake_.start();
  }
  std::string url() const { return url_; }
  std::vector<Seen> requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  int count(std::string_view method, std::string_view query_part) {
    int n = 0;
    for (const auto& request : requests()) {
      if (request.method == method && request.query.find(query_part) != std::string::npos)
        ++n;
    }
    return n;
  }

 private:
  static std::string query_of(const std::string& target) {
    auto question = target.find('?');
    return question == std::string::npos ? std::string() : target.substr(question + 1);
  }
  static std::string to_lower_copy(std::string text) {
    for (auto& c : text)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return text;
  }

  Handler respond_;
  testing::FakeHttp fake_;
  std::string url_;
  std::mutex mutex_;
  std::vector<Seen> requests_;
};

void s3_error(httplib::Response& res, int status, const std::string& code) {
  res.status = status;
  res.set_content(
      "<Error><Code>" + code + "</Code><Message>scripted " + code + "</Message></Error>",
      "application/xml");
}

constexpr std::string_view kSecret = "unit-test-secret-key-value";
constexpr std::string_view kToken = "unit-test-session-token-value";

S3Options options_for(const std::string& endpoint, std::vector<std::chrono::milliseconds>* sleeps) {
  S3Options options;
  options.bucket = "bucket";
  options.endpoint = endpoint;
  options.root = "root";
  options.part_size = 4;
  options.credentials = std::make_shared<StaticCredentialsProvider>(AwsCredentials{
      "AKIDUNIT", Secret(std::string(kSecret)), Secret(std::string(kToken)), {}, ""});
  options.retry.initial_backoff = 1ms;
  options.sleep = [sleeps](std::chrono::milliseconds delay) {
    if (sleeps != nullptr)
      sleeps->push_back(delay);
  };
  return options;
}

std::unique_ptr<S3Backend> make_backend(S3Options options) {
  auto backend = S3Backend::create(std::move(options));
  EXPECT_TRUE(backend.ok()) << backend.error().message();
  return std::move(backend).value();
}

TEST(S3Backend, SignsEveryRequestAndSendsSseKmsHeaders) {
  FakeS3 fake([](const Seen&, httplib::Response& res) { res.set_header("ETag", "\"e\""); });
  auto options = options_for(fake.url(), nullptr);
  options.sse = S3Encryption::kms;
  options.sse_kms_key_id = "arn:aws:kms:us-east-1:1:key/k";
  auto backend = make_backend(std::move(options));
  auto upload = backend->put("dir/a b+é");
  ASSERT_TRUE(upload.ok());
  ASSERT_TRUE((*upload)->write(std::string_view("abc")).ok());
  ASSERT_TRUE((*upload)->finish().ok());

  auto requests = fake.requests();
  ASSERT_EQ(requests.size(), 1u);
  const auto& put = requests[0];
  EXPECT_EQ(put.method, "PUT");
  EXPECT_EQ(put.path, "/bucket/root/dir/a b+é");  // httplib decodes the path
  EXPECT_EQ(put.body, "abc");
  EXPECT_EQ(put.headers.at("x-amz-server-side-encryption"), "aws:kms");
  EXPECT_EQ(put.headers.at("x-amz-server-side-encryption-aws-kms-key-id"),
            "arn:aws:kms:us-east-1:1:key/k");
  EXPECT_EQ(put.headers.at("x-amz-security-token"), kToken);
  EXPECT_EQ(put.headers.at("x-amz-content-sha256"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(put.headers.at("host"), backend->host());
  const auto& authorization = put.headers.at("authorization");
  EXPECT_TRUE(authorization.starts_with("AWS4-HMAC-SHA256 Credential=AKIDUNIT/"));
  EXPECT_NE(authorization.find("SignedHeaders=host;x-amz-content-sha256;x-amz-date;"
                               "x-amz-security-token;x-amz-server-side-encryption;"
                               "x-amz-server-side-encryption-aws-kms-key-id,"),
            std::string::npos);
}

TEST(S3Backend, AddressingDecidesTheHost) {
  auto options = options_for("https://s3.example.com:443", nullptr);
  EXPECT_EQ(make_backend(options)->host(), "s3.example.com");
  options.addressing = S3Addressing::virtual_hosted;
  EXPECT_EQ(make_backend(options)->host(), "bucket.s3.example.com");
  options.endpoint.clear();
  options.region = "eu-west-1";
  options.addressing = S3Addressing::automatic;
  EXPECT_EQ(make_backend(options)->host(), "bucket.s3.eu-west-1.amazonaws.com");
  options.bucket = "dotted.bucket";
  EXPECT_EQ(make_backend(options)->host(), "s3.eu-west-1.amazonaws.com");
  options.endpoint = "minio.local:9000";
  auto backend = make_backend(options);
  EXPECT_EQ(backend->host(), "minio.local:9000");
  EXPECT_EQ(backend->describe(),
            "s3://dotted.bucket/root?region=eu-west-1&endpoint=minio.local:9000");
  options.endpoint = "https://user:pw@host";
  EXPECT_FALSE(S3Backend::create(options).ok());
}

TEST(S3Backend, MultipartPartFailureAbortsTheUpload) {
  FakeS3 fake([](const Seen& seen, httplib::Response& res) {
    if (seen.method == "POST" && seen.query == "uploads=") {
      res.set_content(
          "<InitiateMultipartUploadResult><UploadId>U1</UploadId>"
          "</InitiateMultipartUploadResult>",
          "application/xml");
    } else if (seen.method == "PUT" && seen.query.find("partNumber=2") != std::string::npos) {
      s3_error(res, 503, "SlowDown");
    } else if (seen.method == "PUT") {
      res.set_header("ETag", "\"p\"");
    } else if (seen.method == "DELETE") {
      res.status = 204;
    }
  });
  std::vector<std::chrono::milliseconds> sleeps;
  auto backend = make_backend(options_for(fake.url(), &sleeps));
  auto upload = backend->put("big");
  ASSERT_TRUE(upload.ok());
  auto written = (*upload)->write(std::string_view("0123456789"));  // parts of 4 bytes
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.error().kind(), ErrorKind::transient);
  EXPECT_NE(written.error().message().find("SlowDown"), std::string::npos);
  EXPECT_EQ(fake.count("PUT", "partNumber=2"), 4);  // retried with backoff, then given up
  EXPECT_EQ(sleeps.size(), 3u);
  EXPECT_EQ(fake.count("DELETE", "uploadId=U1"), 1);
  EXPECT_FALSE((*upload)->finish().ok());
  upload->reset();
  EXPECT_EQ(fake.count("DELETE", "uploadId=U1"), 1);  // not aborted twice
  EXPECT_EQ(fake.count("POST", "uploadId=U1"), 0);    // never completed
}

TEST(S3Backend, CompleteAnsweringErrorIn200AbortsAndAbandonedUploadsAbort) {
  FakeS3 fake([](const Seen& seen, httplib::Response& res) {
    if (seen.method == "POST" && seen.query == "uploads=") {
      res.set_content(
          "<InitiateMultipartUploadResult><UploadId>U2</UploadId>"
          "</InitiateMultipartUploadResult>",
          "application/xml");
    } else if (seen.method == "POST") {
      s3_error(res, 200, "InternalError");
    } else if (seen.method == "PUT") {
      res.set_header("ETag", "\"p\"");
    } else if (seen.method == "DELETE") {
      res.status = 204;
    }
  });
  auto backend = make_backend(options_for(fake.url(), nullptr));
  {
    auto upload = backend->put("big");
    ASSERT_TRUE((*upload)->write(std::string_view("0123456789")).ok());
    auto finished = (*upload)->finish();
    ASSERT_FALSE(finished.ok());
    EXPECT_NE(finished.error().message().find("InternalError"), std::string::npos);
    EXPECT_EQ(fake.count("PUT", "partNumber=3"), 1);
    EXPECT_NE(fake.requests()[4].body.find("<PartNumber>3</PartNumber>"), std::string::npos);
    EXPECT_EQ(fake.count("DELETE", "uploadId=U2"), 1);
  }
  {
    auto upload = backend->put("abandoned");
    ASSERT_TRUE((*upload)->write(std::string_view("0123456789")).ok());
  }
  EXPECT_EQ(fake.count("DELETE", "uploadId=U2"), 2);
}

TEST(S3Backend, PermanentErrorsAreNotRetriedAndNeverShowSecrets) {
  FakeS3 fake([](const Seen&, httplib::Response& res) { s3_error(res, 403, "AccessDenied"); });
  std::vector<std::chrono::milliseconds> sleeps;
  auto backend = make_backend(options_for(fake.url(), &sleeps));
  test_common::CapturedLog log;
  auto listed = backend->list("p/");
  ASSERT_FALSE(listed.ok());
  EXPECT_EQ(listed.error().kind(), ErrorKind::permission_denied);
  EXPECT_NE(listed.error().message().find("403 AccessDenied: scripted AccessDenied"),
            std::string::npos);
  EXPECT_EQ(fake.requests().size(), 1u);
  EXPECT_TRUE(sleeps.empty());
  for (const auto& text : {listed.error().message(), log.text(), backend->describe()}) {
    EXPECT_EQ(text.find(kSecret), std::string::npos) << text;
    EXPECT_EQ(text.find(kToken), std::string::npos) << text;
    EXPECT_EQ(text.find("Signature="), std::string::npos) << text;
  }
}

TEST(S3Backend, DownloadsInRangesOfOneVersion) {
  const std::string content = "hello, ranged world";
  // cpp-httplib answers the Range header itself (206 and Content-Range) from the full content.
  FakeS3 fake([&](const Seen&, httplib::Response& res) {
    res.set_header("ETag", "\"v1\"");
    res.set_content(content, "application/octet-stream");
  });
  auto options = options_for(fake.url(), nullptr);
  options.download_chunk_size = 5;
  auto backend = make_backend(std::move(options));
  auto source = backend->get("obj");
  ASSERT_TRUE(source.ok()) << source.error().message();
  auto text = read_all(**source);
  ASSERT_TRUE(text.ok()) << text.error().message();
  EXPECT_EQ(*text, content);
  auto requests = fake.requests();
  ASSERT_EQ(requests.size(), 4u);
  EXPECT_EQ(requests[0].headers.count("if-match"), 0u);
  EXPECT_EQ(requests[3].headers.at("range"), "bytes=15-18");
  EXPECT_EQ(requests[3].headers.at("if-match"), "\"v1\"");
}

// A fake S3 multipart upload of "0123456789" in parts of 4 bytes, whose part ETags are the parts'
// MD5s as S3 makes them; `on_complete` answers each CompleteMultipartUpload (counted from 0) and
// `on_head` a HEAD of the object.
struct MultipartScript {
  std::function<void(int, httplib::Response&)> on_complete;
  std::function<void(httplib::Response&)> on_head;
};

FakeS3::Handler multipart_server(const MultipartScript& script,
                                 const std::shared_ptr<std::atomic<int>>& completes) {
  return [script, completes](const Seen& seen, httplib::Response& res) {
    static const std::map<std::string, std::string> part_md5 = {
        {"0123", "eb62f6b9306db575c2d596b1279627a4"},
        {"4567", "6562c5c1f33db6e05a082a88cddab5ea"},
        {"89", "7647966b7343c29048673252e490f736"}};
    if (seen.method == "POST" && seen.query == "uploads=") {
      res.set_content(
          "<InitiateMultipartUploadResult><UploadId>U3</UploadId>"
          "</InitiateMultipartUploadResult>",
          "application/xml");
    } else if (seen.method == "POST") {
      script.on_complete((*completes)++, res);
    } else if (seen.method == "PUT") {
      res.set_header("ETag", "\"" + part_md5.at(seen.body) + "\"");
    } else if (seen.method == "HEAD" || seen.method == "GET") {
      script.on_head(res);
    } else if (seen.method == "DELETE") {
      s3_error(res, 404, "NoSuchUpload");
    }
  };
}

void complete_answer_lost(int n, httplib::Response& res) {
  // The first attempt applied but its answer did not arrive (a 500 here); the retry finds the
  // upload gone.
  if (n == 0)
    s3_error(res, 500, "InternalError");
  else
    s3_error(res, 404, "NoSuchUpload");
}

TEST(S3Backend, ARetriedCompleteThatHadAppliedIsSuccessOnceTheObjectChecksOut) {
  auto completes = std::make_shared<std::atomic<int>>(0);
  FakeS3 fake(multipart_server({complete_answer_lost,
                                [](httplib::Response& res) {
                                  res.set_header("ETag", "\"61e3716e3a7767581863b67c4e785584-3\"");
                                  res.set_content("0123456789", "application/octet-stream");
                                }},
                               completes));
  auto backend = make_backend(options_for(fake.url(), nullptr));
  auto upload = backend->put("big");
  ASSERT_TRUE(upload.ok());
  ASSERT_TRUE((*upload)->write(std::string_view("0123456789")).ok());
  auto finished = (*upload)->finish();
  ASSERT_TRUE(finished.ok()) << finished.error().message();
  EXPECT_EQ(*completes, 2);
  EXPECT_EQ(fake.count("HEAD", ""), 1);
  upload->reset();
  EXPECT_EQ(fake.count("DELETE", "uploadId=U3"), 0);  // a completed upload is not aborted
}

TEST(S3Backend, ARetriedCompleteFailsWhenTheObjectIsMissingOrNotThisUpload) {
  struct Case {
    const char* what;
    std::function<void(httplib::Response&)> on_head;
    const char* message;
  };
  std::vector<Case> cases = {
      {"no object", [](httplib::Response& res) { res.status = 404; }, "no object"},
      {"other size",
       [](httplib::Response& res) {
         res.set_header("ETag", "\"61e3716e3a7767581863b67c4e785584-3\"");
         res.set_content("012345678", "application/octet-stream");
       },
       "9 bytes, not the 10"},
      {"other parts",
       [](httplib::Response& res) {
         res.set_header("ETag", "\"00000000000000000000000000000000-3\"");
         res.set_content("0123456789", "application/octet-stream");
       },
       "ETag"},
  };
  for (const auto& test_case : cases) {
    auto completes = std::make_shared<std::atomic<int>>(0);
    FakeS3 fake(multipart_server({complete_answer_lost, test_case.on_head}, completes));
    auto backend = make_backend(options_for(fake.url(), nullptr));
    auto upload = backend->put("big");
    ASSERT_TRUE((*upload)->write(std::string_view("0123456789")).ok());
    auto finished = (*upload)->finish();
    ASSERT_FALSE(finished.ok()) << test_case.what;
    EXPECT_NE(finished.error().message().find("NoSuchUpload"), std::string::npos)
        << finished.error().message();
    EXPECT_NE(finished.error().message().find(test_case.message), std::string::npos)
        << finished.error().message();
  }
}

TEST(S3Multipart, EtagOfPartsFollowsS3sFormWhereItCan) {
  std::vector<std::string> parts = {"\"eb62f6b9306db575c2d596b1279627a4\"",
                                    "\"6562c5c1f33db6e05a082a88cddab5ea\"",
                                    "\"7647966b7343c29048673252e490f736\""};
  EXPECT_TRUE(s3_etag_matches_parts("\"61e3716e3a7767581863b67c4e785584-3\"", parts));
  EXPECT_TRUE(s3_etag_matches_parts("61E3716E3A7767581863B67C4E785584-3", parts));
  EXPECT_FALSE(s3_etag_matches_parts("\"61e3716e3a7767581863b67c4e785585-3\"", parts));
  EXPECT_FALSE(s3_etag_matches_parts("\"61e3716e3a7767581863b67c4e785584-2\"", parts));
  EXPECT_FALSE(s3_etag_matches_parts("\"61e3716e3a7767581863b67c4e785584-x\"", parts));
  // Parts whose ETags are not MD5s (SSE-KMS): only the count is held to.
  EXPECT_TRUE(s3_etag_matches_parts("\"abc-2\"", {"\"p\"", "\"q\""}));
  EXPECT_FALSE(s3_etag_matches_parts("\"abc-3\"", {"\"p\"", "\"q\""}));
  EXPECT_TRUE(s3_etag_matches_parts("\"plainmd5\"", parts));  // not the multipart form
}

TEST(S3Backend, ALostCreateMultipartUploadIsNotResentButFoundAndAborted) {
  FakeS3 fake([](const Seen& seen, httplib::Response& res) {
    if (seen.method == "POST" && seen.query == "uploads=") {
      s3_error(res, 500, "InternalError");  // created U-lost, then failed to say so
    } else if (seen.method == "GET" && seen.query.find("uploads") != std::string::npos) {
      res.set_content(
          "<ListMultipartUploadsResult><IsTruncated>false</IsTruncated>"
          "<Upload><Key>root/big</Key><UploadId>U-lost</UploadId></Upload>"
          "<Upload><Key>root/big-other</Key><UploadId>U-other</UploadId></Upload>"
          "</ListMultipartUploadsResult>",
          "application/xml");
    } else if (seen.method == "DELETE") {
      res.status = 204;
    }
  });
  auto backend = make_backend(options_for(fake.url(), nullptr));
  auto upload = backend->put("big");
  ASSERT_TRUE(upload.ok());
  auto written = (*upload)->write(std::string_view("0123456789"));
  ASSERT_FALSE(written.ok());
  EXPECT_NE(written.error().message().find("InternalError"), std::string::npos);
  EXPECT_EQ(fake.count("POST", "uploads="), 1);
  EXPECT_EQ(fake.count("DELETE", "uploadId=U-lost"), 1);
  EXPECT_EQ(fake.count("DELETE", "uploadId=U-other"), 0);
  auto requests = fake.requests();
  ASSERT_GE(requests.size(), 2u);
  EXPECT_NE(requests[1].query.find("prefix=root%2Fbig"), std::string::npos) << requests[1].query;
}

TEST(S3Backend, ListingStopsWhenTheServerRepeatsItsContinuation) {
  std::atomic<int> pages{0};
  FakeS3 fake([&](const Seen& seen, httplib::Response& res) {
    bool uploads = seen.query.find("uploads") != std::string::npos;
    // A broken server: the same token for ever (stopping after 50 pages so a loop ends).
    bool truncated = ++pages < 50;
    std::string flag = truncated ? "true" : "false";
    if (uploads) {
      res.set_content("<ListMultipartUploadsResult><IsTruncated>" + flag +
                          "</IsTruncated><NextKeyMarker>root/k</NextKeyMarker>"
                          "<NextUploadIdMarker>u</NextUploadIdMarker><Upload><Key>root/k</Key>"
                          "<UploadId>u</UploadId></Upload></ListMultipartUploadsResult>",
                      "application/xml");
    } else {
      res.set_content("<ListBucketResult><IsTruncated>" + flag +
                          "</IsTruncated><NextContinuationToken>same</NextContinuationToken>"
                          "<Contents><Key>root/a</Key><Size>1</Size></Contents>"
                          "</ListBucketResult>",
                      "application/xml");
    }
  });
  auto backend = make_backend(options_for(fake.url(), nullptr));
  auto listed = backend->list("");
  ASSERT_FALSE(listed.ok()) << listed->size() << " objects";
  EXPECT_EQ(listed.error().kind(), ErrorKind::corrupt);
  EXPECT_NE(listed.error().message().find("\"same\" twice"), std::string::npos)
      << listed.error().message();
  EXPECT_EQ(pages, 2);

  pages = 0;
  auto pending = backend->pending_uploads("");
  ASSERT_FALSE(pending.ok()) << pending->size() << " uploads";
  EXPECT_NE(pending.error().message().find("twice"), std::string::npos)
      << pending.error().message();
  EXPECT_EQ(pages, 2);
}

}  // namespace
}  // namespace csnap::storage
