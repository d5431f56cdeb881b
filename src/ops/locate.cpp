#include "ops/locate.hpp"

#include <filesystem>
#include <optional>

#include <fmt/format.h>

#include "ops/naming.hpp"
#include "util/file.hpp"

namespace csnap::ops {

Result<storage::ObjectInfo> latest_backup(storage::Backend& backend, std::string_view prefix) {
  std::string list_prefix(prefix);
  if (!list_prefix.empty() && !list_prefix.ends_with('/'))
    list_prefix += '/';
  CSNAP_ASSIGN_OR_RETURN(auto objects, backend.list(list_prefix));
  std::optional<storage::ObjectInfo> newest;
  std::int64_t newest_time = 0;
  for (auto& object : objects) {
    auto time = backup_time_from_key(object.key);
    if (!time)
      continue;
    if (!newest || *time > newest_time || (*time == newest_time && object.key > newest->key)) {
      newest_time = *time;
      newest = std::move(object);
    }
  }
  if (!newest) {
    return Error(ErrorKind::not_found,
                 fmt::format("no backups under '{}' in {}", list_prefix, backend.describe()));
  }
  return *newest;
}

Result<LocatedBackup> locate_backup(storage::Backend& backend, std::string_view prefix,
                                    std::string_view spec) {
  if (spec == "latest") {
    CSNAP_ASSIGN_OR_RETURN(auto newest, latest_backup(backend, prefix));
    CSNAP_ASSIGN_OR_RETURN(auto source, backend.get(newest.key));
    return LocatedBackup{newest.key, nullptr, std::move(source)};
  }
  std::error_code error;
  std::filesystem::path path{std::string(spec)};
  if (std::filesystem::is_regular_file(path, error)) {
    CSNAP_ASSIGN_OR_RETURN(auto file, FileSource::open(path));
    return LocatedBackup{path.string(), nullptr, std::make_unique<FileSource>(std::move(file))};
  }
  auto source = backend.get(spec);
  if (!source.ok()) {
    if (source.error().kind() == ErrorKind::not_found ||
        source.error().kind() == ErrorKind::invalid_argument) {
      return Error(ErrorKind::not_found,
                   fmt::format("backup '{}' is neither a local file nor a key in {} (use a key "
                               "as listed there, 'latest', or a file path)",
                               spec, backend.describe()));
    }
    return std::move(source).error();
  }
  return LocatedBackup{std::string(spec), nullptr, std::move(source).value()};
}

}  // namespace csnap::ops
