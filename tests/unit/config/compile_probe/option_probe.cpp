// Compiled only by the tests of tests/unit/config/CMakeLists.txt, once per probe: the correct
// probe must compile (so the harness itself works); each other must not, for the reason the
// test's expected output names.

#include "config/options.hpp"

namespace csnap::config {

#if defined(PROBE_CORRECT)
std::chrono::seconds probe_read(const Config& config) {
  constexpr Option<std::chrono::seconds> by_name{"lock-ttl"};
  return config.get(option::kLockTtl) + config.get(by_name);
}
#elif defined(PROBE_MISSPELT_CONSTANT)
std::chrono::seconds probe_read(const Config& config) {
  return config.get(option::kLockTll);
}
#elif defined(PROBE_MISSPELT_NAME)
std::chrono::seconds probe_read(const Config& config) {
  constexpr Option<std::chrono::seconds> by_name{"lock-tll"};
  return config.get(by_name);
}
#elif defined(PROBE_WRONG_TYPE)
bool probe_read(const Config& config) {
  constexpr Option<bool> by_name{"lock-ttl"};
  return config.get(by_name);
}
#else
#error "define one PROBE_..."
#endif

}  // namespace csnap::config
