#include "model/kv_cache.h"

#include <ATen/ATen.h>

#include <algorithm>

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

void KVCache::drop_leading_slots(int64_t n) {
  if (n <= 0) return;
  TORCH_CHECK(n <= length, "cannot drop ", n, " slots of ", length);
  const int64_t keep = capacity() - n;
  // Copies, not views: the dropped slots' memory is freed.
  for (auto& k : keys) k = k.narrow(2, n, keep).contiguous();
  for (auto& v : values) v = v.narrow(2, n, keep).contiguous();
  key_valid = key_valid.narrow(1, n, keep).contiguous();
  length -= n;
}

int64_t KVCache::leading_padding() const {
  if (length == 0) return 0;
  const at::Tensor any = key_valid.narrow(1, 0, length).any(0);  // [length]
  const at::Tensor real = any.nonzero();
  return real.numel() == 0 ? length : real[0][0].item<int64_t>();
}

KVCache merge_right_aligned(const KVCache& a, const KVCache& b, int64_t capacity) {
  const int64_t L = std::max(a.length, b.length);
  TORCH_CHECK(capacity >= L, "merged cache capacity ", capacity, " < filled length ", L);
  TORCH_CHECK(a.keys.size() == b.keys.size(), "caches of different models");
  KVCache out;
  auto place = [&](const at::Tensor& x, int64_t len, int64_t dim) {  // x's first len slots -> [.., L-len, L)
    std::vector<int64_t> shape = x.sizes().vec();
    shape[dim] = capacity;
    // Zeros, not garbage: attention weighs a masked slot's value by exactly 0, and 0 x NaN
    // is NaN.
    at::Tensor y = at::zeros(shape, x.options());
    y.narrow(dim, L - len, len).copy_(x.narrow(dim, 0, len));
    return y;
  };
  for (size_t l = 0; l < a.keys.size(); ++l) {
    out.keys.push_back(at::cat({place(a.keys[l], a.length, 2), place(b.keys[l], b.length, 2)}));
    out.values.push_back(at::cat({place(a.values[l], a.length, 2), place(b.values[l], b.length, 2)}));
  }
  out.key_valid = at::cat({place(a.key_valid, a.length, 1), place(b.key_valid, b.length, 1)});
  out.length = L;
  out.has_padding = a.has_padding || b.has_padding || a.length != b.length;
  out.decode_state = a.decode_state;
  return out;
}

}  // namespace fw::model
