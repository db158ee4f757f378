#include "model/safetensors_format.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"

namespace fw::model {
namespace {

struct DtypeEntry {
  StDtype dtype;
  const char* name;
  size_t size;
};
constexpr DtypeEntry kDtypes[] = {
    {StDtype::F64, "F64", 8},   {StDtype::F32, "F32", 4},          {StDtype::F16, "F16", 2},
    {StDtype::BF16, "BF16", 2}, {StDtype::I64, "I64", 8},          {StDtype::I32, "I32", 4},
    {StDtype::I16, "I16", 2},   {StDtype::I8, "I8", 1},            {StDtype::U8, "U8", 1},
    {StDtype::BOOL, "BOOL", 1}, {StDtype::F8_E4M3, "F8_E4M3", 1}, {StDtype::F8_E5M2, "F8_E5M2", 1},
};

[[noreturn]] void bad(const std::string& file, const std::string& what, const std::string& tensor = "") {
  throw_invalid("corrupt safetensors file: " + what,
                {.file = file, .key = tensor, .hint = "the file is truncated, damaged or not safetensors"});
}

StDtype dtype_from_name(const std::string& name, const std::string& file, const std::string& tensor) {
  for (const auto& d : kDtypes)
    if (name == d.name) return d.dtype;
  bad(file, "unknown dtype '" + name + "'", tensor);
}

// Reads a JSON number as a non-negative integer that fits in 63 bits.
uint64_t as_index(const nlohmann::json& v, const std::string& file, const std::string& tensor,
                  const char* what) {
  if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0))
    bad(file, std::string(what) + " must be a non-negative integer", tensor);
  uint64_t x = v.get<uint64_t>();
  if (x > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    bad(file, std::string(what) + " is too large", tensor);
  return x;
}

}  // namespace

size_t st_dtype_size(StDtype dtype) {
  for (const auto& d : kDtypes)
    if (d.dtype == dtype) return d.size;
  return 0;
}

std::string_view st_dtype_name(StDtype dtype) {
  for (const auto& d : kDtypes)
    if (d.dtype == dtype) return d.name;
  return "?";
}

uint64_t StTensorInfo::numel() const {
  uint64_t n = 1;
  for (int64_t s : shape) n *= static_cast<uint64_t>(s);
  return n;
}

uint64_t parse_header_length(const uint8_t prefix[8], uint64_t file_size, const std::string& file) {
  if (file_size < 8) bad(file, "file is shorter than the 8-byte header length");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | prefix[i];
  if (n > kMaxSafetensorsHeader)
    bad(file, "header length " + std::to_string(n) + " exceeds the " +
                  std::to_string(kMaxSafetensorsHeader) + "-byte limit");
  if (n > file_size - 8)
    bad(file, "header length " + std::to_string(n) + " runs past the end of the file (" +
                  std::to_string(file_size) + " bytes)");
  if (n < 2) bad(file, "header is too short to be a JSON object");
  return n;
}

StHeader parse_header(std::string_view json, uint64_t file_size, const std::string& file) {
  // Duplicate names are invisible after parsing (the last one wins), so catch them while
  // parsing: the callback sees every key of the top-level object.
  std::set<std::string> seen;
  std::string duplicate;
  auto on_event = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    if (event == nlohmann::json::parse_event_t::key && depth == 1 && parsed.is_string()) {
      if (!seen.insert(parsed.get<std::string>()).second && duplicate.empty())
        duplicate = parsed.get<std::string>();
    }
    return true;
  };
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(json.begin(), json.end(), on_event);
  } catch (const nlohmann::json::exception& e) {
    bad(file, std::string("header is not valid JSON (") + e.what() + ")");
  }
  if (!duplicate.empty()) bad(file, "duplicate tensor name", duplicate);
  if (!j.is_object()) bad(file, "header is not a JSON object");

  StHeader h;
  h.data_start = 8 + json.size();
  const uint64_t data_size = file_size - h.data_start;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& name = it.key();
    const auto& v = it.value();
    if (name == "__metadata__") {
      if (!v.is_object()) bad(file, "__metadata__ must be an object of strings");
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string()) bad(file, "__metadata__ values must be strings", m.key());
        h.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    if (!v.is_object()) bad(file, "entry is not an object", name);
    if (!v.contains("dtype") || !v["dtype"].is_string()) bad(file, "missing or non-string dtype", name);
    if (!v.contains("shape") || !v["shape"].is_array()) bad(file, "missing or non-array shape", name);
    if (!v.contains("data_offsets") || !v["data_offsets"].is_array() || v["data_offsets"].size() != 2)
      bad(file, "data_offsets must be [begin, end]", name);

    StTensorInfo t;
    t.name = name;
    t.dtype = dtype_from_name(v["dtype"].get<std::string>(), file, name);
    // numel with overflow checks: the product of hostile dims must not wrap around.
    uint64_t numel = 1;
    for (const auto& d : v["shape"]) {
      uint64_t dim = as_index(d, file, name, "shape dimension");
      t.shape.push_back(static_cast<int64_t>(dim));
      if (dim != 0 && numel > std::numeric_limits<uint64_t>::max() / dim)
        bad(file, "shape overflows", name);
      numel *= dim;
    }
    t.begin = as_index(v["data_offsets"][0], file, name, "data offset");
    t.end = as_index(v["data_offsets"][1], file, name, "data offset");
    if (t.begin > t.end) bad(file, "data_offsets begin > end", name);
    if (t.end > data_size)
      bad(file, "data_offsets [" + std::to_string(t.begin) + ", " + std::to_string(t.end) +
                    "] lie outside the " + std::to_string(data_size) + "-byte data section", name);
    const uint64_t item = st_dtype_size(t.dtype);
    if (numel > std::numeric_limits<uint64_t>::max() / item || numel * item != t.end - t.begin)
      bad(file, "byte span " + std::to_string(t.end - t.begin) + " does not match dtype " +
                    std::string(st_dtype_name(t.dtype)) + " x shape (" +
                    std::to_string(numel) + " elements)", name);
    h.tensors.push_back(std::move(t));
  }
  std::sort(h.tensors.begin(), h.tensors.end(),
            [](const StTensorInfo& a, const StTensorInfo& b) {
              return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
            });
  for (size_t i = 1; i < h.tensors.size(); ++i) {
    const auto& prev = h.tensors[i - 1];
    const auto& cur = h.tensors[i];
    // Empty tensors occupy no bytes and may share an offset with a neighbour.
    if (cur.begin < prev.end && cur.end > cur.begin)
      bad(file, "data of '" + cur.name + "' overlaps '" + prev.name + "'", cur.name);
  }
  return h;
}

StHeader read_header(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw_runtime("cannot open safetensors file", {.file = path});
  const uint64_t file_size = static_cast<uint64_t>(in.tellg());
  in.seekg(0);
  uint8_t prefix[8] = {0};
  if (file_size >= 8) in.read(reinterpret_cast<char*>(prefix), 8);
  const uint64_t n = parse_header_length(prefix, file_size, path);
  std::string json(n, '\0');
  if (!in.read(json.data(), static_cast<std::streamsize>(n)))
    throw_runtime("cannot read safetensors header", {.file = path});
  return parse_header(json, file_size, path);
}

std::string build_header(std::vector<StTensorInfo>& tensors,
                         const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json j;
  if (!metadata.empty()) j["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (auto& t : tensors) {
    t.begin = offset;
    t.end = offset + t.numel() * st_dtype_size(t.dtype);
    offset = t.end;
    j[t.name] = {{"dtype", st_dtype_name(t.dtype)}, {"shape", t.shape},
                 {"data_offsets", {t.begin, t.end}}};
  }
  std::string text = j.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  std::string out(8, '\0');
  uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out + text;
}

}  // namespace fw::model
