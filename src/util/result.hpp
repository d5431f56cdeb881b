#pragma once
// Failures as values: `Result<T>` holds either a `T` or an `Error`. Errors carry a kind that the
// code which understands the failure chooses, and a message that grows context as it is passed up
// ("restoring kv.json: txn 3: 409 rolled back").

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace csnap {

enum class ErrorKind {
  internal,           // a bug or an unexpected state
  invalid_argument,   // bad option or input from the user: exit code 2
  not_found,          // a key, object or file that does not exist
  permission_denied,  // 403, missing ACL permission, unreadable file
  unauthenticated,    // 401, bad or missing credentials
  transient,          // timeouts, 5xx, throttling: worth retrying
  conflict,           // a rolled-back transaction, a CAS failure
  corrupt,            // checksum mismatch, truncated or unparsable backup: exit code 3
  io,                 // local file system failures
  unavailable,        // cannot connect
  cancelled,          // stopped by a signal or a user's "no"
};

std::string_view to_string(ErrorKind kind);

class Error {
 public:
  Error(ErrorKind kind, std::string message) : kind_(kind), message_(std::move(message)) {}

  ErrorKind kind() const { return kind_; }
  const std::string& message() const { return message_; }

  // Prefixes the message with `context`: "context: message".
  Error& add_context(std::string_view context) {
    message_ = std::string(context) + ": " + message_;
    return *this;
  }

 private:
  ErrorKind kind_;
  std::string message_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  // Implicit, so that a function returns either a value or an Error.
  // NOLINTNEXTLINE(google-explicit-constructor)
  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}
  // NOLINTNEXTLINE(google-explicit-constructor)
  Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {}

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    assert(ok());
    return std::get<0>(state_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(state_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(state_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  Error& error() & {
    assert(!ok());
    return std::get<1>(state_);
  }
  const Error& error() const& {
    assert(!ok());
    return std::get<1>(state_);
  }
  Error&& error() && {
    assert(!ok());
    return std::get<1>(std::move(state_));
  }

 private:
  std::variant<T, Error> state_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }

  Error& error() & {
    assert(!ok());
    return *error_;
  }
  const Error& error() const& {
    assert(!ok());
    return *error_;
  }
  Error&& error() && {
    assert(!ok());
    return std::move(*error_);
  }

 private:
  std::optional<Error> error_;
};

using Status = Result<void>;

inline Status ok_status() {
  return {};
}

}  // namespace csnap

#define CSNAP_CONCAT_INNER(a, b) a##b
#define CSNAP_CONCAT(a, b) CSNAP_CONCAT_INNER(a, b)

// Returns the error of `expr` (a Result) from the enclosing function.
#define CSNAP_TRY(expr)                                           \
  do {                                                            \
    if (auto csnap_try_result = (expr); !csnap_try_result.ok()) { \
      return std::move(csnap_try_result).error();                 \
    }                                                             \
  } while (false)

// Returns the error of `expr` with `context` prefixed.
#define CSNAP_TRY_CONTEXT(expr, context)                                          \
  do {                                                                            \
    if (auto csnap_try_result = (expr); !csnap_try_result.ok()) {                 \
      return std::move(std::move(csnap_try_result).error().add_context(context)); \
    }                                                                             \
  } while (false)

// `tmp` is a name and `lhs` a declaration: neither can be parenthesised.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define CSNAP_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.ok()) {                                  \
    return std::move(tmp).error();                  \
  }                                                 \
  lhs = std::move(tmp).value()
// NOLINTEND(bugprone-macro-parentheses)

// `lhs = value of expr`, or returns its error: CSNAP_ASSIGN_OR_RETURN(auto body, read(path));
#define CSNAP_ASSIGN_OR_RETURN(lhs, expr) \
  CSNAP_ASSIGN_OR_RETURN_IMPL(CSNAP_CONCAT(csnap_result_, __COUNTER__), lhs, expr)
