#pragma once
// The XML of the S3 API: error bodies, ListObjectsV2 and ListMultipartUploads pages, the
// multipart upload documents. Parsed with pugixml; malformed input is an error, never a crash.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/result.hpp"

namespace csnap::storage {

struct S3ErrorBody {
  std::string code;     // "NoSuchKey"
  std::string message;  // "The specified key does not exist."
  std::string request_id;
};

// The <Error> document in `xml`, or nullopt when `xml` is not one.
std::optional<S3ErrorBody> parse_s3_error(std::string_view xml);

// How the caller should treat a failed request with HTTP `status` and S3 error `code`.
ErrorKind s3_error_kind(long status, std::string_view code);

struct S3Object {
  std::string key;
  std::uint64_t size = 0;
  std::int64_t modified_unix = 0;
};

struct ListObjectsPage {
  std::vector<S3Object> objects;
  std::optional<std::string> next_continuation_token;  // set when the listing is truncated
};
Result<ListObjectsPage> parse_list_objects_v2(std::string_view xml);

struct S3MultipartUpload {
  std::string key;
  std::string upload_id;
};
struct ListUploadsPage {
  std::vector<S3MultipartUpload> uploads;
  // Markers for the next page, set when the listing is truncated.
  std::optional<std::pair<std::string, std::string>> next_key_and_upload_id;
};
Result<ListUploadsPage> parse_list_multipart_uploads(std::string_view xml);

// The UploadId of an InitiateMultipartUploadResult.
Result<std::string> parse_initiate_multipart(std::string_view xml);

// The body of CompleteMultipartUpload for `etags` (part 1 first).
std::string complete_multipart_body(const std::vector<std::string>& etags);

}  // namespace csnap::storage
