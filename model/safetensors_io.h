// Reading and writing tensors in safetensors files (single file or Hugging Face shards
// with model.safetensors.index.json). Headers are validated by safetensors_format.h
// before any data is read; data is read straight into each tensor's storage.
#pragma once

#include <ATen/Tensor.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace fw::model {

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

// All tensors of one file, on CPU, in their stored dtype.
NamedTensors load_safetensors(const std::string& path);

// Writes CPU or CUDA tensors (copied to CPU, made contiguous) atomically.
void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata = {{"format", "pt"}});

// A model folder: model.safetensors, or model.safetensors.index.json with its shards.
// The index is hostile too: shard names must be plain file names inside the folder, and
// every tensor must be found in the shard the index names, exactly once.
NamedTensors load_safetensors_dir(const std::string& dir);

// Writes model.safetensors, or shards of at most `max_shard_bytes` each
// (model-00001-of-0000N.safetensors + index) when the tensors do not fit in one.
void save_safetensors_dir(const std::string& dir, const NamedTensors& tensors,
                          uint64_t max_shard_bytes = 5ull << 30);

}  // namespace fw::model
