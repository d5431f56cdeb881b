#include "storage/backend.hpp"

#include <fmt/format.h>

namespace csnap::storage {

Status validate_key(std::string_view key) {
  auto invalid = [&](std::string_view why) {
    return Error(ErrorKind::invalid_argument, fmt::format("invalid backup key '{}': {}", key, why));
  };
  if (key.empty())
    return invalid("empty");
  if (key.find('\0') != std::string_view::npos)
    return invalid("contains NUL");
  if (key.front() == '/')
    return invalid("starts with '/'");
  std::string_view rest = key;
  while (true) {
    auto slash = rest.find('/');
    auto segment = rest.substr(0, slash);
    if (segment.empty())
      return invalid("has an empty path segment");
    if (segment == "." || segment == "..")
      return invalid("has a '.' or '..' segment");
    if (slash == std::string_view::npos)
      break;
    rest.remove_prefix(slash + 1);
  }
  return {};
}

}  // namespace csnap::storage
