#pragma once
// Small string helpers shared by every layer.

#include <string>
#include <string_view>

namespace csnap {

// `text` without leading and trailing ASCII white space.
std::string_view trim(std::string_view text);
// `text` with ASCII letters in lower case.
std::string to_lower(std::string_view text);

}  // namespace csnap
