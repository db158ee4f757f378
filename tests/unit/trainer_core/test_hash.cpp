#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "tests/support/test_tmp.h"
#include "core/error.h"
#include "core/hash.h"

namespace {

std::string tmp_path(const std::string& name) {
  std::filesystem::create_directories(fw::testing::tmp_dir());
  return fw::testing::tmp_dir() + "/trainer_core_hash_" + name;
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(fw::sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(fw::sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(fw::sha256_hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, FileMatchesBytes) {
  auto empty = tmp_path("empty.bin");
  write_bytes(empty, "");
  EXPECT_EQ(fw::sha256_file(empty), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  auto abc = tmp_path("abc.bin");
  write_bytes(abc, "abc");
  EXPECT_EQ(fw::sha256_file(abc), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256, StreamsFilesLargerThanOneChunk) {
  // 3 MiB + 7 bytes: several 1 MiB reads plus a short tail.
  std::string big((3u << 20) + 7, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 131u + 7u) & 0xFF);
  auto p = tmp_path("big.bin");
  write_bytes(p, big);
  const std::string expected = fw::sha256_hex(big);
  EXPECT_EQ(fw::sha256_file(p), expected);

  fw::Sha256 inc;  // the same digest fed in uneven pieces
  inc.update(std::string_view(big).substr(0, 12345));
  inc.update(std::string_view(big).substr(12345));
  EXPECT_EQ(inc.hex_digest(), expected);
}

TEST(Sha256, MissingFileIsRuntimeErrorNamingIt) {
  auto p = tmp_path("does_not_exist.bin");
  std::filesystem::remove(p);
  try {
    fw::sha256_file(p);
    FAIL() << "expected fw::Error";
  } catch (const fw::Error& e) {
    EXPECT_EQ(e.kind(), fw::ErrorKind::Runtime);
    EXPECT_EQ(e.context().file, p);
  }
}

}  // namespace
