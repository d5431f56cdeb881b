#include "cli/table.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "util/json_string.hpp"

namespace csnap::cli {

std::string Table::render() const {
  // Cells hold names from backups and storage: nothing in them may move the cursor or recolour.
  auto rows = rows_;
  for (auto& row : rows) {
    for (auto& cell : row)
      cell = terminal_text(cell);
  }
  std::vector<std::size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()));
    for (std::size_t i = 0; i < row.size(); ++i)
      widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += i + 1 == row.size() ? row[i] : fmt::format("{:<{}}  ", row[i], widths[i]);
    }
    while (!line.empty() && line.back() == ' ')
      line.pop_back();
    out += line + "\n";
  }
  return out;
}

std::string human_bytes(std::uint64_t bytes) {
  if (bytes < 1024)
    return fmt::format("{} B", bytes);
  auto value = static_cast<double>(bytes);
  for (const char* unit : {"KiB", "MiB", "GiB", "TiB"}) {
    value /= 1024;
    if (value < 1024)
      return fmt::format("{:.1f} {}", value, unit);
  }
  return fmt::format("{:.1f} PiB", value / 1024);
}

}  // namespace csnap::cli
