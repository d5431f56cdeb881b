#pragma once
// Plain-text tables for command output: columns padded to their widest cell.

#include <string>
#include <vector>

namespace csnap::cli {

class Table {
 public:
  explicit Table(std::vector<std::string> header) : rows_{std::move(header)} {}
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  // The table, one line per row, columns separated by two spaces; every cell through
  // terminal_text (control characters escaped).
  std::string render() const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

// "1.2 MiB", "512 B".
std::string human_bytes(std::uint64_t bytes);

}  // namespace csnap::cli
