#pragma once
// Logging in the original tool's line format, `2016/07/08 12:01:47 [INFO] message`, or one JSON
// object a line with `--log-format json`. Lines go to stderr (or a chosen stream); the output of
// commands goes to stdout.

#include <cstddef>
#include <cstdio>
#include <functional>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace csnap::log {

enum class Level { debug = 0, info = 1, warn = 2, error = 3 };
enum class Format { text, json };

// Parses "debug", "info", "warn"/"warning", "error" (any case).
bool parse_level(std::string_view text, Level& level);
bool parse_format(std::string_view text, Format& format);

void set_level(Level level);
void set_format(Format format);
void set_output(std::FILE* stream);
Level level();

// Every later log line has each occurrence of `secret` replaced by **redacted**: a second line of
// defence behind the Secret type. Values shorter than 4 bytes are ignored; a value registered
// again is kept once (a daemon registers its token on every turn).
void register_secret(std::string_view secret);
// How many distinct secrets are registered.
std::size_t registered_secret_count();

// `message` with every registered secret replaced by **redacted**, as a log line would show it:
// for text that leaves the process by another way (the daemon's /health, status and page).
std::string scrub_secrets(std::string_view message);

// `hook` runs before each line is written (e.g. to clear a progress line on the terminal);
// an empty function removes it.
void set_before_write(std::function<void()> hook);

void write(Level level, std::string_view message);

template <typename... Args>
void debug(fmt::format_string<Args...> format, Args&&... args) {
  if (level() <= Level::debug)
    write(Level::debug, fmt::format(format, std::forward<Args>(args)...));
}
template <typename... Args>
void info(fmt::format_string<Args...> format, Args&&... args) {
  if (level() <= Level::info)
    write(Level::info, fmt::format(format, std::forward<Args>(args)...));
}
template <typename... Args>
void warn(fmt::format_string<Args...> format, Args&&... args) {
  if (level() <= Level::warn)
    write(Level::warn, fmt::format(format, std::forward<Args>(args)...));
}
template <typename... Args>
void error(fmt::format_string<Args...> format, Args&&... args) {
  write(Level::error, fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace csnap::log
