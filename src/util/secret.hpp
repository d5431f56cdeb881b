#pragma once
// A secret (token, password, key) that never prints: formatting or streaming it gives
// "**redacted**". Only `reveal()` gives the value, at the one place that must send it.

#include <ostream>
#include <string>
#include <utility>

#include <fmt/format.h>

namespace csnap {

class Secret {
 public:
  static constexpr std::string_view kRedacted = "**redacted**";

  Secret() = default;
  explicit Secret(std::string value) : value_(std::move(value)) {}

  const std::string& reveal() const { return value_; }
  bool empty() const { return value_.empty(); }

  friend std::ostream& operator<<(std::ostream& out, const Secret& /*secret*/) {
    return out << kRedacted;
  }
  friend bool operator==(const Secret&, const Secret&) = default;

 private:
  std::string value_;
};

}  // namespace csnap

template <>
struct fmt::formatter<csnap::Secret> : fmt::formatter<std::string_view> {
  template <typename FormatContext>
  auto format(const csnap::Secret& /*secret*/, FormatContext& ctx) const {
    return fmt::formatter<std::string_view>::format(csnap::Secret::kRedacted, ctx);
  }
};
