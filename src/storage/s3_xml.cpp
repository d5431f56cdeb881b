#include "storage/s3_xml.hpp"

#include <charconv>
#include <cstdio>
#include <ctime>

#include <fmt/format.h>
#include <pugixml.hpp>

#include "http/retry.hpp"
#include "util/text.hpp"

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

std::string escape_xml(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::optional<std::int64_t> to_unix(int year, int month, int day, int hour, int minute,
                                    int second) {
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60)
    return std::nullopt;
  std::tm utc{};
  utc.tm_year = year - 1900;
  utc.tm_mon = month - 1;
  utc.tm_mday = day;
  utc.tm_hour = hour;
  utc.tm_min = minute;
  utc.tm_sec = second;
  return static_cast<std::int64_t>(timegm(&utc));
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
    object.modified_unix = parse_iso8601(text_of(node, "LastModified")).value_or(0);
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
                       escape_xml(etags[i]));
  }
  out += "</CompleteMultipartUpload>";
  return out;
}

std::optional<std::int64_t> parse_iso8601(std::string_view text) {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  std::string copy(text);
  if (std::sscanf(copy.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &year, &month, &day, &hour, &minute,
                  &second) != 6) {
    return std::nullopt;
  }
  return to_unix(year, month, day, hour, minute, second);
}

std::optional<std::int64_t> parse_http_date(std::string_view text) {
  static constexpr std::string_view months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  int day = 0, year = 0, hour = 0, minute = 0, second = 0;
  char month_name[4] = {0};
  std::string copy(text);
  if (std::sscanf(copy.c_str(), "%*3s, %2d %3s %4d %2d:%2d:%2d", &day, month_name, &year, &hour,
                  &minute, &second) != 6) {
    return std::nullopt;
  }
  for (int i = 0; i < 12; ++i) {
    if (months[i] == month_name)
      return to_unix(year, i + 1, day, hour, minute, second);
  }
  return std::nullopt;
}

}  // namespace csnap::storage
