#include "model/kv_cache.h"

#include <ATen/ATen.h>

namespace fw::model {

KVCache::KVCache(const LlamaConfig& c, int64_t batch, int64_t capacity, at::ScalarType dtype, at::Device device) {
  auto opts = at::TensorOptions().dtype(dtype).device(device);
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    keys.push_back(at::empty({batch, c.num_key_value_heads, capacity, c.head_dim}, opts));
    values.push_back(at::empty({batch, c.num_key_value_heads, capacity, c.head_dim}, opts));
  }
  key_valid = at::zeros({batch, capacity}, at::TensorOptions().dtype(at::kBool).device(device));
}

void KVCache::select_rows(const at::Tensor& rows) {
  at::Tensor idx = rows.to(key_valid.device());
  for (auto& k : keys) k = k.index_select(0, idx);
  for (auto& v : values) v = v.index_select(0, idx);
  key_valid = key_valid.index_select(0, idx);
}

}  // namespace fw::model
