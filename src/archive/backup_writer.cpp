#include "archive/backup_writer.hpp"

#include <algorithm>
#include <array>

#include <fmt/format.h>

#include "archive/tar_io.hpp"

namespace csnap::archive {

namespace {

Error tar_error(struct archive* handle, const detail::TarSinkContext& context,
                std::string_view what) {
  if (context.error)
    return Error(*context.error).add_context(what);
  const char* message = archive_error_string(handle);
  return Error(ErrorKind::internal,
               fmt::format("{}: tar: {}", what, message != nullptr ? message : "unknown error"));
}

struct EntryHeader {
  std::string_view name;
  std::uint64_t size = 0;
  std::chrono::sys_seconds mtime{};
};

Status write_header(struct archive* handle, const detail::TarSinkContext& context,
                    const EntryHeader& header) {
  detail::ArchiveEntryHandle entry(archive_entry_new());
  if (!entry)
    return Error(ErrorKind::internal, "tar: out of memory");
  std::string name(header.name);
  archive_entry_set_pathname(entry.get(), name.c_str());
  archive_entry_set_filetype(entry.get(), AE_IFREG);
  archive_entry_set_perm(entry.get(), 0600);
  archive_entry_set_size(entry.get(), static_cast<la_int64_t>(header.size));
  archive_entry_set_mtime(entry.get(), header.mtime.time_since_epoch().count(), 0);
  archive_entry_set_uid(entry.get(), 0);
  archive_entry_set_gid(entry.get(), 0);
  if (archive_write_header(handle, entry.get()) != ARCHIVE_OK) {
    return tar_error(handle, context, fmt::format("writing the header of {}", header.name));
  }
  return {};
}

Status write_data(struct archive* handle, const detail::TarSinkContext& context,
                  std::string_view name, std::span<const std::byte> data) {
  while (!data.empty()) {
    la_ssize_t written = archive_write_data(handle, data.data(), data.size());
    if (written <= 0)
      return tar_error(handle, context, fmt::format("writing {}", name));
    data = data.subspan(static_cast<std::size_t>(written));
  }
  return {};
}

}  // namespace

Result<MemberSink*> BackupWriter::begin_member(std::string_view name) {
  CSNAP_TRY(validate_member_name(name));
  for (const auto& spooled : spooled_) {
    if (spooled.sink->name() == name) {
      return Error(ErrorKind::invalid_argument, fmt::format("member {} begun twice", name));
    }
  }
  CSNAP_ASSIGN_OR_RETURN(SpoolFile file, SpoolFile::create(options_.temp_dir));
  CSNAP_ASSIGN_OR_RETURN(FileSink sink, file.rewrite());
  spooled_.push_back(
      Spooled{std::move(file), std::make_unique<MemberSink>(std::string(name), std::move(sink))});
  return spooled_.back().sink.get();
}

Status BackupWriter::restart_member(MemberSink& member) {
  for (const auto& spooled : spooled_) {
    if (spooled.sink.get() == &member) {
      CSNAP_ASSIGN_OR_RETURN(FileSink file, spooled.file.rewrite());
      member.restart(std::move(file));
      return {};
    }
  }
  return Error(ErrorKind::internal, fmt::format("member {} is not this writer's", member.name()));
}

Result<FileSource> BackupWriter::read_member(const MemberSink& member) const {
  for (const auto& spooled : spooled_) {
    if (spooled.sink.get() == &member) {
      if (!member.finished()) {
        return Error(ErrorKind::internal,
                     fmt::format("member {} read back before it was finished", member.name()));
      }
      return spooled.file.read();
    }
  }
  return Error(ErrorKind::internal, fmt::format("member {} is not this writer's", member.name()));
}

std::vector<MemberInfo> BackupWriter::members() const {
  std::vector<MemberInfo> members;
  for (const auto& spooled : spooled_) {
    members.push_back({spooled.sink->name(), spooled.sink->size(), spooled.sink->sha256_hex()});
  }
  return members;
}

Status BackupWriter::write(Meta meta, ByteSink& out, codec::Compression compression) {
  for (const auto& spooled : spooled_) {
    if (!spooled.sink->finished()) {
      return Error(ErrorKind::internal,
                   fmt::format("member {} was not finished before writing the backup",
                               spooled.sink->name()));
    }
  }
  meta.members = members();
  std::string meta_text = meta_to_json(meta);

  auto compressor = codec::make_compress_sink(compression, out);
  detail::TarSinkContext context{compressor.get(), std::nullopt};
  detail::ArchiveWriteHandle handle(archive_write_new());
  if (!handle)
    return Error(ErrorKind::internal, "tar: out of memory");
  // ustar headers, with pax extended headers only where ustar cannot say it (long names).
  if (archive_write_set_format_pax_restricted(handle.get()) != ARCHIVE_OK ||
      archive_write_add_filter_none(handle.get()) != ARCHIVE_OK ||
      archive_write_open(handle.get(), &context, nullptr, detail::tar_write_callback, nullptr) !=
          ARCHIVE_OK) {
    return tar_error(handle.get(), context, "starting the tar");
  }

  CSNAP_TRY(write_header(handle.get(), context, {kMetaMember, meta_text.size(), meta.started_at}));
  CSNAP_TRY(write_data(handle.get(), context, kMetaMember,
                       std::as_bytes(std::span(meta_text.data(), meta_text.size()))));

  std::vector<std::byte> buffer(std::size_t{64} * 1024);
  for (const auto& spooled : spooled_) {
    const MemberSink& member = *spooled.sink;
    CSNAP_TRY(write_header(handle.get(), context, {member.name(), member.size(), meta.started_at}));
    CSNAP_ASSIGN_OR_RETURN(FileSource file, spooled.file.read());
    // Hash again on the way out: the spooled file must still hold what was written.
    codec::HashingSource hashing(file);
    std::uint64_t copied = 0;
    while (true) {
      CSNAP_ASSIGN_OR_RETURN(std::size_t count, hashing.read(buffer));
      if (count == 0)
        break;
      copied += count;
      if (copied > member.size())
        break;
      CSNAP_TRY(write_data(handle.get(), context, member.name(), std::span(buffer).first(count)));
    }
    if (copied != member.size() || hashing.sha256_hex() != member.sha256_hex()) {
      return Error(ErrorKind::io, fmt::format("spooled member {} changed on disk ({})",
                                              member.name(), spooled.file.description()));
    }
  }

  if (archive_write_close(handle.get()) != ARCHIVE_OK) {
    return tar_error(handle.get(), context, "ending the tar");
  }
  return compressor->finish();
}

}  // namespace csnap::archive
