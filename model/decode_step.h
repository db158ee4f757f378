// The one-token decode step of LlamaModel under no grad (what generation runs per new
// token): the general forward's computation at T = 1 with fewer and cheaper operations,
// since for a small model the per-op overhead, not the arithmetic, sets its speed.
// Activations stay 2-D [B,C]; q/k/v and gate/up are one matrix product each
// (FusedLinear), and on a CPU every product runs on a packed copy of its weight
// (PanelWeight's kernel in float32 with AVX-512, oneDNN's otherwise); cos/sin come from a table (RopeTable) and q and k rotate together;
// a sliding window narrows the keys instead of building a mask. In float32 on a CPU with
// AVX2, RMSNorm, RoPE with the cache write, SwiGLU's activation and the attention are
// small kernels (decode_kernels.h, decode_attention.h).
#pragma once

#include <ATen/Tensor.h>

#include <vector>

#include "model/fused_linear.h"
#include "model/kv_cache.h"
#include "model/rope.h"

namespace fw::model {

class LlamaModelImpl;

// What the decode steps of one KV cache reuse: built by the first step, kept with the
// cache (KVCache::decode_state), so it lives exactly as long as the cached keys it serves.
struct DecodeState {
  const LlamaModelImpl* model = nullptr;    // built for this model
  std::vector<FusedLinear> qkv, o, gate_up, down;  // per layer
  RopeTable rope;
};

// Rows to pack a decode step's weights for (FusedLinear's pack_rows): the batch, or 0 (no
// packed copies) when copying this model's weights would take more than 4 GiB, when fewer
// than 8 steps are left to repay the copy (it costs about three steps), or under CPU
// autocast (the products then run in autocast's dtype, as the prefill's do).
int64_t decode_pack_rows(const LlamaConfig& config, int64_t batch, at::ScalarType dtype, int64_t steps);

// input_ids [B,1]; position_ids [B,1] or undefined (then the cache length). Appends to the
// cache and returns the final hidden states [B,1,C], as LlamaModelImpl::forward does.
at::Tensor decode_step(LlamaModelImpl& model, const at::Tensor& input_ids, const at::Tensor& position_ids,
                       KVCache& cache);

}  // namespace fw::model
