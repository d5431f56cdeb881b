#pragma once
// Writes a backup (docs/format.md): members are spooled to temporary files first, so that
// meta.json, which lists their sizes and SHA-256, can come first in the tar.

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "archive/meta.hpp"
#include "codec/compression.hpp"
#include "codec/sha256.hpp"
#include "util/file.hpp"

namespace csnap::archive {

// A member being spooled: counts and hashes what is written; `finish` closes the file.
class MemberSink final : public ByteSink {
 public:
  MemberSink(std::string name, FileSink file)
      : name_(std::move(name)), file_(std::move(file)), hashing_(file_) {}
  MemberSink(const MemberSink&) = delete;
  MemberSink& operator=(const MemberSink&) = delete;

  using ByteSink::write;
  Status write(std::span<const std::byte> data) override { return hashing_.write(data); }
  Status finish() override { return hashing_.finish(); }
  // Starts over, writing from the first byte again into `file` (the spool rewritten).
  void restart(FileSink file) {
    file_ = std::move(file);
    hashing_ = codec::HashingSink(file_);
  }

  const std::string& name() const { return name_; }
  bool finished() const { return hashing_.finished(); }
  std::uint64_t size() const { return hashing_.size(); }
  // Empty until `finish` succeeded.
  const std::string& sha256_hex() const { return hashing_.sha256_hex(); }

 private:
  std::string name_;
  FileSink file_;
  codec::HashingSink hashing_;
};

struct BackupWriterOptions {
  std::filesystem::path temp_dir;  // where members are spooled (files are 0600)
};

class BackupWriter {
 public:
  explicit BackupWriter(BackupWriterOptions options) : options_(std::move(options)) {}
  BackupWriter(const BackupWriter&) = delete;
  BackupWriter& operator=(const BackupWriter&) = delete;
  BackupWriter(BackupWriter&&) noexcept = default;
  BackupWriter& operator=(BackupWriter&&) noexcept = default;
  ~BackupWriter() = default;

  // Starts member `name` (see validate_member_name); the sink lives as long as this writer and
  // must be finished before `write`. Spooled files are removed when the writer goes away.
  Result<MemberSink*> begin_member(std::string_view name);

  // Drops what `member` (one of this writer's) received so far, so that it is written again from
  // its first byte (a download retried after some bytes arrived).
  Status restart_member(MemberSink& member);
  // Reads back the spool of `member` (finished, one of this writer's) from its first byte.
  Result<FileSource> read_member(const MemberSink& member) const;

  // Streams the tar into `compression` into `out`: meta.json, whose `members` this fills in from
  // the spooled files, then each member in the order it was begun. Finishes `out`.
  Status write(Meta meta, ByteSink& out, codec::Compression compression);

  // The spooled members so far (finished ones have their size and SHA-256).
  std::vector<MemberInfo> members() const;

 private:
  struct Spooled {
    SpoolFile file;
    std::unique_ptr<MemberSink> sink;
  };

  BackupWriterOptions options_;
  std::vector<Spooled> spooled_;
};

}  // namespace csnap::archive
