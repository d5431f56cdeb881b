#include "archive/member_spool.hpp"

#include <vector>

#include <fmt/format.h>

#include "archive/backup_reader.hpp"
#include "archive/kv_json.hpp"
#include "codec/sha256.hpp"
#include "util/json_parse.hpp"

namespace csnap::archive::detail {

namespace {

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

Status drain(ByteSource& source) {
  std::vector<std::byte> buffer(std::size_t{64} * 1024);
  while (true) {
    CSNAP_ASSIGN_OR_RETURN(std::size_t count, source.read(buffer));
    if (count == 0)
      return {};
  }
}

}  // namespace

Error corrupt(std::string message) {
  return Error(ErrorKind::corrupt, std::move(message));
}

SizeLimit undeclared_limit(std::string_view member) {
  if (member == kKvMember) {
    return {kUndeclaredKvMaxSize,
            fmt::format("the {} bytes a KV member without a declared size may hold",
                        kUndeclaredKvMaxSize)};
  }
  return {kJsonMemberMaxSize,
          fmt::format("the {} bytes a JSON member may hold", kJsonMemberMaxSize)};
}

bool is_json_member(std::string_view member) {
  return member.ends_with(".json");
}

std::string short_hash(std::string_view hex) {
  return std::string(hex.substr(0, 12)) + "..";
}

Result<std::size_t> MemberData::read(std::span<std::byte> buffer) {
  CSNAP_ASSIGN_OR_RETURN(std::size_t count, read_more_(buffer));
  total_ += count;
  if (total_ > limit_.bytes)
    return corrupt(fmt::format("{}: larger than {}", name_, limit_.what));
  return count;
}

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

}  // namespace csnap::archive::detail
