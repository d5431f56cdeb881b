#include "storage/s3_xml.hpp"

#include <charconv>

#include <fmt/format.h>
#include <pugixml.hpp>

#include "http/retry.hpp"
#include "util/text.hpp"
#include "util/time.hpp"

namespace csnap::storage {
namespace {

Result<pugi::xml_document> load(std::string_view xml, std::string_view what) {
  pugi::xml_document document;
  auto parsed = document.load_buffer(xml.data(), xml.size(), pugi::parse_default);
  if (!parsed) {
    return Error(ErrorKind::corrupt,
                 fmt::format("malformed {} XML from the server: {} at offset {}", what,
                             parsed.description(), parsed.offset));
  }
  return document;
}

std::string text_of(const pugi::xml_node& node, const char* child) {
  return node.child(child).text().as_string();
}

Result<std::uint64_t> parse_size(std::string_view text) {
  std::uint64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || text.empty())
    return Error(ErrorKind::corrupt, fmt::format("bad object size '{}' in a listing", text));
  return value;
}

bool is_true(const pugi::xml_node& node, const char* child) {
  return to_lower(trim(text_of(node, child))) == "true";
}

}  // namespace

std::optional<S3ErrorBody> parse_s3_error(std::string_view xml) {
  if (trim(xml).empty())
    return std::nullopt;
  auto document = load(xml, "error");
  if (!document.ok())
    return std::nullopt;
  auto root = document->child("Error");
  if (!root)
    return std::nullopt;
  S3ErrorBody out{text_of(root, "Code"), text_of(root, "Message"), text_of(root, "RequestId")};
  if (out.code.empty())
    return std::nullopt;
  return out;
}

ErrorKind s3_error_kind(long status, std::string_view code) {
  if (code == "InvalidAccessKeyId" || code == "SignatureDoesNotMatch" || code == "ExpiredToken" ||
      code == "InvalidToken" || code == "TokenRefreshRequired" || code == "MissingSecurityHeader" ||
      code == "RequestTimeTooSkewed") {
    return ErrorKind::unauthenticated;
  }
  if (code == "AccessDenied" || code == "AllAccessDisabled" || code == "AccountProblem")
    return ErrorKind::permission_denied;
  if (code == "NoSuchBucket" || code == "NoSuchKey" || code == "NoSuchUpload")
    return ErrorKind::not_found;
  if (code == "SlowDown" || code == "InternalError" || code == "ServiceUnavailable" ||
      code == "RequestTimeout" || code == "OperationAborted") {
    return ErrorKind::transient;
  }
  if (code == "PreconditionFailed")
    return ErrorKind::conflict;
  if (status == 401)
    return ErrorKind::unauthenticated;
  return http::error_kind_for_status(status);
}

Result<ListObjectsPage> parse_list_objects_v2(std::string_view xml) {
  CSNAP_ASSIGN_OR_RETURN(auto document, load(xml, "ListObjectsV2"));
  auto root = document.child("ListBucketResult");
  if (!root)
    return Error(ErrorKind::corrupt, "ListObjectsV2 answer has no ListBucketResult");
  ListObjectsPage page;
  for (auto node : root.children("Contents")) {
    S3Object object;
    object.key = text_of(node, "Key");
    if (object.key.empty())
      return Error(ErrorKind::corrupt, "ListObjectsV2 answer has an object without a key");
    CSNAP_ASSIGN_OR_RETURN(object.size, parse_size(text_of(node, "Size")));
    auto modified = parse_rfc3339(text_of(node, "LastModified"));
    object.modified_unix = modified ? modified->time_since_epoch().count() : 0;
    page.objects.push_back(std::move(object));
  }
  if (is_true(root, "IsTruncated")) {
    auto token = text_of(root, "NextContinuationToken");
    if (token.empty())
      return Error(ErrorKind::corrupt, "truncated ListObjectsV2 answer without a continuation");
    page.next_continuation_token = std::move(token);
  }
  return page;
}

Result<ListUploadsPage> parse_list_multipart_uploads(std::string_view xml) {
  CSNAP_ASSIGN_OR_RETURN(auto document, load(xml, "ListMultipartUploads"));
  auto root = document.child("ListMultipartUploadsResult");
  if (!root)
    return Error(ErrorKind::corrupt, "ListMultipartUploads answer has no result element");
  ListUploadsPage page;
  for (auto node : root.children("Upload"))
    page.uploads.push_back({text_of(node, "Key"), text_of(node, "UploadId")});
  if (is_true(root, "IsTruncated")) {
    page.next_key_and_upload_id.emplace(text_of(root, "NextKeyMarker"),
                                        text_of(root, "NextUploadIdMarker"));
  }
  return page;
}

Result<std::string> parse_initiate_multipart(std::string_view xml) {
  CSNAP_ASSIGN_OR_RETURN(auto document, load(xml, "CreateMultipartUpload"));
  std::string id = text_of(document.child("InitiateMultipartUploadResult"), "UploadId");
  if (id.empty())
    return Error(ErrorKind::corrupt, "CreateMultipartUpload answer has no UploadId");
  return id;
}

std::string complete_multipart_body(const std::vector<std::string>& etags) {
  std::string out = "<CompleteMultipartUpload>";
  for (std::size_t i = 0; i < etags.size(); ++i) {
    out += fmt::format("<Part><PartNumber>{}</PartNumber><ETag>{}</ETag></Part>", i + 1,
                       html_escape(etags[i]));
  }
  out += "</CompleteMultipartUpload>";
  return out;
}

}  // namespace csnap::storage
