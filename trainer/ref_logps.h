// Reference-model log-probs for DPO, precomputed once and cached beside the data
// (`<first train file>.ref_logps.safetensors`, or in the run folder if that is not
// writable). The cache records a key: sha256 over the reference model's files, the data
// files, the tokenizer and the tokenization settings. A cache whose key differs (model or
// data changed) is reported as stale and rebuilt, never reused.
#pragma once

#include <ATen/Tensor.h>

#include <functional>
#include <string>
#include <vector>

namespace fw::trainer {

// The cache key for these inputs.
std::string ref_logps_key(const std::string& reference_dir, const std::vector<std::string>& data_files,
                          const std::string& tokenizer_bytes, const std::string& settings);

// Loads [N,2] (chosen, rejected) log-probs when `path` holds a cache with `key` and N
// rows; otherwise calls compute(), stores its result under `key` and returns it.
// `fallback_dir` receives the cache when `path`'s folder cannot be written.
at::Tensor cached_ref_logps(const std::string& path, const std::string& fallback_dir, const std::string& key,
                            int64_t n, const std::function<at::Tensor()>& compute);

}  // namespace fw::trainer
