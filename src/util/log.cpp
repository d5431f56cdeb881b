#include "util/log.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <ctime>
#include <mutex>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/text.hpp"
#include "util/time.hpp"

namespace csnap::log {
namespace {

struct State {
  std::mutex mutex;
  std::atomic<Level> level{Level::info};
  Format format = Format::text;
  std::FILE* output = stderr;
  std::vector<std::string> secrets;
  std::function<void()> before_write;
};

State& state() {
  static State instance;
  return instance;
}

std::string_view level_name(Level level) {
  switch (level) {
    case Level::debug:
      return "DEBUG";
    case Level::info:
      return "INFO";
    case Level::warn:
      return "WARN";
    case Level::error:
      return "ERROR";
  }
  return "INFO";
}

std::string scrub(std::string_view message, const std::vector<std::string>& secrets) {
  std::string out(message);
  for (const auto& secret : secrets) {
    for (auto pos = out.find(secret); pos != std::string::npos; pos = out.find(secret, pos)) {
      out.replace(pos, secret.size(), "**redacted**");
      pos += 12;
    }
  }
  return out;
}

}  // namespace

bool parse_level(std::string_view text, Level& level) {
  auto name = to_lower(text);
  if (name == "debug" || name == "trace") {
    level = Level::debug;
  } else if (name == "info") {
    level = Level::info;
  } else if (name == "warn" || name == "warning") {
    level = Level::warn;
  } else if (name == "error") {
    level = Level::error;
  } else {
    return false;
  }
  return true;
}

bool parse_format(std::string_view text, Format& format) {
  auto name = to_lower(text);
  if (name == "text") {
    format = Format::text;
  } else if (name == "json") {
    format = Format::json;
  } else {
    return false;
  }
  return true;
}

void set_level(Level level) {
  state().level = level;
}
Level level() {
  return state().level;
}

void set_format(Format format) {
  std::lock_guard lock(state().mutex);
  state().format = format;
}

void set_output(std::FILE* stream) {
  std::lock_guard lock(state().mutex);
  state().output = stream;
}

void register_secret(std::string_view secret) {
  if (secret.size() < 4)
    return;
  std::lock_guard lock(state().mutex);
  // A daemon registers the same token on every turn (its Consul client is made anew): keep one.
  auto& secrets = state().secrets;
  if (std::find(secrets.begin(), secrets.end(), secret) == secrets.end())
    secrets.emplace_back(secret);
}

std::size_t registered_secret_count() {
  std::lock_guard lock(state().mutex);
  return state().secrets.size();
}

std::string scrub_secrets(std::string_view message) {
  std::lock_guard lock(state().mutex);
  return scrub(message, state().secrets);
}

void set_before_write(std::function<void()> hook) {
  std::lock_guard lock(state().mutex);
  state().before_write = std::move(hook);
}

void write(Level level, std::string_view message) {
  auto& s = state();
  std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);

  std::lock_guard lock(s.mutex);
  std::string text = scrub(message, s.secrets);
  std::string line;
  if (s.format == Format::json) {
    nlohmann::json object = {
        {"time", format_rfc3339(std::chrono::sys_seconds{std::chrono::seconds{now}})},
        {"level", to_lower(level_name(level))},
        {"msg", text}};
    line = object.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } else {
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y/%m/%d %H:%M:%S", &local);
    line = fmt::format("{} [{}] {}", stamp, level_name(level), text);
  }
  line.push_back('\n');
  if (s.before_write)
    s.before_write();
  std::fwrite(line.data(), 1, line.size(), s.output);
  std::fflush(s.output);
}

}  // namespace csnap::log
