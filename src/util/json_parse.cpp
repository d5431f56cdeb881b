#include "util/json_parse.hpp"

#include <fmt/format.h>

namespace csnap {

Result<nlohmann::json> parse_json_document(std::string_view text, std::string_view what,
                                           int max_depth) {
  struct TooDeep {};
  auto bound_depth = [max_depth](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
    if (depth > max_depth)
      throw TooDeep{};
    return true;
  };
  try {
    return nlohmann::json::parse(text, bound_depth);
  } catch (const TooDeep&) {
    return Error(ErrorKind::corrupt,
                 fmt::format("{}: JSON nested more than {} levels deep", what, max_depth));
  } catch (const nlohmann::json::exception& error) {
    // error.what() quotes the offending text, which may be a secret: give the offset only.
    const auto* parse_error = dynamic_cast<const nlohmann::json::parse_error*>(&error);
    if (parse_error != nullptr) {
      return Error(ErrorKind::corrupt,
                   fmt::format("{}: not JSON at byte {}", what, parse_error->byte));
    }
    return Error(ErrorKind::corrupt, fmt::format("{}: not JSON", what));
  }
}

}  // namespace csnap
