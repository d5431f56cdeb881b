#pragma once
// A temporary folder for one test, removed with everything in it when the object goes away.

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace csnap::test_common {

class TempDir {
 public:
  // A new folder <temp>/<prefix>XXXXXX (mkdtemp); throws when it cannot be made.
  explicit TempDir(std::string_view prefix) {
    std::string pattern =
        (std::filesystem::temp_directory_path() / (std::string(prefix) + "XXXXXX")).string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw std::runtime_error("creating a temporary folder " + pattern + ": " +
                               std::strerror(errno));
    }
    root_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(root_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& root() const { return root_; }
  // The path of `name` in the folder.
  std::string path(const std::string& name) const { return (root_ / name).string(); }
  // Writes `text` to `name` in the folder (replacing it) and returns its path.
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(root_ / name) << text;
    return path(name);
  }

 private:
  std::filesystem::path root_;
};

}  // namespace csnap::test_common
