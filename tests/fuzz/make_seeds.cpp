// Writes the generated part of the fuzz corpus (tests/fuzz/corpus/<target>/gen-*) with this
// project's own writers, so that the seeds follow the formats exactly:
//
//   cmake --build <build dir> --target fuzz_make_seeds
//   <build dir>/tests/fuzz/fuzz_make_seeds tests/fuzz/corpus
//
// The output is deterministic except where the formats demand randomness (age file keys and
// nonces, the v0 salt and nonce), so rerunning it changes the encrypted seeds' bytes only.

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "archive/backup_writer.hpp"
#include "archive/kv_json.hpp"
#include "codec/age.hpp"
#include "codec/compression.hpp"
#include "codec/legacy_crypt.hpp"
#include "crafted_backup.hpp"
#include "util/log.hpp"

namespace {

using namespace csnap;
namespace fs = std::filesystem;

constexpr std::string_view kIdentity =
    "AGE-SECRET-KEY-1EGTZVFFV20835NWYV6270LXYVK2VKNX2MMDKWYKLMGR48UAWX40Q2P2LM0";

Status write_seed(const fs::path& path, std::string_view bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out)
    return Error(ErrorKind::io, "cannot write " + path.string());
  std::printf("%s (%zu bytes)\n", path.c_str(), bytes.size());
  return {};
}

Result<std::string> kv_json() {
  StringSink out;
  archive::KvJsonWriter writer(out);
  CSNAP_TRY(writer.add("app/config", "{\"a\": 1}", 0));
  CSNAP_TRY(writer.add("app/folder/", "", 0));
  CSNAP_TRY(writer.add("bytes <&> \t\xc3\xa9", std::string("\x00\x01\xff\xfe", 4), 42));
  CSNAP_TRY(writer.add("max-flags", "v", 18446744073709551615ULL));
  CSNAP_TRY(writer.finish());
  return out.take();
}

Result<std::string> compress(codec::Compression compression, std::string_view bytes) {
  StringSink out;
  auto sink = codec::make_compress_sink(compression, out);
  CSNAP_TRY(sink->write(bytes));
  CSNAP_TRY(sink->finish());
  return out.take();
}

Result<std::string> backup(codec::Compression compression, const fs::path& temp_dir) {
  archive::BackupWriter writer({temp_dir});
  CSNAP_ASSIGN_OR_RETURN(std::string kv, kv_json());
  CSNAP_ASSIGN_OR_RETURN(archive::MemberSink * kv_sink, writer.begin_member(archive::kKvMember));
  CSNAP_TRY(kv_sink->write(kv));
  CSNAP_TRY(kv_sink->finish());
  CSNAP_ASSIGN_OR_RETURN(archive::MemberSink * pq_sink,
                         writer.begin_member(archive::kPreparedQueriesMember));
  CSNAP_TRY(pq_sink->write("[]\n"));
  CSNAP_TRY(pq_sink->finish());
  archive::Meta meta;
  meta.tool_version = "0.1.0-fuzz";
  meta.started_at = std::chrono::sys_days(std::chrono::year(2026) / 1 / 2);
  meta.finished_at = meta.started_at + std::chrono::seconds(3);
  meta.hostname = "host";
  meta.node = "node";
  meta.datacenter = "dc1";
  meta.consul_version = "1.16.3";
  meta.counts["kv"] = 4;
  StringSink out;
  CSNAP_TRY(writer.write(std::move(meta), out, compression));
  return out.take();
}

Result<std::string> age_encrypt(std::string_view plaintext, codec::age::EncryptOptions options) {
  StringSink out;
  CSNAP_ASSIGN_OR_RETURN(auto sink, codec::age::EncryptSink::create(out, std::move(options)));
  CSNAP_TRY(sink->write(plaintext));
  CSNAP_TRY(sink->finish());
  return out.take();
}

// The crafted inputs of issue 11 that crashed the reader or filled the disk, in small versions.
Status hostile_seeds(const fs::path& corpus) {
  using test_common::CraftedMember;
  using test_common::TarBuilder;
  const fs::path reader = corpus / "backup_reader";
  const std::string folder = "host.consul.snapshot.1700000000/";

  std::string kv = "[]";
  std::string meta = R"({"KVSha256": ")" + codec::Sha256::hex_of(kv) +
                     R"(", "ConsulSnapshotVersion": 2, "StartTime": "yesterday"})";
  TarBuilder numeric;
  numeric.directory(folder)
      .file(folder + "consul.kv.1700000000.json", kv)
      .file(folder + "meta.json", meta);
  CSNAP_TRY(write_seed(reader / "gen-hostile-original-numeric-version.tar", numeric.finish()));

  TarBuilder digits;
  digits.directory(folder).file(folder + "consul.kv." + std::string(60000, '7') + ".json", kv);
  CSNAP_TRY(write_seed(reader / "gen-hostile-60000-digit-name.tar", digits.finish()));

  constexpr std::uint64_t kGiB = std::uint64_t{1} << 30;
  TarBuilder sparse;
  sparse.file(archive::kMetaMember, test_common::crafted_meta({{"kv.json", "", kGiB}}))
      .sparse("kv.json", kGiB);
  CSNAP_TRY(write_seed(reader / "gen-hostile-sparse.tar", sparse.finish()));

  // 16 MiB of zeros declared honestly: a few hundred bytes compressed.
  constexpr std::uint64_t kZeros = std::uint64_t{16} << 20;
  for (std::string_view member : {"kv.json", "acl/tokens.json"}) {
    TarBuilder head;
    head.file(archive::kMetaMember, test_common::crafted_meta({{std::string(member), "", kZeros}}));
    std::string tar_head = head.finish();
    tar_head.resize(tar_head.size() - 1024);
    TarBuilder header;
    tar_head += header.file(member, "", kZeros).finish().substr(0, 512);
    auto bytes = test_common::compressed(codec::Compression::zstd, tar_head, kZeros,
                                         std::string(1024, '\0'));
    std::string name =
        member == "kv.json" ? "gen-hostile-zeros-kv.tar.zst" : "gen-hostile-zeros-acl.tar.zst";
    CSNAP_TRY(write_seed(reader / name, bytes));
  }

  std::string deep =
      R"([{"Name":"q","Deep":)" + std::string(10000, '[') + std::string(10000, ']') + "}]";
  CSNAP_TRY(write_seed(
      reader / "gen-hostile-deep-query.tar",
      test_common::crafted_backup({{"kv.json", "[]"}, {"prepared-queries.json", deep}})));
  CSNAP_TRY(write_seed(corpus / "kv_json" / "gen-hostile-deep.json",
                       R"([{"key":"a","flags":0,"value":null,"x":)" + std::string(10000, '[') +
                           std::string(10000, ']') + "}]"));

  // An scrypt stanza asking for work factor 22 (4 GiB): refused from the header.
  CSNAP_TRY(write_seed(corpus / "age_decrypt" / "gen-hostile-work-factor-22.age",
                       "age-encryption.org/v1\n"
                       "-> scrypt AAAAAAAAAAAAAAAAAAAAAA 22\n"
                       "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"
                       "--- AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n" +
                           std::string(64, 'x')));
  return {};
}

Status run(const fs::path& corpus) {
  using codec::Compression;
  CSNAP_ASSIGN_OR_RETURN(std::string kv, kv_json());
  CSNAP_TRY(write_seed(corpus / "kv_json" / "gen-kv.json", kv));
  CSNAP_TRY(write_seed(corpus / "backup_reader" / "gen-kv-export.json", kv));

  auto temp_dir = fs::temp_directory_path();
  for (auto [compression, name] : {std::pair{Compression::zstd, "gen-current.tar.zst"},
                                   std::pair{Compression::gzip, "gen-current.tar.gz"},
                                   std::pair{Compression::none, "gen-current.tar"}}) {
    CSNAP_ASSIGN_OR_RETURN(std::string bytes, backup(compression, temp_dir));
    CSNAP_TRY(write_seed(corpus / "backup_reader" / name, bytes));
  }
  CSNAP_ASSIGN_OR_RETURN(std::string kv_gz, compress(Compression::gzip, kv));
  CSNAP_TRY(write_seed(corpus / "backup_reader" / "gen-v01.json.gz", kv_gz));

  std::string text = "some text that compresses: " + std::string(300, 'a') + kv;
  CSNAP_ASSIGN_OR_RETURN(std::string zst, compress(Compression::zstd, text));
  CSNAP_TRY(write_seed(corpus / "decompress" / "gen-text.zst", zst));
  CSNAP_ASSIGN_OR_RETURN(std::string gz, compress(Compression::gzip, text));
  CSNAP_TRY(write_seed(corpus / "decompress" / "gen-text.gz", gz));
  CSNAP_TRY(write_seed(corpus / "decompress" / "gen-plain.txt", text));

  CSNAP_ASSIGN_OR_RETURN(auto identity, codec::age::X25519Identity::parse(kIdentity));
  codec::age::EncryptOptions to_key;
  to_key.recipients.push_back(identity.recipient());
  CSNAP_ASSIGN_OR_RETURN(std::string x25519_small, age_encrypt(kv, to_key));
  CSNAP_TRY(write_seed(corpus / "age_decrypt" / "gen-x25519.age", x25519_small));
  CSNAP_ASSIGN_OR_RETURN(std::string x25519_chunks, age_encrypt(zst, to_key));
  CSNAP_TRY(write_seed(corpus / "age_decrypt" / "gen-x25519-zst.age", x25519_chunks));
  codec::age::EncryptOptions to_passphrase;
  to_passphrase.passphrase = Secret("password");
  to_passphrase.scrypt_work_factor = 2;
  CSNAP_ASSIGN_OR_RETURN(std::string scrypt_small, age_encrypt(kv, to_passphrase));
  CSNAP_TRY(write_seed(corpus / "age_decrypt" / "gen-scrypt.age", scrypt_small));

  Secret v0_passphrase("correct horse battery staple");
  CSNAP_ASSIGN_OR_RETURN(std::string v0_small, codec::legacy_v0_encrypt(kv, v0_passphrase));
  CSNAP_TRY(write_seed(corpus / "legacy_v0" / "gen-kv.v0", v0_small));
  CSNAP_ASSIGN_OR_RETURN(std::string v0_gz, codec::legacy_v0_encrypt(kv_gz, v0_passphrase));
  CSNAP_TRY(write_seed(corpus / "legacy_v0" / "gen-kv-gz.v0", v0_gz));
  return hostile_seeds(corpus);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_make_seeds <corpus folder>\n");
    return 2;
  }
  auto status = run(argv[1]);
  if (!status) {
    std::fprintf(stderr, "fuzz_make_seeds: %s\n", status.error().message().c_str());
    return 1;
  }
  return 0;
}
