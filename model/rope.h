// Rotary position embeddings (RoPE) with Llama-3 and linear scaling, computed exactly as
// transformers does (float32 frequencies, cos/sin cast to the activation dtype).
#pragma once

#include <ATen/Tensor.h>

#include <utility>

#include "model/llama_config.h"

namespace fw::model {

// Inverse frequencies [D/2], float32, after the configured scaling.
at::Tensor rope_inv_freq(const RopeConfig& rope, int64_t head_dim);

// cos and sin tables for the given positions: position_ids [B,T] -> two [B,T,D] tensors.
std::pair<at::Tensor, at::Tensor> rope_cos_sin(const at::Tensor& inv_freq, const at::Tensor& position_ids,
                                               at::ScalarType dtype);

// x [B,H,T,D] rotated by cos/sin [B,T,D] (rotate-half convention).
at::Tensor apply_rope(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin);

// cos and sin rows for positions [0, n), computed once and looked up per decode step. The
// rows come from rope_cos_sin's float32 operations (ATen's sin/cos may round a last bit
// differently for a differently shaped call); the sin's first half carries rotate_half's
// minus sign, so apply_rope_signed needs no negation ((-a) * b == a * (-b) exactly).
class RopeTable {
 public:
  // positions [N] int64, each < bound -> cos and signed sin [N,D] in dtype.
  std::pair<at::Tensor, at::Tensor> rows(const at::Tensor& inv_freq, const at::Tensor& positions, int64_t bound,
                                         at::ScalarType dtype);

 private:
  at::Tensor cos_, sin_;  // [n,D]
};

// The same rows computed for `positions` alone (any int64, negative included), for what a
// table cannot index.
std::pair<at::Tensor, at::Tensor> rope_rows_direct(const at::Tensor& inv_freq, const at::Tensor& positions,
                                                   at::ScalarType dtype);

// x [..., D] rotated by a RopeTable's cos and signed sin (broadcast against x): the same
// values as apply_rope, with fewer operations.
at::Tensor apply_rope_signed(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& signed_sin);

}  // namespace fw::model
