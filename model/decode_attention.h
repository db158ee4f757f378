// Attention of one new query per row over the KV cache, the decode step's case, as a
// small CPU kernel. scaled_dot_product_attention at one query runs a blocked kernel per
// head (two tiny matrix products each, ~45 us per layer for a 0.2M-parameter model at
// batch 32); this one is a few dot products per key and an ATen softmax. GQA is native:
// each key/value head serves its group of query heads without repeating the cache.
#pragma once

#include <ATen/Tensor.h>

namespace fw::model {

// Whether decode_attention runs here: a float32 or bfloat16 CPU tensor (bfloat16: the
// cache is read as it is and the sums are float32; ATen's bfloat16 SDPA at one query took
// ~1.2 ms per layer at batch 32 for the 100m model), head_dim a multiple of 8, and a CPU
// with AVX2 and FMA. Otherwise use scaled_dot_product_attention.
bool decode_attention_supported(const at::Tensor& q);

// q [B,H,D] (last dim contiguous); keys, values: contiguous caches [B,Hkv,S_max,D] of q's
// dtype; the
// keys of slots [first, end) are attended, except where key_valid [B,S_max] (bool, or
// undefined: all valid) is false. Softmax(q.k / sqrt(D)) weighted values: [B,H*D].
at::Tensor decode_attention(const at::Tensor& q, const at::Tensor& keys, const at::Tensor& values, int64_t first,
                            int64_t end, const at::Tensor& key_valid);

}  // namespace fw::model
