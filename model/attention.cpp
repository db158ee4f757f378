#include "model/attention.h"

#include <ATen/ATen.h>

#include "model/onednn_linear.h"
#include "model/rope.h"

namespace fw::model {

AttentionImpl::AttentionImpl(const LlamaConfig& c)
    : n_heads_(c.num_attention_heads), n_kv_heads_(c.num_key_value_heads), head_dim_(c.head_dim) {
  const bool qkv_bias = c.attention_bias || c.qkv_bias;
  auto linear = [](int64_t in, int64_t out, bool bias) {
    return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(bias));
  };
  q_proj = register_module("q_proj", linear(c.hidden_size, n_heads_ * head_dim_, qkv_bias));
  k_proj = register_module("k_proj", linear(c.hidden_size, n_kv_heads_ * head_dim_, qkv_bias));
  v_proj = register_module("v_proj", linear(c.hidden_size, n_kv_heads_ * head_dim_, qkv_bias));
  o_proj = register_module("o_proj", linear(n_heads_ * head_dim_, c.hidden_size, c.attention_bias));
  if (c.qk_norm) {
    q_norm = register_module("q_norm", RMSNorm(head_dim_, c.rms_norm_eps));
    k_norm = register_module("k_norm", RMSNorm(head_dim_, c.rms_norm_eps));
  }
}

at::Tensor AttentionImpl::forward(const at::Tensor& x, const AttentionInputs& in) {
  const int64_t B = x.size(0), T = x.size(1);
  at::Tensor q = linear_forward(*q_proj, x).view({B, T, n_heads_, head_dim_});     // [B,T,H,D]
  at::Tensor k = linear_forward(*k_proj, x).view({B, T, n_kv_heads_, head_dim_});  // [B,T,Hkv,D]
  if (q_norm) {
    q = q_norm(q);
    k = k_norm(k);
  }
  q = q.transpose(1, 2);  // [B,H,T,D]
  k = k.transpose(1, 2);  // [B,Hkv,T,D]
  at::Tensor v = linear_forward(*v_proj, x).view({B, T, n_kv_heads_, head_dim_}).transpose(1, 2);  // [B,Hkv,T,D]
  q = apply_rope(q, in.cos, in.sin);
  k = apply_rope(k, in.cos, in.sin);
  if (in.k_cache) {
    in.k_cache->narrow(2, in.offset, T).copy_(k);
    in.v_cache->narrow(2, in.offset, T).copy_(v);
    k = in.k_cache->narrow(2, 0, in.offset + T);  // [B,Hkv,S,D]
    v = in.v_cache->narrow(2, 0, in.offset + T);
  }
  std::optional<at::Tensor> mask;
  if (in.mask.defined()) mask = in.mask;
  at::Tensor y = at::scaled_dot_product_attention(q, k, v, mask, 0.0, in.is_causal && !in.mask.defined(),
                                                  std::nullopt, /*enable_gqa=*/n_kv_heads_ != n_heads_);
  y = y.transpose(1, 2).reshape({B, T, n_heads_ * head_dim_});  // [B,T,H*D]
  return linear_forward(*o_proj, y);
}

}  // namespace fw::model
