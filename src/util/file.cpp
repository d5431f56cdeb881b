#include "util/file.hpp"

#include <cerrno>
#include <cstring>
#include <random>

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include "util/stop.hpp"

namespace csnap {

Error errno_error(std::string_view what) {
  int code = errno;
  ErrorKind kind = ErrorKind::io;
  if (code == ENOENT)
    kind = ErrorKind::not_found;
  if (code == EACCES || code == EPERM)
    kind = ErrorKind::permission_denied;
  return Error(kind, fmt::format("{}: {}", what, std::strerror(code)));
}

Result<FileSource> FileSource::open(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return errno_error(fmt::format("opening {}", path.string()));
  return FileSource(fd, path);
}

FileSource::FileSource(FileSource&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      path_(std::move(other.path_)),
      positional_(other.positional_),
      offset_(other.offset_) {}

FileSource& FileSource::operator=(FileSource&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
    positional_ = other.positional_;
    offset_ = other.offset_;
  }
  return *this;
}

FileSource::~FileSource() {
  if (fd_ >= 0)
    ::close(fd_);
}

Result<std::size_t> FileSource::read(std::span<std::byte> buffer) {
  CSNAP_TRY(check_stop());
  while (true) {
    ssize_t count = positional_
                        ? ::pread(fd_, buffer.data(), buffer.size(), static_cast<off_t>(offset_))
                        : ::read(fd_, buffer.data(), buffer.size());
    if (count >= 0) {
      offset_ += static_cast<std::uint64_t>(count);
      return static_cast<std::size_t>(count);
    }
    if (errno != EINTR)
      return errno_error(fmt::format("reading {}", path_.string()));
  }
}

Result<FileSink> FileSink::create(const std::filesystem::path& path, bool truncate) {
  int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (truncate ? O_TRUNC : O_EXCL);
  int fd = ::open(path.c_str(), flags, 0600);
  if (fd < 0)
    return errno_error(fmt::format("creating {}", path.string()));
  return FileSink(fd, path);
}

FileSink::FileSink(FileSink&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      path_(std::move(other.path_)),
      sync_(other.sync_),
      written_(other.written_) {}

FileSink& FileSink::operator=(FileSink&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
    sync_ = other.sync_;
    written_ = other.written_;
  }
  return *this;
}

FileSink::~FileSink() {
  if (fd_ >= 0)
    ::close(fd_);
}

Status FileSink::write(std::span<const std::byte> data) {
  if (fd_ < 0)
    return Error(ErrorKind::internal, "write to a finished file sink");
  CSNAP_TRY(check_stop());
  while (!data.empty()) {
    ssize_t count = ::write(fd_, data.data(), data.size());
    if (count < 0) {
      if (errno == EINTR)
        continue;
      return errno_error(fmt::format("writing {}", path_.string()));
    }
    data = data.subspan(static_cast<std::size_t>(count));
    written_ += static_cast<std::uint64_t>(count);
  }
  return {};
}

Status FileSink::finish() {
  if (fd_ < 0)
    return {};
  if (sync_ && ::fsync(fd_) != 0)
    return errno_error(fmt::format("syncing {}", path_.string()));
  int fd = std::exchange(fd_, -1);
  if (::close(fd) != 0)
    return errno_error(fmt::format("closing {}", path_.string()));
  return {};
}

namespace {

// Creates a new file .<stem>.<random>.tmp (mode 0600) in `directory`, open for reading and
// writing; sets `path` to its name.
Result<int> create_uniquely_named(const std::filesystem::path& directory, std::string_view stem,
                                  std::filesystem::path& path) {
  std::random_device device;
  std::mt19937_64 generator(device());
  for (int attempt = 0; attempt < 16; ++attempt) {
    path = directory / fmt::format(".{}.{:016x}.tmp", stem, generator());
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0)
      return fd;
    if (errno != EEXIST)
      return errno_error(fmt::format("creating a temporary file in {}", directory.string()));
  }
  return Error(ErrorKind::io, fmt::format("no free temporary file name in {}", directory.string()));
}

}  // namespace

Result<SpoolFile> SpoolFile::create(const std::filesystem::path& directory,
                                    const SpoolFileOptions& options) {
  // Without O_EXCL an O_TMPFILE file can be linked into a directory later; with it, never.
  int flags = O_TMPFILE | O_RDWR | O_CLOEXEC | (options.linkable ? 0 : O_EXCL);
  int fd = ::open(directory.c_str(), flags, 0600);
  if (fd >= 0)
    return SpoolFile(fd, directory, options.linkable);
  // EOPNOTSUPP: the file system has no O_TMPFILE; EISDIR/EINVAL: the kernel does not know it.
  if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) {
    return errno_error(fmt::format("creating a temporary file in {}", directory.string()));
  }
  // A named file, unlinked before anything is written to it.
  std::filesystem::path path;
  CSNAP_ASSIGN_OR_RETURN(fd, create_uniquely_named(directory, "spool", path));
  if (::unlink(path.c_str()) != 0) {
    auto error = errno_error(fmt::format("removing the name of {}", path.string()));
    ::close(fd);
    return error;
  }
  return SpoolFile(fd, directory, false);
}

SpoolFile::SpoolFile(SpoolFile&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      directory_(std::move(other.directory_)),
      linkable_(other.linkable_) {}

SpoolFile& SpoolFile::operator=(SpoolFile&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    directory_ = std::move(other.directory_);
    linkable_ = other.linkable_;
  }
  return *this;
}

SpoolFile::~SpoolFile() {
  if (fd_ >= 0)
    ::close(fd_);
}

std::string SpoolFile::description() const {
  return fmt::format("an unnamed temporary file in {}", directory_.string());
}

Result<FileSink> SpoolFile::rewrite(bool sync) const {
  int fd = ::fcntl(fd_, F_DUPFD_CLOEXEC, 0);
  if (fd < 0)
    return errno_error(fmt::format("opening {}", description()));
  if (::ftruncate(fd, 0) != 0 || ::lseek(fd, 0, SEEK_SET) != 0) {
    auto error = errno_error(fmt::format("emptying {}", description()));
    ::close(fd);
    return error;
  }
  return FileSink(fd, description(), sync);
}

Result<FileSource> SpoolFile::read() const {
  int fd = ::fcntl(fd_, F_DUPFD_CLOEXEC, 0);
  if (fd < 0)
    return errno_error(fmt::format("opening {}", description()));
  return FileSource(fd, description(), /*positional=*/true);
}

Status SpoolFile::link_as(const std::filesystem::path& path) const {
  if (!linkable_)
    return Error(ErrorKind::internal, fmt::format("{} cannot be given a name", description()));
  // AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; the /proc link works for the file's owner.
  if (::linkat(fd_, "", AT_FDCWD, path.c_str(), AT_EMPTY_PATH) == 0)
    return {};
  if (errno != EEXIST) {
    auto self = fmt::format("/proc/self/fd/{}", fd_);
    if (::linkat(AT_FDCWD, self.c_str(), AT_FDCWD, path.c_str(), AT_SYMLINK_FOLLOW) == 0)
      return {};
  }
  if (errno == EEXIST)
    return Error(ErrorKind::conflict, fmt::format("{} already exists", path.string()));
  return errno_error(fmt::format("naming {} {}", description(), path.string()));
}

Result<TempFile> TempFile::create(const std::filesystem::path& directory, std::string_view stem) {
  std::filesystem::path path;
  CSNAP_ASSIGN_OR_RETURN(int fd, create_uniquely_named(directory, stem, path));
  ::close(fd);
  return TempFile(path);
}

TempFile::TempFile(TempFile&& other) noexcept : path_(std::move(other.path_)) {
  other.path_.clear();
}

TempFile& TempFile::operator=(TempFile&& other) noexcept {
  if (this != &other) {
    if (!path_.empty())
      ::unlink(path_.c_str());
    path_ = std::move(other.path_);
    other.path_.clear();
  }
  return *this;
}

TempFile::~TempFile() {
  if (!path_.empty())
    ::unlink(path_.c_str());
}

Result<std::string> read_file(const std::filesystem::path& path) {
  CSNAP_ASSIGN_OR_RETURN(auto source, FileSource::open(path));
  return read_all(source);
}

Status sync_parent_directory(const std::filesystem::path& path) {
  auto parent = path.parent_path();
  if (parent.empty())
    parent = ".";
  int fd = ::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return errno_error(fmt::format("opening {}", parent.string()));
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0)
    return errno_error(fmt::format("syncing {}", parent.string()));
  return {};
}

}  // namespace csnap
