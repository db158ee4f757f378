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

}  // namespace fw::model
