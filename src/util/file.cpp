#include "util/file.hpp"

#include <cerrno>
#include <cstring>
#include <random>

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

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
    : fd_(std::exchange(other.fd_, -1)), path_(std::move(other.path_)) {}

FileSource& FileSource::operator=(FileSource&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
  }
  return *this;
}

FileSource::~FileSource() {
  if (fd_ >= 0)
    ::close(fd_);
}

Result<std::size_t> FileSource::read(std::span<std::byte> buffer) {
  while (true) {
    ssize_t count = ::read(fd_, buffer.data(), buffer.size());
    if (count >= 0)
      return static_cast<std::size_t>(count);
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
    : fd_(std::exchange(other.fd_, -1)), path_(std::move(other.path_)), written_(other.written_) {}

FileSink& FileSink::operator=(FileSink&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
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
  if (::fsync(fd_) != 0)
    return errno_error(fmt::format("syncing {}", path_.string()));
  int fd = std::exchange(fd_, -1);
  if (::close(fd) != 0)
    return errno_error(fmt::format("closing {}", path_.string()));
  return {};
}

Result<TempFile> TempFile::create(const std::filesystem::path& directory, std::string_view stem) {
  std::random_device device;
  std::mt19937_64 generator(device());
  for (int attempt = 0; attempt < 16; ++attempt) {
    auto path = directory / fmt::format(".{}.{:016x}.tmp", stem, generator());
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) {
      ::close(fd);
      return TempFile(path);
    }
    if (errno != EEXIST) {
      return errno_error(fmt::format("creating a temporary file in {}", directory.string()));
    }
  }
  return Error(ErrorKind::io, fmt::format("no free temporary file name in {}", directory.string()));
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
