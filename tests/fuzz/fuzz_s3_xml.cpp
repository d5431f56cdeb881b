// Fuzz target: every parser of S3 responses (error bodies, ListObjectsV2 and
// ListMultipartUploads pages, InitiateMultipartUploadResult) and the two date formats S3 uses.

#include <cstddef>
#include <cstdint>

#include "fuzz_support.hpp"
#include "storage/s3_xml.hpp"
#include "util/time.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace csnap;
  auto text = fuzz::as_text(data, size);
  if (auto error = storage::parse_s3_error(text))
    (void)storage::s3_error_kind(400, error->code);
  (void)storage::parse_list_objects_v2(text);
  (void)storage::parse_list_multipart_uploads(text);
  (void)storage::parse_initiate_multipart(text);
  (void)parse_rfc3339(text);
  (void)parse_http_date(text);
  return 0;
}
