#include "model/decode_step.h"

#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>

#include <algorithm>

#include "model/decode_attention.h"
#include "model/decode_kernels.h"
#include "model/llama.h"

namespace fw::model {
namespace {

// Fusing copies the layer's q/k/v and gate/up weights once more (for a generation call);
// it pays where the matrix products are small enough for their per-call overhead to
// matter, and larger ones run at the same speed either way.
constexpr int64_t kMaxFusedWeights = 1 << 20;
// A packed copy of every weight doubles the model's memory for a generation call; past
// this the products use the shared weights.
constexpr int64_t kMaxPackedBytes = int64_t{4} << 30;
// Packing copies every weight once, about three decode steps' time: fewer steps than this
// use the shared weights.
constexpr int64_t kMinPackedSteps = 8;

// The smallest and largest of positions [B] int64, B > 0 (a CPU read; elsewhere one
// synchronising aminmax).
std::pair<int64_t, int64_t> position_range(const at::Tensor& positions) {
  if (!positions.is_cpu()) {
    auto [lo, hi] = at::aminmax(positions);
    return {lo.item<int64_t>(), hi.item<int64_t>()};
  }
  at::Tensor p = positions.contiguous();
  const int64_t* d = p.data_ptr<int64_t>();
  auto [lo, hi] = std::minmax_element(d, d + p.numel());
  return {*lo, *hi};
}

DecodeState& state_for(LlamaModelImpl& m, KVCache& cache) {
  if (cache.decode_state && cache.decode_state->model == &m) return *cache.decode_state;
  const LlamaConfig& c = m.config();
  auto s = std::make_shared<DecodeState>();
  s->model = &m;
  const bool fuse_qkv = (c.num_attention_heads + 2 * c.num_key_value_heads) * c.head_dim * c.hidden_size <= kMaxFusedWeights;
  const bool fuse_mlp = 2 * c.intermediate_size * c.hidden_size <= kMaxFusedWeights;
  // The cache holds this step and every later one.
  const int64_t rows = decode_pack_rows(c, cache.batch(), m.norm->weight.scalar_type(), cache.capacity() - cache.length);
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const auto& layer = *m.layers[l]->as<DecoderLayer>();
    const auto& attn = *layer.self_attn;
    const auto& mlp = *layer.mlp;
    s->qkv.emplace_back(std::vector{attn.q_proj.get(), attn.k_proj.get(), attn.v_proj.get()}, fuse_qkv, rows);
    s->o.emplace_back(std::vector{attn.o_proj.get()}, false, rows);
    s->gate_up.emplace_back(std::vector{mlp.gate_proj.get(), mlp.up_proj.get()}, fuse_mlp, rows);
    s->down.emplace_back(std::vector{mlp.down_proj.get()}, false, rows);
  }
  cache.decode_state = s;
  return *s;
}

// One call's inputs shared by its layers.
struct Step {
  LlamaModelImpl& m;
  KVCache& cache;
  DecodeState& state;
  bool kernels;         // the CPU kernels apply (float32)
  bool attention_kernel;  // the attention kernel may read the cache (float32 or bfloat16)
  at::Tensor cos, sin;  // [B,D] RopeTable rows (sin signed)
};

at::Tensor norm(const Step& s, RMSNormImpl& n, const at::Tensor& x) {
  return s.kernels ? rms_norm_rows(x, n.weight, n.eps()) : n.forward(x);
}

// The single query sees every filled slot from `first` on (causal holds by construction);
// padding needs the mask.
at::Tensor attention(const Step& s, const at::Tensor& q, int64_t l, int64_t first) {
  KVCache& cache = s.cache;
  const int64_t B = q.size(0), H = q.size(1), S = cache.length + 1;
  const at::Tensor valid = cache.has_padding ? cache.key_valid : at::Tensor();
  if (s.attention_kernel && decode_attention_supported(q))
    return decode_attention(q, cache.keys[l], cache.values[l], first, S, valid);
  at::Tensor k = cache.keys[l].narrow(2, first, S - first);
  at::Tensor v = cache.values[l].narrow(2, first, S - first);
  std::optional<at::Tensor> mask;
  if (valid.defined()) mask = valid.narrow(1, first, S - first).view({B, 1, 1, S - first});
  return at::scaled_dot_product_attention(q.unsqueeze(2), k, v, mask, 0.0, false, std::nullopt, k.size(1) != H)
      .reshape({B, H * q.size(2)});
}

// Qwen3: each head's q and k through its RMSNorm, in the fused [B,(H+2Hkv)*D] row
// layout the rotary step reads (v passes unchanged).
at::Tensor norm_qk(const Step& s, AttentionImpl& attn, const at::Tensor& qkv, int64_t H, int64_t Hkv, int64_t D) {
  const int64_t B = qkv.size(0);
  at::Tensor q = norm(s, *attn.q_norm, qkv.narrow(1, 0, H * D).reshape({B * H, D}));
  at::Tensor k = norm(s, *attn.k_norm, qkv.narrow(1, H * D, Hkv * D).reshape({B * Hkv, D}));
  return at::cat({q.view({B, H * D}), k.view({B, Hkv * D}), qkv.narrow(1, (H + Hkv) * D, Hkv * D)}, 1);
}

at::Tensor layer(const Step& s, int64_t l, const at::Tensor& x) {
  const LlamaConfig& c = s.m.config();
  const int64_t B = x.size(0), H = c.num_attention_heads, Hkv = c.num_key_value_heads, D = c.head_dim;
  KVCache& cache = s.cache;
  const int64_t offset = cache.length, S = offset + 1;
  auto& layer = *s.m.layers[l]->as<DecoderLayer>();

  at::Tensor qkv = s.state.qkv[l].forward(norm(s, *layer.input_layernorm, x));
  if (c.qk_norm) qkv = norm_qk(s, *layer.self_attn, qkv, H, Hkv, D);
  at::Tensor q;  // [B,H,D]
  if (s.kernels) {
    q = rope_into_cache(qkv, s.cos, s.sin, H, Hkv, cache.keys[l], cache.values[l], offset);
  } else {
    at::Tensor qk = apply_rope_signed(qkv.narrow(1, 0, (H + Hkv) * D).view({B, H + Hkv, D}), s.cos.unsqueeze(1),
                                      s.sin.unsqueeze(1));
    cache.keys[l].select(2, offset).copy_(qk.narrow(1, H, Hkv));
    cache.values[l].select(2, offset).copy_(qkv.narrow(1, (H + Hkv) * D, Hkv * D).view({B, Hkv, D}));
    q = qk.narrow(1, 0, H);
  }
  const int64_t window = c.sliding_window;
  const bool windowed = window > 0 && S > window && c.uses_sliding_window(l);
  at::Tensor h = x + s.state.o[l].forward(attention(s, q, l, windowed ? S - window : 0));

  const int64_t I = c.intermediate_size;
  at::Tensor gu = s.state.gate_up[l].forward(norm(s, *layer.post_attention_layernorm, h));
  at::Tensor act = s.kernels ? silu_mul(gu) : at::silu(gu.narrow(1, 0, I)).mul_(gu.narrow(1, I, I));
  return h.add_(s.state.down[l].forward(act));
}

}  // namespace

int64_t decode_pack_rows(const LlamaConfig& c, int64_t batch, at::ScalarType dtype, int64_t steps) {
  if (steps < kMinPackedSteps || at::autocast::is_autocast_enabled(at::kCPU)) return 0;
  // The copies (every layer's products and the LM head) are at most the model's size.
  return c.num_parameters() * static_cast<int64_t>(c10::elementSize(dtype)) <= kMaxPackedBytes ? batch : 0;
}

at::Tensor decode_step(LlamaModelImpl& m, const at::Tensor& input_ids, const at::Tensor& position_ids,
                       KVCache& cache) {
  const int64_t B = input_ids.size(0), offset = cache.length;
  DecodeState& state = state_for(m, cache);
  cache.key_valid.select(1, offset).fill_(true);  // the new tokens are real
  at::Tensor positions = position_ids.defined() ? position_ids.reshape({B}).to(at::kLong)
                                                : at::full({B}, offset, input_ids.options().dtype(at::kLong));
  at::Tensor h = m.embed_tokens(input_ids).view({B, -1});  // [B,C]
  const auto [lowest, highest] = position_range(positions);
  auto [cos, sin] = lowest >= 0 ? state.rope.rows(m.inv_freq(), positions, highest + 1, h.scalar_type())
                                : rope_rows_direct(m.inv_freq(), positions, h.scalar_type());
  // Under CPU autocast the products return autocast's dtype, so the ATen path (which casts
  // as autocast says) runs instead of the kernels, which take one dtype throughout.
  bool attention_kernel = !(h.is_cpu() && at::autocast::is_autocast_enabled(at::kCPU));
  for (size_t l = 0; l < cache.keys.size() && attention_kernel; ++l)
    attention_kernel = cache.keys[l].is_contiguous() && cache.values[l].is_contiguous();
  const bool kernels =
      attention_kernel && decode_kernels_supported(h) && m.norm->weight.scalar_type() == at::kFloat;
  const Step s{m, cache, state, kernels, attention_kernel, cos, sin};
  for (int64_t l = 0; l < m.config().num_hidden_layers; ++l) h = layer(s, l, h);
  cache.length = offset + 1;
  return norm(s, *m.norm, h).unsqueeze(1);
}

}  // namespace fw::model
