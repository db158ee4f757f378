// Multi-head attention with grouped key/value heads (GQA; MQA when Hkv = 1), rotary
// embeddings and an optional KV cache, through at::scaled_dot_product_attention. With
// config.qk_norm (Qwen3), each head's q and k pass an RMSNorm over D before RoPE.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include "model/llama_config.h"
#include "model/rmsnorm.h"

namespace fw::model {

// What one layer's attention needs besides its input.
struct AttentionInputs {
  at::Tensor cos, sin;    // [B,T,D] rotary tables for the new tokens
  at::Tensor mask;        // bool [B,1,T,S], or undefined
  bool is_causal = false; // with no mask: plain causal attention over the T tokens
  at::Tensor* k_cache = nullptr;  // [B,Hkv,S_max,D]; with v_cache, append and attend to [0, offset+T)
  at::Tensor* v_cache = nullptr;
  int64_t offset = 0;     // cache slots already filled
};

class AttentionImpl : public torch::nn::Module {
 public:
  explicit AttentionImpl(const LlamaConfig& config);
  at::Tensor forward(const at::Tensor& x, const AttentionInputs& in);  // [B,T,C] -> [B,T,C]

  torch::nn::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, o_proj{nullptr};
  RMSNorm q_norm{nullptr}, k_norm{nullptr};  // [D] each; only with config.qk_norm

 private:
  int64_t n_heads_, n_kv_heads_, head_dim_;
};
TORCH_MODULE(Attention);

}  // namespace fw::model
