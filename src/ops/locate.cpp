#include "ops/locate.hpp"

#include <algorithm>
#include <filesystem>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "ops/encryption.hpp"
#include "ops/naming.hpp"
#include "util/file.hpp"
#include "util/log.hpp"
#include "util/time.hpp"

namespace csnap::ops {

Result<storage::ObjectInfo> latest_backup(storage::Backend& backend, std::string_view prefix,
                                          const LatestOptions& options) {
  std::string list_prefix(prefix);
  if (!list_prefix.empty() && !list_prefix.ends_with('/'))
    list_prefix += '/';
  CSNAP_ASSIGN_OR_RETURN(auto objects, backend.list(list_prefix));
  std::vector<std::pair<std::int64_t, storage::ObjectInfo>> dated;
  std::size_t future_dated = 0;
  for (auto& object : objects) {
    auto time = backup_time_from_key(object.key);
    if (!time)
      continue;
    if (dated_in_future(*time, options.now)) {
      log::warn(
          "Ignoring backup {} for 'latest': its name dates it {}, more than {}s ahead of "
          "this machine's clock; a wrong clock or someone who can write to the storage put "
          "it there (name it to use it anyway; remove it if it is not yours)",
          object.key, format_rfc3339(std::chrono::sys_seconds{std::chrono::seconds{*time}}),
          kMaxFutureSkew.count());
      ++future_dated;
      continue;
    }
    dated.emplace_back(*time, std::move(object));
  }
  sort_newest_first(dated, [](const auto& backup) {
    return BackupSortKey{backup.first, backup.second.key};
  });
  std::size_t unencrypted = 0;
  for (auto& [time, object] : dated) {
    if (options.skip_unencrypted) {
      auto probe = backend.get(object.key);
      if (!probe.ok())
        return std::move(probe).error().add_context(fmt::format("reading {}", object.key));
      auto encryption = describe_encryption(**probe);
      if (!encryption.ok())
        return std::move(encryption).error().add_context(fmt::format("reading {}", object.key));
      if (encryption->empty()) {
        log::warn(
            "Skipping backup {} for 'latest': it is not encrypted although a key is "
            "configured, and anyone who can write to the storage could have put it there "
            "(name it and pass --allow-unencrypted to use it)",
            object.key);
        ++unencrypted;
        continue;
      }
    }
    return std::move(object);
  }
  std::string ignored;
  if (future_dated > 0 || unencrypted > 0) {
    ignored = fmt::format(
        " to pick as 'latest' ({} dated in the future and {} unencrypted ones "
        "were ignored, see the warnings)",
        future_dated, unencrypted);
  }
  return Error(ErrorKind::not_found, fmt::format("no backups under '{}' in {}{}", list_prefix,
                                                 backend.describe(), ignored));
}

Result<LocatedBackup> locate_backup(storage::Backend& backend, std::string_view prefix,
                                    std::string_view spec, const LatestOptions& latest) {
  if (spec == "latest") {
    CSNAP_ASSIGN_OR_RETURN(auto newest, latest_backup(backend, prefix, latest));
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
