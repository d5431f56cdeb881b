#include "util/result.hpp"

namespace csnap {

std::string_view to_string(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::internal:
      return "internal";
    case ErrorKind::invalid_argument:
      return "invalid argument";
    case ErrorKind::not_found:
      return "not found";
    case ErrorKind::permission_denied:
      return "permission denied";
    case ErrorKind::unauthenticated:
      return "unauthenticated";
    case ErrorKind::transient:
      return "transient";
    case ErrorKind::conflict:
      return "conflict";
    case ErrorKind::corrupt:
      return "corrupt";
    case ErrorKind::io:
      return "i/o";
    case ErrorKind::unavailable:
      return "unavailable";
    case ErrorKind::cancelled:
      return "cancelled";
  }
  return "unknown";
}

}  // namespace csnap
