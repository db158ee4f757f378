// Malformed safetensors files: each gives a clear fw::Error, never a crash or an
// out-of-bounds read (this test runs under AddressSanitizer).
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "tests/support/test_tmp.h"
#include "core/error.h"
#include "model/safetensors_format.h"

namespace {
using namespace fw::model;

std::string u64le(uint64_t n) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return s;
}

// A file with the given JSON header and `data_bytes` bytes of data.
std::string file_with(const std::string& header, size_t data_bytes) {
  return u64le(header.size()) + header + std::string(data_bytes, '\x01');
}

std::string write_file(const std::string& name, const std::string& bytes) {
  std::string path = fw::testing::tmp_dir() + "/hostile_" + name + ".safetensors";
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return path;
}

std::string valid_file() {
  std::vector<StTensorInfo> ts(2);
  ts[0].name = "a";
  ts[0].dtype = StDtype::F32;
  ts[0].shape = {2, 3};
  ts[1].name = "b";
  ts[1].dtype = StDtype::BF16;
  ts[1].shape = {4};
  return build_header(ts, {{"format", "pt"}}) + std::string(24 + 8, '\0');
}

struct Case {
  const char* name;
  std::string bytes;
  const char* expect;  // a fragment of the error message
};

TEST(SafetensorsHostile, ValidFileParses) {
  StHeader h = read_header(write_file("valid", valid_file()));
  ASSERT_EQ(h.tensors.size(), 2u);
  EXPECT_EQ(h.tensors[1].end, 32u);
  EXPECT_EQ(h.metadata.at("format"), "pt");
}

TEST(SafetensorsHostile, EachMalformationIsAClearError) {
  const std::string v = valid_file();
  std::vector<Case> cases = {
      {"empty", "", "shorter than the 8-byte"},
      {"truncated_prefix", "\x10\x00\x00", "shorter than the 8-byte"},
      {"truncated_data", v.substr(0, v.size() - 5), "outside"},
      {"header_past_end", u64le(1000) + "{}", "runs past the end"},
      {"header_huge", u64le(1ull << 62) + "{}", "exceeds"},
      {"not_json", file_with("{\"a\": [1, 2", 0), "not valid JSON"},
      {"not_object", file_with("[1,2,3]  ", 0), "not a JSON object"},
      {"offsets_outside", file_with(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 4), "outside"},
      {"wrong_dtype_size", file_with(R"({"a":{"dtype":"F16","shape":[4],"data_offsets":[0,16]}})", 16), "does not match dtype"},
      {"duplicate_names", file_with(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})", 2), "duplicate tensor name"},
      {"overlap", file_with(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}})", 8), "overlaps"},
      {"unknown_dtype", file_with(R"({"a":{"dtype":"Q4","shape":[1],"data_offsets":[0,1]}})", 1), "unknown dtype"},
      {"negative_dim", file_with(R"({"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,1]}})", 1), "non-negative"},
      {"shape_overflow", file_with(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,4]}})", 4), "overflows"},
      {"begin_after_end", file_with(R"({"a":{"dtype":"U8","shape":[0],"data_offsets":[4,2]}})", 4), "begin > end"},
      {"offsets_not_pair", file_with(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0]}})", 1), "[begin, end]"},
      {"float_offset", file_with(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0.5,1]}})", 1), "non-negative integer"},
      {"metadata_not_strings", file_with(R"({"__metadata__":{"x":1}})", 0), "__metadata__"},
      {"entry_not_object", file_with(R"({"a":5})", 0), "not an object"},
      {"missing_shape", file_with(R"({"a":{"dtype":"U8","data_offsets":[0,1]}})", 1), "shape"},
  };
  for (const auto& c : cases) {
    const std::string path = write_file(c.name, c.bytes);
    try {
      read_header(path);
      ADD_FAILURE() << c.name << ": accepted";
    } catch (const fw::Error& e) {
      EXPECT_NE(std::string(e.what()).find(c.expect), std::string::npos) << c.name << ": " << e.what();
      EXPECT_EQ(e.context().file, path) << c.name;
      EXPECT_EQ(e.kind(), fw::ErrorKind::InvalidInput) << c.name;
    }
  }
}

}  // namespace
