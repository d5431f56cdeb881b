#include "archive/backup_reader.hpp"

#include <algorithm>
#include <functional>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "archive/kv_json.hpp"
#include "archive/tar_io.hpp"
#include "codec/sha256.hpp"
#include "util/json_parse.hpp"

namespace csnap::archive {

namespace {

constexpr std::uint64_t kMetaMaxSize = std::uint64_t{16} * 1024 * 1024;
constexpr std::string_view kOriginalFormat = "consul-snapshot (original Go tool)";

Error corrupt(std::string message) {
  return Error(ErrorKind::corrupt, std::move(message));
}

// A sparse member reads as zeros for its holes: a few bytes of header could stand for terabytes.
Status check_regular_file(struct archive_entry* entry, std::string_view name) {
  if (archive_entry_filetype(entry) != AE_IFREG || archive_entry_hardlink(entry) != nullptr) {
    return corrupt(fmt::format("{}: not a regular file", name));
  }
  if (archive_entry_sparse_count(entry) > 0)
    return corrupt(fmt::format("{}: a sparse tar member (no backup has one)", name));
  return {};
}

// How big member `name` may be, and what is said when it is bigger.
struct SizeLimit {
  std::uint64_t bytes = 0;
  std::string what;  // "the 1234 bytes meta.json declares"
};

// The limit for a member whose size nothing declares: kv.json, or another JSON member.
SizeLimit undeclared_limit(std::string_view member) {
  if (member == kKvMember) {
    return {kUndeclaredKvMaxSize,
            fmt::format("the {} bytes a KV member without a declared size may hold",
                        kUndeclaredKvMaxSize)};
  }
  return {kJsonMemberMaxSize,
          fmt::format("the {} bytes a JSON member may hold", kJsonMemberMaxSize)};
}

// Members that must be JSON: checked as such while they are spooled.
bool is_json_member(std::string_view member) {
  return member.ends_with(".json");
}

std::string short_hash(std::string_view hex) {
  return std::string(hex.substr(0, 12)) + "..";
}

// A member's bytes in an unnamed temporary file, with their size and SHA-256.
struct Spooled {
  SpoolFile file;
  std::uint64_t size = 0;
  std::string sha256;
};

// Hands on what it reads from `upstream`, writing a copy of it to `copy` on the way.
class TeeSource final : public ByteSource {
 public:
  TeeSource(ByteSource& upstream, ByteSink& copy) : upstream_(&upstream), copy_(&copy) {}
  Result<std::size_t> read(std::span<std::byte> buffer) override {
    CSNAP_ASSIGN_OR_RETURN(std::size_t count, upstream_->read(buffer));
    CSNAP_TRY(copy_->write(std::span<const std::byte>(buffer).first(count)));
    return count;
  }

 private:
  ByteSource* upstream_;
  ByteSink* copy_;
};

// Member `name`'s bytes from `read_more`, failing once more than `limit` has come through.
class MemberData final : public ByteSource {
 public:
  using ReadMore = std::function<Result<std::size_t>(std::span<std::byte>)>;
  MemberData(std::string_view name, SizeLimit limit, ReadMore read_more)
      : name_(name), limit_(std::move(limit)), read_more_(std::move(read_more)) {}
  Result<std::size_t> read(std::span<std::byte> buffer) override {
    CSNAP_ASSIGN_OR_RETURN(std::size_t count, read_more_(buffer));
    total_ += count;
    if (total_ > limit_.bytes)
      return corrupt(fmt::format("{}: larger than {}", name_, limit_.what));
    return count;
  }

 private:
  std::string name_;
  SizeLimit limit_;
  ReadMore read_more_;
  std::uint64_t total_ = 0;
};

Status drain(ByteSource& source) {
  std::vector<std::byte> buffer(std::size_t{64} * 1024);
  while (true) {
    CSNAP_ASSIGN_OR_RETURN(std::size_t count, source.read(buffer));
    if (count == 0)
      return {};
  }
}

// Copies member `name` from `data` into a new spool file in `spool_dir`. A `.json` member is
// parsed on the way (check_json), so that what is not JSON stops the copy at its first bad byte.
Result<Spooled> spool(const std::filesystem::path& spool_dir, std::string_view name,
                      ByteSource& data) {
  CSNAP_ASSIGN_OR_RETURN(SpoolFile file, SpoolFile::create(spool_dir));
  CSNAP_ASSIGN_OR_RETURN(FileSink file_sink, file.rewrite());
  codec::HashingSink hashing(file_sink);
  TeeSource tee(data, hashing);
  if (is_json_member(name)) {
    CSNAP_TRY(check_json(tee, name, kMaxJsonDepth));
  }
  CSNAP_TRY(drain(tee));
  CSNAP_TRY_CONTEXT(hashing.finish(), fmt::format("spooling {}", name));
  return Spooled{std::move(file), hashing.size(), hashing.sha256_hex()};
}

// One pass over a tar stream with libarchive.
class TarStream {
 public:
  explicit TarStream(ByteSource& source) : handle_(archive_read_new()) {
    context_.source = &source;
  }
  TarStream(const TarStream&) = delete;
  TarStream& operator=(const TarStream&) = delete;

  Status open() {
    if (!handle_)
      return Error(ErrorKind::internal, "tar: out of memory");
    archive_read_support_format_tar(handle_.get());
    if (archive_read_open(handle_.get(), &context_, nullptr, detail::tar_read_callback, nullptr) !=
        ARCHIVE_OK) {
      return error(context_.error ? "backup damaged at its start"
                                  : "not a backup (no tar archive inside)");
    }
    return {};
  }

  // The next entry, or nullptr at the end of the archive; `after` names the entry before.
  Result<struct archive_entry*> next(std::string_view after) {
    struct archive_entry* entry = nullptr;
    int code = archive_read_next_header(handle_.get(), &entry);
    if (code == ARCHIVE_EOF)
      return static_cast<struct archive_entry*>(nullptr);
    if (code != ARCHIVE_OK && code != ARCHIVE_WARN) {
      return error(after.empty() ? std::string("reading the first tar header")
                                 : fmt::format("reading the tar header after {}", after));
    }
    return entry;
  }

  static Result<std::string> name(struct archive_entry* entry) {
    const char* name = archive_entry_pathname(entry);
    if (name == nullptr)
      return corrupt("a tar entry has no readable name");
    return std::string(name);
  }

  // The data of the current entry, whose tar header must not claim more than `limit`; more than
  // `limit` is damage, found as it streams.
  Result<MemberData> data(struct archive_entry* entry, std::string_view name, SizeLimit limit) {
    if (archive_entry_size_is_set(entry) != 0 &&
        static_cast<std::uint64_t>(archive_entry_size(entry)) > limit.bytes) {
      return corrupt(fmt::format("{}: its tar header says {} bytes, more than {}", name,
                                 archive_entry_size(entry), limit.what));
    }
    return MemberData(
        name, std::move(limit),
        [this, name = std::string(name)](std::span<std::byte> buffer) -> Result<std::size_t> {
          la_ssize_t count = archive_read_data(handle_.get(), buffer.data(), buffer.size());
          if (count < 0)
            return error(fmt::format("backup damaged inside {}", name));
          return static_cast<std::size_t>(count);
        });
  }

  // Reads the current entry, a small one, into memory.
  Result<std::string> read_small(struct archive_entry* entry, std::string_view name,
                                 std::uint64_t limit) {
    CSNAP_ASSIGN_OR_RETURN(auto source,
                           data(entry, name, {limit, fmt::format("the {} bytes allowed", limit)}));
    return read_all(source);
  }

  // The stream must end cleanly: the decompressor checks its framing and checksums to the last
  // byte, and nothing but tar padding may follow the end of the archive, neither in what
  // libarchive was handed but did not consume nor in what it never asked for.
  Status expect_clean_end() {
    auto consumed = static_cast<std::uint64_t>(archive_filter_bytes(handle_.get(), 0));
    if (consumed < context_.total) {
      std::uint64_t unconsumed =
          std::min<std::uint64_t>(context_.total - consumed, context_.last_size);
      auto tail = std::span(context_.buffer).first(context_.last_size).last(unconsumed);
      for (std::byte byte : tail) {
        if (byte != std::byte{0})
          return corrupt("data after the end of the tar archive");
      }
    }
    std::vector<std::byte> buffer(std::size_t{64} * 1024);
    while (true) {
      auto count = context_.source->read(buffer);
      if (!count)
        return std::move(count.error().add_context("after the end of the tar archive"));
      if (*count == 0)
        return {};
      for (std::size_t i = 0; i < *count; ++i) {
        if (buffer[i] != std::byte{0})
          return corrupt("data after the end of the tar archive");
      }
    }
  }

 private:
  // The error of a failed libarchive call: our source's error when it caused the failure.
  Error error(std::string_view what) const {
    if (context_.error)
      return Error(*context_.error).add_context(what);
    const char* message = archive_error_string(handle_.get());
    return corrupt(
        fmt::format("{}: tar: {}", what, message != nullptr ? message : "unknown error"));
  }

  detail::ArchiveReadHandle handle_;
  detail::TarSourceContext context_;
};

bool looks_like_tar(std::span<const std::byte> head) {
  if (head.size() < 512)
    return false;
  static constexpr std::string_view magic = "ustar";
  return std::equal(magic.begin(), magic.end(), head.begin() + 257,
                    [](char c, std::byte b) { return static_cast<std::byte>(c) == b; });
}

bool looks_like_json_array(std::span<const std::byte> head) {
  for (std::byte byte : head) {
    auto c = static_cast<char>(byte);
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
      continue;
    return c == '[';
  }
  return false;
}

// Which member of the current format a file of the original tool's archive becomes:
// consul.<kv|pq|acl>.<digits>.json. (Matched by hand: std::regex recurses per character.)
std::optional<std::string_view> original_member(std::string_view file_name) {
  constexpr std::string_view prefix = "consul.";
  constexpr std::string_view suffix = ".json";
  if (!file_name.starts_with(prefix) || !file_name.ends_with(suffix) ||
      file_name.size() < prefix.size() + suffix.size()) {
    return std::nullopt;
  }
  auto middle = file_name.substr(prefix.size(), file_name.size() - prefix.size() - suffix.size());
  auto dot = middle.find('.');
  if (dot == std::string_view::npos)
    return std::nullopt;
  auto kind = middle.substr(0, dot);
  auto digits = middle.substr(dot + 1);
  if (digits.empty() ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  if (kind == "kv")
    return kKvMember;
  if (kind == "pq")
    return kPreparedQueriesMember;
  if (kind == "acl")
    return kLegacyAclMember;
  return std::nullopt;
}

// Field `name` of the original tool's meta.json: a string, or "" when absent.
Result<std::string> original_text(const nlohmann::json& meta, const char* name) {
  auto it = meta.find(name);
  if (it == meta.end() || it->is_null())
    return std::string();
  if (!it->is_string())
    return corrupt(fmt::format("original backup: meta.json: {} is not a string", name));
  return it->get<std::string>();
}

// Field `name` of the original tool's meta.json: Unix seconds (Go's time as a number), or 0.
Result<std::chrono::sys_seconds> original_time(const nlohmann::json& meta, const char* name) {
  auto it = meta.find(name);
  if (it == meta.end() || it->is_null())
    return std::chrono::sys_seconds{};
  constexpr std::int64_t kYear10000 = 253402300800;
  if (!it->is_number_integer() || it->get<std::int64_t>() < 0 ||
      it->get<std::int64_t>() >= kYear10000) {
    return corrupt(fmt::format("original backup: meta.json: {} is not a Unix time", name));
  }
  return std::chrono::sys_seconds(std::chrono::seconds(it->get<std::int64_t>()));
}

// The original tool's meta.json: {"KVSha256", "PQSha256", "ACLSha256", "ConsulSnapshotVersion",
// "StartTime", "EndTime", "NodeName"}; which of its fields holds each member's SHA-256.
std::string_view original_hash_field(std::string_view member) {
  if (member == kKvMember)
    return "KVSha256";
  if (member == kPreparedQueriesMember)
    return "PQSha256";
  return "ACLSha256";
}

using MemberFiles = std::map<std::string, SpoolFile, std::less<>>;

// Reads the rest of an original-tool archive whose first entry is `entry` named `name` into
// `meta_` and `files_`, and checks the SHA-256s of its own meta.json.
Status read_original(TarStream& tar, struct archive_entry* entry, std::string name,
                     const std::filesystem::path& spool_dir, Meta& meta_, MemberFiles& files_) {
  // The archive's one top folder ("acceptancetest", or "<host>.consul.snapshot.<unix>").
  std::string folder = name.substr(0, name.find('/'));
  folder += '/';
  std::optional<nlohmann::json> original_meta;
  std::string previous;
  while (entry != nullptr) {
    if (archive_entry_filetype(entry) == AE_IFDIR && name + "/" == folder) {
      name = folder;
    }
    if (!name.starts_with(folder)) {
      return corrupt(fmt::format("original backup: {} is outside its folder {}", name, folder));
    }
    auto file_name = std::string_view(name).substr(folder.size());
    if (archive_entry_filetype(entry) == AE_IFDIR) {
      if (!file_name.empty()) {
        return corrupt(fmt::format("original backup: unexpected folder {}", name));
      }
    } else if (file_name == "meta.json") {
      CSNAP_TRY(check_regular_file(entry, name));
      CSNAP_ASSIGN_OR_RETURN(auto text, tar.read_small(entry, name, kMetaMaxSize));
      CSNAP_ASSIGN_OR_RETURN(auto parsed,
                             parse_json_document(text, fmt::format("original backup: {}", name)));
      if (!parsed.is_object()) {
        return corrupt(fmt::format("original backup: {} is not a JSON object", name));
      }
      original_meta = std::move(parsed);
    } else if (auto member = original_member(file_name)) {
      CSNAP_TRY(check_regular_file(entry, name));
      if (files_.contains(*member)) {
        return corrupt(fmt::format("original backup: a second {} ({})", *member, name));
      }
      CSNAP_ASSIGN_OR_RETURN(auto data, tar.data(entry, name, undeclared_limit(*member)));
      CSNAP_ASSIGN_OR_RETURN(auto spooled, spool(spool_dir, *member, data));
      meta_.members.push_back({std::string(*member), spooled.size, spooled.sha256});
      files_.emplace(*member, std::move(spooled.file));
    } else {
      return corrupt(fmt::format("original backup: unexpected file {}", name));
    }
    previous = name;
    CSNAP_ASSIGN_OR_RETURN(entry, tar.next(previous));
    if (entry != nullptr) {
      CSNAP_ASSIGN_OR_RETURN(name, TarStream::name(entry));
    }
  }
  CSNAP_TRY(tar.expect_clean_end());

  if (!original_meta)
    return corrupt("original backup: no meta.json with the files' SHA-256s");
  if (!files_.contains(kKvMember))
    return corrupt("original backup: no consul.kv.<time>.json");
  for (auto& member : meta_.members) {
    auto field = original_hash_field(member.name);
    auto expected = original_meta->find(field);
    if (expected == original_meta->end() || !expected->is_string()) {
      return corrupt(
          fmt::format("original backup: meta.json has no {} for {}", field, member.name));
    }
    if (expected->get<std::string>() != member.sha256) {
      return corrupt(fmt::format(
          "{} ({} of the original backup): SHA-256 mismatch (expected {}, got {})", member.name,
          field, short_hash(expected->get<std::string>()), short_hash(member.sha256)));
    }
  }
  meta_.format = std::string(kOriginalFormat);
  meta_.format_version = 0;
  CSNAP_ASSIGN_OR_RETURN(meta_.tool_version,
                         original_text(*original_meta, "ConsulSnapshotVersion"));
  CSNAP_ASSIGN_OR_RETURN(meta_.node, original_text(*original_meta, "NodeName"));
  CSNAP_ASSIGN_OR_RETURN(meta_.started_at, original_time(*original_meta, "StartTime"));
  CSNAP_ASSIGN_OR_RETURN(meta_.finished_at, original_time(*original_meta, "EndTime"));
  return {};
}

}  // namespace

std::string_view to_string(BackupFormat format) {
  switch (format) {
    case BackupFormat::current:
      return "consul-snapshot";
    case BackupFormat::original_tar:
      return "original consul-snapshot archive (v0.2+)";
    case BackupFormat::kv_json:
      return "KV JSON (original v0.1, or consul kv export)";
  }
  return "unknown";
}

Result<BackupReader> BackupReader::open(ByteSource& source,
                                        const std::filesystem::path& spool_dir) {
  CSNAP_ASSIGN_OR_RETURN(codec::DecompressSource decompressed,
                         codec::DecompressSource::open(source));
  BackupReader reader;
  reader.compression_ = decompressed.compression();
  PeekSource content(decompressed);
  auto head = content.peek(512);
  if (!head.ok())
    return std::move(head.error().add_context("backup damaged at its start"));
  if (head->empty())
    return corrupt("the backup is empty");

  if (looks_like_json_array(*head)) {
    // A bare KV array: verified when it is parsed, as it carries no checksums of its own.
    reader.format_ = BackupFormat::kv_json;
    reader.meta_.format = "kv-json";
    reader.meta_.format_version = 0;
    MemberData data(kKvMember, undeclared_limit(kKvMember),
                    [&content](std::span<std::byte> buffer) { return content.read(buffer); });
    CSNAP_ASSIGN_OR_RETURN(auto kv, spool(spool_dir, kKvMember, data));
    reader.meta_.members.push_back({std::string(kKvMember), kv.size, kv.sha256});
    reader.files_.emplace(kKvMember, std::move(kv.file));
    return reader;
  }
  if (!looks_like_tar(*head)) {
    return corrupt(
        "not a backup: neither a tar archive (this tool's or the original's) nor a KV JSON array");
  }

  TarStream tar(content);
  CSNAP_TRY(tar.open());
  CSNAP_ASSIGN_OR_RETURN(struct archive_entry * entry, tar.next(""));
  if (entry == nullptr)
    return corrupt("the backup holds no members (not even meta.json)");
  CSNAP_ASSIGN_OR_RETURN(std::string first_name, TarStream::name(entry));
  if (first_name != kMetaMember) {
    if (archive_entry_filetype(entry) == AE_IFDIR || first_name.find('/') != std::string::npos) {
      reader.format_ = BackupFormat::original_tar;
      CSNAP_TRY(read_original(tar, entry, first_name, spool_dir, reader.meta_, reader.files_));
      return reader;
    }
    return corrupt(fmt::format("meta.json is not the first member (the first is {})", first_name));
  }

  CSNAP_TRY(check_regular_file(entry, first_name));
  CSNAP_ASSIGN_OR_RETURN(auto meta_text, tar.read_small(entry, kMetaMember, kMetaMaxSize));
  CSNAP_ASSIGN_OR_RETURN(reader.meta_, meta_from_json(meta_text));
  for (const auto& member : reader.meta_.members) {
    if (is_json_member(member.name) && member.name != kKvMember &&
        member.size > kJsonMemberMaxSize) {
      return corrupt(
          fmt::format("{}: meta.json declares {} bytes, more than the {} bytes a JSON "
                      "member may hold",
                      member.name, member.size, kJsonMemberMaxSize));
    }
  }

  // Every other member, spooled and hashed.
  std::map<std::string, std::pair<std::uint64_t, std::string>, std::less<>> seen;
  std::string previous(kMetaMember);
  while (true) {
    CSNAP_ASSIGN_OR_RETURN(entry, tar.next(previous));
    if (entry == nullptr)
      break;
    CSNAP_ASSIGN_OR_RETURN(std::string name, TarStream::name(entry));
    if (name == kMetaMember)
      return corrupt("meta.json appears twice");
    CSNAP_TRY(check_regular_file(entry, name));
    const MemberInfo* listed = reader.meta_.find_member(name);
    if (listed == nullptr)
      return corrupt(fmt::format("{}: member not listed in meta.json", name));
    if (seen.contains(name))
      return corrupt(fmt::format("{}: member appears twice", name));
    // A member may be larger than meta says only by damage: stop copying soon after.
    CSNAP_ASSIGN_OR_RETURN(
        auto data,
        tar.data(entry, name,
                 {listed->size, fmt::format("the {} bytes meta.json declares", listed->size)}));
    CSNAP_ASSIGN_OR_RETURN(auto spooled, spool(spool_dir, name, data));
    seen.emplace(name, std::pair(spooled.size, spooled.sha256));
    reader.files_.emplace(name, std::move(spooled.file));
    previous = name;
  }
  CSNAP_TRY(tar.expect_clean_end());

  for (const auto& member : reader.meta_.members) {
    auto it = seen.find(member.name);
    if (it == seen.end()) {
      return corrupt(
          fmt::format("{}: listed in meta.json but missing from the backup", member.name));
    }
    const auto& [size, sha256] = it->second;
    if (size != member.size) {
      return corrupt(fmt::format("{}: size mismatch (expected {} bytes, got {})", member.name,
                                 member.size, size));
    }
    if (sha256 != member.sha256) {
      return corrupt(fmt::format("{}: SHA-256 mismatch (expected {}, got {})", member.name,
                                 short_hash(member.sha256), short_hash(sha256)));
    }
  }
  return reader;
}

Result<Meta> BackupReader::read_meta(ByteSource& source) {
  CSNAP_ASSIGN_OR_RETURN(codec::DecompressSource decompressed,
                         codec::DecompressSource::open(source));
  PeekSource content(decompressed);
  CSNAP_ASSIGN_OR_RETURN(auto head, content.peek(512));
  Meta meta;
  meta.format_version = 0;
  if (looks_like_json_array(head)) {
    meta.format = std::string(to_string(BackupFormat::kv_json));
    return meta;
  }
  if (!looks_like_tar(head))
    return corrupt("not a backup");
  TarStream tar(content);
  CSNAP_TRY(tar.open());
  CSNAP_ASSIGN_OR_RETURN(struct archive_entry * entry, tar.next(""));
  if (entry == nullptr)
    return corrupt("the backup holds no members");
  CSNAP_ASSIGN_OR_RETURN(std::string name, TarStream::name(entry));
  if (name != kMetaMember) {
    meta.format = std::string(to_string(BackupFormat::original_tar));
    return meta;
  }
  CSNAP_ASSIGN_OR_RETURN(auto text, tar.read_small(entry, kMetaMember, kMetaMaxSize));
  return meta_from_json(text);
}

Result<FileSource> BackupReader::open_member(std::string_view name) const {
  auto it = files_.find(name);
  if (it == files_.end()) {
    return Error(ErrorKind::not_found, fmt::format("the backup has no member {}", name));
  }
  return it->second.read();
}

}  // namespace csnap::archive
