#include "model/llama.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <torch/nn/init.h>

#include "core/error.h"
#include "model/onednn_linear.h"
#include "model/attention_mask.h"
#include "model/decode_step.h"
#include "model/rope.h"

namespace fw::model {

DecoderLayerImpl::DecoderLayerImpl(const LlamaConfig& c) {
  self_attn = register_module("self_attn", Attention(c));
  mlp = register_module("mlp", Mlp(c));
  input_layernorm = register_module("input_layernorm", RMSNorm(c.hidden_size, c.rms_norm_eps));
  post_attention_layernorm = register_module("post_attention_layernorm", RMSNorm(c.hidden_size, c.rms_norm_eps));
}

at::Tensor DecoderLayerImpl::forward(const at::Tensor& x, const AttentionInputs& in) {
  at::Tensor h = x + self_attn(input_layernorm(x), in);
  return h + mlp(post_attention_layernorm(h));
}

LlamaModelImpl::LlamaModelImpl(const LlamaConfig& c) : config_(c) {
  c.validate("model config");
  embed_tokens = register_module("embed_tokens", torch::nn::Embedding(c.vocab_size, c.hidden_size));
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) layers->push_back(DecoderLayer(c));
  norm = register_module("norm", RMSNorm(c.hidden_size, c.rms_norm_eps));
  inv_freq_ = rope_inv_freq(c.rope, c.head_dim);
}

at::Tensor LlamaModelImpl::forward(const at::Tensor& input_ids, const ForwardOptions& opts) {
  const int64_t B = input_ids.size(0), T = input_ids.size(1);
  const auto device = input_ids.device();
  KVCache* cache = opts.cache;
  const int64_t offset = cache ? cache->length : 0;
  TORCH_CHECK(!cache || offset + T <= cache->capacity(), "KV cache full: ", offset + T, " > ", cache->capacity());
  TORCH_CHECK(!(cache && opts.segment_ids.defined()), "packed segments cannot use a KV cache");
  // Generation's one-token steps take the cheaper path (decode_step.h); training and
  // scoring (grad on, or no cache) stay here.
  if (cache && T == 1 && B > 0 && !opts.attention_mask.defined() && !at::GradMode::is_enabled())
    return decode_step(*this, input_ids, opts.position_ids, *cache);

  at::Tensor position_ids = opts.position_ids.defined()
                                ? opts.position_ids
                                : at::arange(offset, offset + T, at::TensorOptions().dtype(at::kLong).device(device))
                                      .unsqueeze(0).expand({B, T});
  at::Tensor h = embed_tokens(input_ids);  // [B,T,C]
  if (inv_freq_.device() != device) inv_freq_ = inv_freq_.to(device);
  auto [cos, sin] = rope_cos_sin(inv_freq_, position_ids, h.scalar_type());

  // Masks: plain causal attention needs none; padding, a cache holding earlier tokens,
  // packed documents and sliding windows each need an explicit boolean mask.
  const int64_t S = offset + T;
  const int64_t window = config_.sliding_window;
  const bool any_window = window > 0 && S > window && !config_.sliding_window_layers.empty();
  at::Tensor full_mask, window_mask;
  bool is_causal = false;
  if (opts.segment_ids.defined()) {
    if (opts.shared_prefix && any_window)
      throw_invalid("a shared-prefix row longer than the sliding window (" + std::to_string(window) +
                    " tokens): the window would be measured on slots, not positions");
    full_mask = document_causal_mask(opts.segment_ids, 0, opts.shared_prefix);
    if (any_window) window_mask = document_causal_mask(opts.segment_ids, window);
  } else {
    at::Tensor token_valid = opts.attention_mask.defined() ? opts.attention_mask.to(at::kBool) : at::Tensor();
    bool padded = token_valid.defined() && !token_valid.all().item<bool>();
    at::Tensor key_valid;
    if (cache) {
      auto slots = cache->key_valid.narrow(1, offset, T);
      token_valid.defined() ? slots.copy_(token_valid) : slots.fill_(true);
      cache->has_padding = cache->has_padding || padded;
      padded = cache->has_padding;
      key_valid = cache->key_valid.narrow(1, 0, S);
    } else {
      key_valid = token_valid.defined() ? token_valid : at::ones({B, T}, at::TensorOptions().dtype(at::kBool).device(device));
    }
    if (padded || (offset > 0 && T > 1)) full_mask = causal_padding_mask(key_valid, offset, T, 0);
    else is_causal = T > 1;  // a single new token may see every cached slot: no mask
    if (any_window) window_mask = causal_padding_mask(key_valid, offset, T, window);
  }

  for (int64_t l = 0; l < config_.num_hidden_layers; ++l) {
    AttentionInputs in;
    in.cos = cos;
    in.sin = sin;
    const bool windowed = any_window && config_.uses_sliding_window(l);
    in.mask = windowed ? window_mask : full_mask;
    in.is_causal = is_causal && !windowed;
    if (cache) {
      in.k_cache = &cache->keys[l];
      in.v_cache = &cache->values[l];
      in.offset = offset;
    }
    h = layers[l]->as<DecoderLayer>()->forward(h, in);
  }
  if (cache) cache->length = S;
  return norm(h);
}

LlamaForCausalLMImpl::LlamaForCausalLMImpl(const LlamaConfig& c) {
  model = register_module("model", LlamaModel(c));
  if (!c.tie_word_embeddings)
    lm_head = register_module("lm_head", torch::nn::Linear(torch::nn::LinearOptions(c.hidden_size, c.vocab_size).bias(false)));
}

at::Tensor LlamaForCausalLMImpl::logits(const at::Tensor& hidden) {
  return lm_head ? linear_forward(*lm_head, hidden) : linear_forward(hidden, model->embed_tokens->weight, std::nullopt);
}

at::Tensor LlamaForCausalLMImpl::forward(const at::Tensor& input_ids, const ForwardOptions& opts) {
  return logits(model(input_ids, opts));
}

LlamaForScoreImpl::LlamaForScoreImpl(const LlamaConfig& c) {
  model = register_module("model", LlamaModel(c));
  score = register_module("score", torch::nn::Linear(torch::nn::LinearOptions(c.hidden_size, c.num_labels).bias(false)));
}

at::Tensor LlamaForScoreImpl::forward(const at::Tensor& input_ids, const ForwardOptions& opts) {
  return linear_forward(*score, model(input_ids, opts));
}

at::Tensor LlamaForScoreImpl::score_last(const at::Tensor& input_ids, const at::Tensor& lengths) {
  at::Tensor scores = forward(input_ids).select(-1, 0);  // [B,T]
  at::Tensor last = (lengths.to(scores.device(), at::kLong) - 1).clamp_min(0).unsqueeze(1);
  return scores.gather(1, last).squeeze(1);
}

void init_weights(torch::nn::Module& module, double std) {
  at::NoGradGuard no_grad;
  for (auto& m : module.modules(/*include_self=*/true)) {
    if (auto* lin = m->as<torch::nn::Linear>()) {
      lin->weight.normal_(0.0, std);
      if (lin->bias.defined()) lin->bias.zero_();
    } else if (auto* emb = m->as<torch::nn::Embedding>()) {
      emb->weight.normal_(0.0, std);
    } else if (auto* rms = m->as<RMSNorm>()) {
      rms->weight.fill_(1.0);
    }
  }
}

}  // namespace fw::model
