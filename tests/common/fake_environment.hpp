#pragma once
// An environment for code that takes a lookup function instead of reading getenv (the
// storage::EnvironmentLookup signature).

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace csnap::test_common {

// Looks names up in `values`; a name that is missing or maps to "" is unset.
inline std::function<std::optional<std::string>(std::string_view name)> fake_environment(
    std::map<std::string, std::string> values) {
  return [values = std::move(values)](std::string_view name) -> std::optional<std::string> {
    auto it = values.find(std::string(name));
    if (it == values.end() || it->second.empty())
      return std::nullopt;
    return it->second;
  };
}

}  // namespace csnap::test_common
