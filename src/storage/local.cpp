#include "storage/local.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <random>
#include <system_error>
#include <variant>
#include <vector>

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/file.hpp"

namespace csnap::storage {
namespace {

namespace fs = std::filesystem;

bool is_temporary(const fs::path& path) {
  auto name = path.filename().string();
  return name.starts_with('.') && name.ends_with(".tmp");
}

Status rename_into_place(const fs::path& from, const fs::path& target) {
  std::error_code error;
  fs::rename(from, target, error);
  if (error) {
    return Error(ErrorKind::io, fmt::format("renaming {} to {}: {}", from.string(), target.string(),
                                            error.message()));
  }
  return {};
}

// The object is written to a file with no name (O_TMPFILE) and linked under its key once it is
// complete and synced, so that a killed upload leaves nothing behind. Where the file system has
// no O_TMPFILE, a named temporary file is renamed into place instead.
class LocalUpload final : public Upload {
 public:
  LocalUpload(std::variant<SpoolFile, TempFile> temp, FileSink sink, fs::path target)
      : temp_(std::move(temp)), sink_(std::move(sink)), target_(std::move(target)) {}

  using ByteSink::write;
  Status write(std::span<const std::byte> data) override { return sink_.write(data); }

  Status finish() override {
    CSNAP_TRY(sink_.finish());
    if (auto* named = std::get_if<TempFile>(&temp_)) {
      CSNAP_TRY(rename_into_place(named->path(), target_));
      named->release();
    } else {
      CSNAP_TRY(publish(std::get<SpoolFile>(temp_)));
    }
    return sync_parent_directory(target_);
  }

 private:
  // Links `unnamed` as the target; over an existing object, through a temporary name.
  Status publish(const SpoolFile& unnamed) {
    auto linked = unnamed.link_as(target_);
    if (linked.ok() || linked.error().kind() != ErrorKind::conflict)
      return linked;
    std::random_device device;
    std::mt19937_64 generator(device());
    for (int attempt = 0; attempt < 16; ++attempt) {
      auto named = target_.parent_path() /
                   fmt::format(".{}.{:016x}.tmp", target_.filename().string(), generator());
      auto status = unnamed.link_as(named);
      if (!status.ok() && status.error().kind() == ErrorKind::conflict)
        continue;
      CSNAP_TRY(status);
      auto renamed = rename_into_place(named, target_);
      if (!renamed.ok())
        ::unlink(named.c_str());
      return renamed;
    }
    return Error(ErrorKind::io, fmt::format("no free temporary name beside {}", target_.string()));
  }

  std::variant<SpoolFile, TempFile> temp_;
  FileSink sink_;
  fs::path target_;
};

// Creates `directory` and its missing parents with mode 0700 (backups are nobody else's to list),
// syncing the directory that holds each new one so that it survives a crash. Directories that
// exist keep their mode.
Status make_directories(const fs::path& directory) {
  std::vector<fs::path> missing;
  for (fs::path path = directory; !path.empty(); path = path.parent_path()) {
    struct ::stat info {};
    if (::stat(path.c_str(), &info) == 0) {
      if (!S_ISDIR(info.st_mode)) {
        return Error(ErrorKind::io, fmt::format("creating directory {}: {} is not a directory",
                                                directory.string(), path.string()));
      }
      break;
    }
    if (errno != ENOENT)
      return errno_error(fmt::format("creating directory {}", directory.string()));
    missing.push_back(path);
    if (path == path.parent_path())
      break;
  }
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    if (::mkdir(it->c_str(), 0700) != 0 && errno != EEXIST)
      return errno_error(fmt::format("creating directory {}", it->string()));
    CSNAP_TRY(sync_parent_directory(*it));
  }
  return {};
}

}  // namespace

std::string LocalBackend::describe() const {
  std::error_code error;
  auto absolute = fs::absolute(root_, error);
  return "file://" + (error ? root_.string() : absolute.lexically_normal().string());
}

Result<std::unique_ptr<Upload>> LocalBackend::put(std::string_view key) {
  CSNAP_TRY(validate_key(key));
  fs::path target = root_ / fs::path(std::string(key));
  CSNAP_TRY(make_directories(target.parent_path()));
  auto unnamed = SpoolFile::create(target.parent_path(), {.linkable = true});
  if (unnamed.ok() && unnamed->linkable()) {
    CSNAP_ASSIGN_OR_RETURN(auto sink, unnamed->rewrite(/*sync=*/true));
    return std::unique_ptr<Upload>(
        std::make_unique<LocalUpload>(std::move(*unnamed), std::move(sink), std::move(target)));
  }
  CSNAP_ASSIGN_OR_RETURN(auto temp,
                         TempFile::create(target.parent_path(), target.filename().string()));
  CSNAP_ASSIGN_OR_RETURN(auto sink, FileSink::create(temp.path(), /*truncate=*/true));
  return std::unique_ptr<Upload>(
      std::make_unique<LocalUpload>(std::move(temp), std::move(sink), std::move(target)));
}

Result<std::unique_ptr<ByteSource>> LocalBackend::get(std::string_view key) {
  CSNAP_TRY(validate_key(key));
  CSNAP_ASSIGN_OR_RETURN(auto source, FileSource::open(root_ / fs::path(std::string(key))));
  return std::unique_ptr<ByteSource>(std::make_unique<FileSource>(std::move(source)));
}

Result<ObjectInfo> LocalBackend::stat(std::string_view key) {
  CSNAP_TRY(validate_key(key));
  auto path = root_ / fs::path(std::string(key));
  struct ::stat info {};
  if (::stat(path.c_str(), &info) != 0)
    return errno_error(fmt::format("stat {}", path.string()));
  if (!S_ISREG(info.st_mode)) {
    return Error(ErrorKind::not_found, fmt::format("{} is not a backup file", path.string()));
  }
  return ObjectInfo{std::string(key), static_cast<std::uint64_t>(info.st_size), info.st_mtime};
}

Result<std::vector<ObjectInfo>> LocalBackend::list(std::string_view prefix) {
  std::vector<ObjectInfo> out;
  std::error_code error;
  if (!fs::exists(root_, error))
    return out;
  fs::recursive_directory_iterator it(root_, error), end;
  if (error) {
    return Error(ErrorKind::io, fmt::format("listing {}: {}", root_.string(), error.message()));
  }
  for (; it != end; it.increment(error)) {
    if (error) {
      return Error(ErrorKind::io, fmt::format("listing {}: {}", root_.string(), error.message()));
    }
    if (!it->is_regular_file(error) || is_temporary(it->path()))
      continue;
    auto key = it->path().lexically_relative(root_).generic_string();
    if (!key.starts_with(prefix))
      continue;
    struct ::stat info {};
    if (::stat(it->path().c_str(), &info) != 0)
      continue;  // removed while listing
    out.push_back({key, static_cast<std::uint64_t>(info.st_size), info.st_mtime});
  }
  std::sort(out.begin(), out.end(),
            [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
  return out;
}

Status LocalBackend::remove(std::string_view key) {
  CSNAP_TRY(validate_key(key));
  auto path = root_ / fs::path(std::string(key));
  std::error_code error;
  if (!fs::remove(path, error) && !error) {
    return Error(ErrorKind::not_found, fmt::format("{} does not exist", path.string()));
  }
  if (error) {
    return Error(ErrorKind::io, fmt::format("removing {}: {}", path.string(), error.message()));
  }
  return {};
}

}  // namespace csnap::storage
