#pragma once
// JSON documents from outside (backup members, Consul's answers) parsed into nlohmann::json with
// a bound on their nesting: nlohmann's parser and destructor do not recurse, but copying,
// comparing and printing a document do, so a document nested a million levels deep must never
// become one.

#include <string_view>

#include <nlohmann/json.hpp>

#include "util/result.hpp"

namespace csnap {

// Deeper than anything Consul or this tool writes (an ACL policy or prepared query nests < 10).
inline constexpr int kMaxJsonDepth = 64;

// The document in `text`; not JSON, or nested deeper than `max_depth`, is ErrorKind::corrupt
// with the byte offset ("not JSON at byte 12: ..."). `what` names the document in the message.
Result<nlohmann::json> parse_json_document(std::string_view text, std::string_view what,
                                           int max_depth = kMaxJsonDepth);

}  // namespace csnap
