// The safetensors file format, without torch: header parsing and validation, and the
// byte layout for writing. The reader treats every file as hostile: the header length is
// bounded, the JSON must be an object of well-formed entries, every span must lie inside
// the data section, match dtype x shape exactly, and not overlap another span. Any
// violation is an fw::Error naming the file (and tensor); nothing is read out of bounds.
//
// Layout: [u64 little-endian N][N bytes of JSON header][data section]
// Header: {"__metadata__": {str: str}, "<name>": {"dtype": "F32", "shape": [..],
//          "data_offsets": [begin, end]}, ...}; offsets are relative to the data section.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace fw::model {

enum class StDtype { F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL, F8_E4M3, F8_E5M2 };

size_t st_dtype_size(StDtype dtype);
std::string_view st_dtype_name(StDtype dtype);

struct StTensorInfo {
  std::string name;
  StDtype dtype = StDtype::F32;
  std::vector<int64_t> shape;
  uint64_t begin = 0;  // byte offsets relative to the start of the data section
  uint64_t end = 0;
  uint64_t numel() const;
};

struct StHeader {
  std::vector<StTensorInfo> tensors;  // in file order of their data
  std::map<std::string, std::string> metadata;
  uint64_t data_start = 0;  // absolute file offset of the data section (8 + N)
};

// Largest header we accept. Real headers are a few MB at most for 100k-tensor models.
inline constexpr uint64_t kMaxSafetensorsHeader = 100ull << 20;

// Validates the 8-byte length prefix against the file size; returns N.
uint64_t parse_header_length(const uint8_t prefix[8], uint64_t file_size, const std::string& file);

// Parses and validates the JSON header `json` (N bytes) of a file of `file_size` bytes.
StHeader parse_header(std::string_view json, uint64_t file_size, const std::string& file);

// Reads and validates the header of a file on disk (only the header is read).
StHeader read_header(const std::string& path);

// Builds the header bytes (length prefix + JSON padded with spaces to a multiple of 8,
// as the reference implementation does) for tensors laid out back to back in the given
// order. Fills in each entry's begin/end.
std::string build_header(std::vector<StTensorInfo>& tensors,
                         const std::map<std::string, std::string>& metadata);

}  // namespace fw::model
