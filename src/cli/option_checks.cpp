#include "cli/option_checks.hpp"

#include "daemon/http_server.hpp"
#include "ops/kv_restore.hpp"
#include "ops/restore.hpp"
#include "storage/registry.hpp"

namespace csnap::cli {
namespace {

// The error of `parsed`, if any: a check keeps no value.
template <typename T>
Status checked(Result<T> parsed) {
  if (!parsed.ok())
    return std::move(parsed).error();
  return {};
}

}  // namespace

std::vector<config::ValueCheck> option_checks() {
  namespace option = config::option;
  return {
      {option::kOnly, [](std::string_view text) { return checked(ops::parse_only(text)); }},
      {option::kTransform,
       [](std::string_view text) { return checked(ops::parse_transform(text)); }},
      {option::kHttpAddr,
       [](std::string_view text) -> Status {
         if (text == "off")
           return {};
         return checked(daemon::parse_listen_address(text));
       }},
      // The KMS key id is checked against the mode when the storage is opened.
      {option::kS3Sse, [](std::string_view text) { return checked(storage::parse_sse(text, {})); }},
  };
}

}  // namespace csnap::cli
