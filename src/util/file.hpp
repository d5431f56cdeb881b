#pragma once
// Local files: sources, sinks, temporary files that remove themselves, and whole-file reads.

#include <filesystem>
#include <string>

#include "util/io.hpp"

namespace csnap {

// Reads a file.
class FileSource final : public ByteSource {
 public:
  static Result<FileSource> open(const std::filesystem::path& path);
  FileSource(FileSource&& other) noexcept;
  FileSource& operator=(FileSource&& other) noexcept;
  FileSource(const FileSource&) = delete;
  FileSource& operator=(const FileSource&) = delete;
  ~FileSource() override;

  Result<std::size_t> read(std::span<std::byte> buffer) override;

 private:
  FileSource(int fd, std::filesystem::path path) : fd_(fd), path_(std::move(path)) {}
  int fd_ = -1;
  std::filesystem::path path_;
};

// Writes a file created with mode 0600; `finish` fsyncs it and closes it.
class FileSink final : public ByteSink {
 public:
  // Creates `path`; fails if it exists unless `truncate` is set.
  static Result<FileSink> create(const std::filesystem::path& path, bool truncate = false);
  FileSink(FileSink&& other) noexcept;
  FileSink& operator=(FileSink&& other) noexcept;
  FileSink(const FileSink&) = delete;
  FileSink& operator=(const FileSink&) = delete;
  ~FileSink() override;

  using ByteSink::write;
  Status write(std::span<const std::byte> data) override;
  Status finish() override;
  std::uint64_t bytes_written() const { return written_; }

 private:
  FileSink(int fd, std::filesystem::path path) : fd_(fd), path_(std::move(path)) {}
  int fd_ = -1;
  std::filesystem::path path_;
  std::uint64_t written_ = 0;
};

// A uniquely named file (mode 0600) in `directory`, removed when this object goes away.
class TempFile {
 public:
  static Result<TempFile> create(const std::filesystem::path& directory, std::string_view stem);
  TempFile(TempFile&& other) noexcept;
  TempFile& operator=(TempFile&& other) noexcept;
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile();

  const std::filesystem::path& path() const { return path_; }
  // Stops removing the file (it was renamed into place).
  void release() { path_.clear(); }

 private:
  explicit TempFile(std::filesystem::path path) : path_(std::move(path)) {}
  std::filesystem::path path_;
};

Result<std::string> read_file(const std::filesystem::path& path);

// Makes `path` durable in its directory: fsyncs the directory that holds it.
Status sync_parent_directory(const std::filesystem::path& path);

// "strerror(errno)" for the current errno, with `what` prefixed.
Error errno_error(std::string_view what);

}  // namespace csnap
