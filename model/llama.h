// The Llama-family decoder (Llama, Mistral, Qwen2) and its heads. Module and parameter
// names mirror transformers' exactly ("model.layers.0.self_attn.q_proj.weight"), so HF
// state dicts map one to one.
//
//   LlamaModel        embed_tokens -> N x [x + attn(norm(x)); x + mlp(norm(x))] -> norm
//   LlamaForCausalLM  LlamaModel + lm_head (or the tied embedding)     -> logits [B,T,V]
//   LlamaForScore     LlamaModel + score (C -> num_labels, no bias)    -> scores [B,T,L]
//                     (HF's LlamaForSequenceClassification: reward and value models)
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include "model/attention.h"
#include "model/kv_cache.h"
#include "model/llama_config.h"
#include "model/mlp.h"
#include "model/rmsnorm.h"

namespace fw::model {

// Optional inputs of a forward pass besides the token ids [B,T].
struct ForwardOptions {
  at::Tensor position_ids;    // [B,T] int64; default: cache length + arange(T)
  at::Tensor attention_mask;  // [B,T] 1 = real token, 0 = padding (HF's meaning); default all 1
  at::Tensor segment_ids;     // [B,T] packed documents: attention stays within a segment
                              // (give position_ids restarting per document); no cache
  bool shared_prefix = false; // with segment_ids: segment 0 is a prefix every later segment
                              // of its row also sees (data::collate_preference_pairs); not
                              // with sliding-window layers
  KVCache* cache = nullptr;   // incremental decoding: append the T tokens to the cache
};

class DecoderLayerImpl : public torch::nn::Module {
 public:
  explicit DecoderLayerImpl(const LlamaConfig& config);
  at::Tensor forward(const at::Tensor& x, const AttentionInputs& in);  // [B,T,C] -> [B,T,C]

  Attention self_attn{nullptr};
  Mlp mlp{nullptr};
  RMSNorm input_layernorm{nullptr}, post_attention_layernorm{nullptr};
};
TORCH_MODULE(DecoderLayer);

class LlamaModelImpl : public torch::nn::Module {
 public:
  explicit LlamaModelImpl(const LlamaConfig& config);
  // input_ids [B,T] -> final hidden states [B,T,C] (after the last norm).
  at::Tensor forward(const at::Tensor& input_ids, const ForwardOptions& opts = {});

  const LlamaConfig& config() const { return config_; }
  const at::Tensor& inv_freq() const { return inv_freq_; }

  torch::nn::Embedding embed_tokens{nullptr};
  torch::nn::ModuleList layers{nullptr};
  RMSNorm norm{nullptr};

 private:
  LlamaConfig config_;
  at::Tensor inv_freq_;  // [D/2] float32 rotary frequencies; a member, not a buffer, so
                         // casting the module to bf16 does not round it
};
TORCH_MODULE(LlamaModel);

class LlamaForCausalLMImpl : public torch::nn::Module {
 public:
  explicit LlamaForCausalLMImpl(const LlamaConfig& config);
  at::Tensor forward(const at::Tensor& input_ids, const ForwardOptions& opts = {});  // -> [B,T,V]
  at::Tensor logits(const at::Tensor& hidden);  // [B,T,C] -> [B,T,V]; lets callers project only some positions
  const LlamaConfig& config() const { return model->config(); }

  LlamaModel model{nullptr};
  torch::nn::Linear lm_head{nullptr};  // null when tie_word_embeddings
};
TORCH_MODULE(LlamaForCausalLM);

class LlamaForScoreImpl : public torch::nn::Module {
 public:
  explicit LlamaForScoreImpl(const LlamaConfig& config);
  at::Tensor forward(const at::Tensor& input_ids, const ForwardOptions& opts = {});  // -> [B,T,L]
  // Right-padded rows [B,T] with `lengths` [B] real tokens each -> the head at each row's
  // last real token, [B] (num_labels 1). This is the reward of a sequence.
  at::Tensor score_last(const at::Tensor& input_ids, const at::Tensor& lengths);
  const LlamaConfig& config() const { return model->config(); }

  LlamaModel model{nullptr};
  torch::nn::Linear score{nullptr};
};
TORCH_MODULE(LlamaForScore);

// transformers' initialisation for training from scratch: N(0, std) for linear and
// embedding weights, zero biases, unit norm weights. Seeded by the caller's generator.
void init_weights(torch::nn::Module& module, double std = 0.02);

}  // namespace fw::model
