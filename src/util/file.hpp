#pragma once
// Local files: sources, sinks, temporary files with no name (nothing is left whatever ends the
// process), and whole-file reads.

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
  friend class SpoolFile;
  FileSource(int fd, std::filesystem::path path, bool positional = false)
      : fd_(fd), path_(std::move(path)), positional_(positional) {}
  int fd_ = -1;
  std::filesystem::path path_;  // for messages
  bool positional_ = false;     // reads with pread from `offset_` (a descriptor shared by others)
  std::uint64_t offset_ = 0;
};

// Writes a file created with mode 0600; `finish` fsyncs it (unless made without `sync`) and closes
// it.
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
  friend class SpoolFile;
  FileSink(int fd, std::filesystem::path path, bool sync = true)
      : fd_(fd), path_(std::move(path)), sync_(sync) {}
  int fd_ = -1;
  std::filesystem::path path_;  // for messages
  bool sync_ = true;
  std::uint64_t written_ = 0;
};

struct SpoolFileOptions {
  // Whether `link_as` may name the file later (local storage's uploads). A spool of plaintext
  // leaves this false, so that not even /proc/<pid>/fd can give its bytes a name.
  bool linkable = false;
};

// A temporary file with no name (mode 0600) in `directory`: created with O_TMPFILE, or, where the
// file system refuses O_TMPFILE, unlinked right after it is opened. Its bytes go when the last
// descriptor closes, however the process ends (signal, kill -9, crash).
class SpoolFile {
 public:
  static Result<SpoolFile> create(const std::filesystem::path& directory,
                                  const SpoolFileOptions& options = {});
  SpoolFile(SpoolFile&& other) noexcept;
  SpoolFile& operator=(SpoolFile&& other) noexcept;
  SpoolFile(const SpoolFile&) = delete;
  SpoolFile& operator=(const SpoolFile&) = delete;
  ~SpoolFile();

  // A sink that writes from the start, dropping what the file held (a retry starts over);
  // `finish` fsyncs only with `sync`.
  Result<FileSink> rewrite(bool sync = false) const;
  // A source that reads from the start, independently of any other source of this file.
  Result<FileSource> read() const;
  // Whether `link_as` can name this file: made linkable, and the file system has O_TMPFILE.
  bool linkable() const { return linkable_; }
  // Gives the file the name `path` in one step (the file is whole under that name or absent);
  // an existing `path` is ErrorKind::conflict.
  Status link_as(const std::filesystem::path& path) const;
  // "an unnamed temporary file in /tmp", for messages.
  std::string description() const;

 private:
  SpoolFile(int fd, std::filesystem::path directory, bool linkable)
      : fd_(fd), directory_(std::move(directory)), linkable_(linkable) {}
  int fd_ = -1;
  std::filesystem::path directory_;
  bool linkable_ = false;
};

// A uniquely named file (mode 0600) in `directory`, removed when this object goes away (but left
// behind by kill -9: prefer SpoolFile).
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
