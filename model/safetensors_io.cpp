#include "model/safetensors_io.h"

#include <ATen/ATen.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/json_io.h"
#include "model/safetensors_format.h"

namespace fw::model {
namespace fs = std::filesystem;
namespace {

at::ScalarType to_scalar_type(StDtype d) {
  switch (d) {
    case StDtype::F64: return at::kDouble;
    case StDtype::F32: return at::kFloat;
    case StDtype::F16: return at::kHalf;
    case StDtype::BF16: return at::kBFloat16;
    case StDtype::I64: return at::kLong;
    case StDtype::I32: return at::kInt;
    case StDtype::I16: return at::kShort;
    case StDtype::I8: return at::kChar;
    case StDtype::U8: return at::kByte;
    case StDtype::BOOL: return at::kBool;
    case StDtype::F8_E4M3: return at::kFloat8_e4m3fn;
    case StDtype::F8_E5M2: return at::kFloat8_e5m2;
  }
  return at::kFloat;
}

StDtype from_scalar_type(at::ScalarType t, const std::string& name) {
  switch (t) {
    case at::kDouble: return StDtype::F64;
    case at::kFloat: return StDtype::F32;
    case at::kHalf: return StDtype::F16;
    case at::kBFloat16: return StDtype::BF16;
    case at::kLong: return StDtype::I64;
    case at::kInt: return StDtype::I32;
    case at::kShort: return StDtype::I16;
    case at::kChar: return StDtype::I8;
    case at::kByte: return StDtype::U8;
    case at::kBool: return StDtype::BOOL;
    case at::kFloat8_e4m3fn: return StDtype::F8_E4M3;
    case at::kFloat8_e5m2: return StDtype::F8_E5M2;
    default: break;
  }
  throw_invalid(std::string("dtype ") + at::toString(t) + " cannot be stored in safetensors",
                {.key = name});
}

void read_exact(int fd, void* dst, uint64_t size, uint64_t offset, const std::string& path) {
  char* p = static_cast<char*>(dst);
  uint64_t done = 0;
  while (done < size) {
    ssize_t n = ::pread(fd, p + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw_runtime(std::string("read failed: ") + (n < 0 ? std::strerror(errno) : "unexpected end of file"), {.file = path});
    done += static_cast<uint64_t>(n);
  }
}

struct Fd {
  int fd;
  ~Fd() { if (fd >= 0) ::close(fd); }
};

}  // namespace

NamedTensors load_safetensors(const std::string& path) {
  Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) throw_runtime(std::string("cannot open safetensors file: ") + std::strerror(errno), {.file = path});
  struct stat st{};
  if (::fstat(f.fd, &st) != 0) throw_runtime("cannot stat file", {.file = path});
  const uint64_t file_size = static_cast<uint64_t>(st.st_size);
  uint8_t prefix[8] = {0};
  if (file_size >= 8) read_exact(f.fd, prefix, 8, 0, path);
  const uint64_t n = parse_header_length(prefix, file_size, path);
  std::string json(n, '\0');
  read_exact(f.fd, json.data(), n, 8, path);
  StHeader header = parse_header(json, file_size, path);

  NamedTensors out;
  out.reserve(header.tensors.size());
  for (const auto& t : header.tensors) {
    at::Tensor tensor = at::empty(t.shape, at::TensorOptions().dtype(to_scalar_type(t.dtype)));
    read_exact(f.fd, tensor.data_ptr(), t.end - t.begin, header.data_start + t.begin, path);
    out.emplace_back(t.name, std::move(tensor));
  }
  return out;
}

void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata) {
  std::vector<StTensorInfo> infos;
  std::vector<at::Tensor> cpu;
  std::set<std::string> names;
  for (const auto& [name, t] : tensors) {
    if (!names.insert(name).second) throw_invalid("duplicate tensor name", {.file = path, .key = name});
    StTensorInfo info;
    info.name = name;
    info.dtype = from_scalar_type(t.scalar_type(), name);
    info.shape = t.sizes().vec();
    infos.push_back(info);
    cpu.push_back(t.detach().to(at::kCPU).contiguous());
  }
  std::string header = build_header(infos, metadata);
  AtomicFileWriter w(path);
  w.write(header.data(), header.size());
  for (const auto& t : cpu) w.write(t.data_ptr(), t.nbytes());
  w.commit();
}

NamedTensors load_safetensors_dir(const std::string& dir) {
  const fs::path single = fs::path(dir) / "model.safetensors";
  const fs::path index_path = fs::path(dir) / "model.safetensors.index.json";
  if (fs::exists(single)) return load_safetensors(single.string());
  if (!fs::exists(index_path))
    throw_invalid("no model.safetensors or model.safetensors.index.json in the model folder",
                  {.file = dir, .hint = "a Hugging Face checkpoint folder saved with safe_serialization"});

  const std::string index_file = index_path.string();
  nlohmann::json index = read_json_file(index_file);
  if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object())
    throw_invalid("index has no \"weight_map\" object", {.file = index_file});
  std::map<std::string, std::set<std::string>> expected;  // shard -> tensor names
  for (auto it = index["weight_map"].begin(); it != index["weight_map"].end(); ++it) {
    if (!it.value().is_string()) throw_invalid("weight_map values must be file names", {.file = index_file, .key = it.key()});
    std::string shard = it.value().get<std::string>();
    if (shard.empty() || shard.find('/') != std::string::npos || shard.find('\\') != std::string::npos ||
        shard == "." || shard == "..")
      throw_invalid("shard name '" + shard + "' is not a plain file name in the model folder",
                    {.file = index_file, .key = it.key()});
    expected[shard].insert(it.key());
  }
  if (expected.empty()) throw_invalid("index lists no tensors", {.file = index_file});
  NamedTensors out;
  for (const auto& [shard, names] : expected) {
    const std::string shard_path = (fs::path(dir) / shard).string();
    NamedTensors part = load_safetensors(shard_path);
    std::set<std::string> found;
    for (auto& [name, t] : part) {
      if (!names.count(name))
        throw_invalid("tensor is not listed for this shard in the index", {.file = shard_path, .key = name});
      found.insert(name);
      out.emplace_back(name, std::move(t));
    }
    for (const auto& name : names)
      if (!found.count(name))
        throw_invalid("the index places this tensor in " + shard + ", which does not contain it",
                      {.file = index_file, .key = name});
  }
  return out;
}

void save_safetensors_dir(const std::string& dir, const NamedTensors& tensors, uint64_t max_shard_bytes) {
  fs::create_directories(dir);
  uint64_t total = 0;
  for (const auto& [name, t] : tensors) total += t.nbytes();
  const fs::path index_path = fs::path(dir) / "model.safetensors.index.json";
  if (total <= max_shard_bytes) {
    save_safetensors((fs::path(dir) / "model.safetensors").string(), tensors);
    fs::remove(index_path);  // a stale index would shadow nothing but confuse readers
    return;
  }
  std::vector<NamedTensors> shards(1);
  uint64_t in_shard = 0;
  for (const auto& nt : tensors) {
    if (in_shard > 0 && in_shard + nt.second.nbytes() > max_shard_bytes) {
      shards.emplace_back();
      in_shard = 0;
    }
    shards.back().push_back(nt);
    in_shard += nt.second.nbytes();
  }
  nlohmann::ordered_json index;
  index["metadata"] = {{"total_size", total}};
  nlohmann::ordered_json weight_map = nlohmann::ordered_json::object();
  char name[64];
  for (size_t i = 0; i < shards.size(); ++i) {
    std::snprintf(name, sizeof(name), "model-%05zu-of-%05zu.safetensors", i + 1, shards.size());
    save_safetensors((fs::path(dir) / name).string(), shards[i]);
    for (const auto& nt : shards[i]) weight_map[nt.first] = name;
  }
  index["weight_map"] = weight_map;
  write_file_atomic(index_path.string(), index.dump(2) + "\n");
  fs::remove(fs::path(dir) / "model.safetensors");
}

}  // namespace fw::model
