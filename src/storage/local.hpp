#pragma once
// Backups as files under a local directory: `<root>/<key>`, mode 0600, written to a temporary
// file beside the target, fsynced and renamed, so a file either is whole or is not there.

#include <filesystem>

#include "storage/backend.hpp"

namespace csnap::storage {

class LocalBackend final : public Backend {
 public:
  explicit LocalBackend(std::filesystem::path root) : root_(std::move(root)) {}

  std::string describe() const override;
  Result<std::unique_ptr<Upload>> put(std::string_view key) override;
  Result<std::unique_ptr<ByteSource>> get(std::string_view key) override;
  Result<ObjectInfo> stat(std::string_view key) override;
  Result<std::vector<ObjectInfo>> list(std::string_view prefix) override;
  Status remove(std::string_view key) override;

  const std::filesystem::path& root() const { return root_; }

 private:
  std::filesystem::path root_;
};

}  // namespace csnap::storage
