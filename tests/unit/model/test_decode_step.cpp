// The one-token decode step under no grad (DecodeStep: fused projections, RoPE table,
// CPU kernels) against the general forward (the same call with grad enabled), and its
// kernels against the ATen operations they replace. Fused weights are built per cache.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <limits>

#include "model/decode_attention.h"
#include "model/decode_kernels.h"
#include "model/kv_cache.h"
#include "model/rope.h"
#include "tiny_models.h"

namespace {
using namespace fw::model;

double max_diff(const at::Tensor& a, const at::Tensor& b) { return (a - b).abs().max().item<double>(); }

// Prefills B left-padded prompts, then decodes `steps` tokens twice from copies of the same
// cache: under no grad (the decode step) and with grad on (the general forward).
void check_decode_step(const LlamaConfig& c, int64_t B, int64_t steps, at::ScalarType dtype = at::kFloat,
                       double tol = 1e-5) {
  auto lm = fw::testing::tiny_lm(c, 7);
  lm->to(dtype);
  {
    at::NoGradGuard g;
    for (auto& p : lm->named_parameters())
      if (p.key().find("bias") != std::string::npos) p.value().normal_(0.0, 0.5);
  }
  const int64_t L = 9;
  at::Tensor tokens = at::randint(0, c.vocab_size, {B, L + steps}, at::kLong);
  at::Tensor mask = at::ones({B, L + steps}, at::kLong);
  for (int64_t b = 0; b < B; ++b) mask[b].narrow(0, 0, b % 5).fill_(0);  // 0..4 padding slots
  at::Tensor pos = (mask.cumsum(1) - 1).clamp_min(0);
  KVCache fast(c, B, L + steps, dtype, at::kCPU);
  {
    at::NoGradGuard g;
    lm->model->forward(tokens.narrow(1, 0, L),
                       {.position_ids = pos.narrow(1, 0, L), .attention_mask = mask.narrow(1, 0, L), .cache = &fast});
  }
  KVCache general = fast;  // a deep copy of the prefilled state
  for (size_t l = 0; l < fast.keys.size(); ++l) {
    general.keys[l] = fast.keys[l].clone();
    general.values[l] = fast.values[l].clone();
  }
  general.key_valid = fast.key_valid.clone();
  for (int64_t s = 0; s < steps; ++s) {
    const ForwardOptions step_fast{.position_ids = pos.narrow(1, L + s, 1), .cache = &fast};
    const ForwardOptions step_general{.position_ids = pos.narrow(1, L + s, 1), .cache = &general};
    at::Tensor a, b;
    {
      at::NoGradGuard g;
      a = lm->forward(tokens.narrow(1, L + s, 1), step_fast);
    }
    b = lm->forward(tokens.narrow(1, L + s, 1), step_general).detach();
    ASSERT_EQ(a.sizes(), b.sizes());
    EXPECT_LT(max_diff(a.to(at::kFloat), b.to(at::kFloat)), tol) << "step " << s;
  }
  EXPECT_EQ(fast.length, general.length);
  EXPECT_LT(max_diff(fast.keys[0].to(at::kFloat), general.keys[0].to(at::kFloat)), tol);
}

TEST(DecodeStep, EqualsTheGeneralForwardWithPaddingAndGqa) {
  check_decode_step(fw::testing::tiny_config(), 20, 6);
}

TEST(DecodeStep, EqualsTheGeneralForwardWithASlidingWindow) {
  auto c = fw::testing::tiny_config();
  c.sliding_window = 4;
  c.sliding_window_layers = {1};
  check_decode_step(c, 6, 8);
}

TEST(DecodeStep, EqualsTheGeneralForwardWithHeadDim16AndBiases) {
  auto c = fw::testing::tiny_config();  // head_dim 16: the vectorised RoPE path
  c.head_dim = 16;
  c.qkv_bias = true;
  c.num_key_value_heads = 1;  // MQA
  check_decode_step(c, 9, 4);
}

// Positions as the general forward takes them: int32, and negative (no table row).
TEST(DecodeStep, Int32AndNegativePositionsEqualTheGeneralForward) {
  auto c = fw::testing::tiny_config();
  auto lm = fw::testing::tiny_lm(c, 9);
  at::Tensor tokens = at::randint(0, c.vocab_size, {2, 4}, at::kLong);
  for (const at::Tensor& pos : {at::tensor({3, 70}, at::kInt).view({2, 1}), at::tensor({-2, 5}, at::kLong).view({2, 1})}) {
    KVCache fast(c, 2, 4, at::kFloat, at::kCPU), general(c, 2, 4, at::kFloat, at::kCPU);
    at::Tensor a, b;
    {
      at::NoGradGuard g;
      lm->forward(tokens.narrow(1, 0, 3), {.cache = &fast});
      a = lm->forward(tokens.narrow(1, 3, 1), {.position_ids = pos, .cache = &fast});
    }
    lm->forward(tokens.narrow(1, 0, 3), {.cache = &general});
    b = lm->forward(tokens.narrow(1, 3, 1), {.position_ids = pos, .cache = &general}).detach();
    EXPECT_LT(max_diff(a, b), 1e-5) << pos;
  }
}

// float64 takes the ATen path (the one CUDA and bfloat16 take): no CPU kernel runs.
TEST(DecodeStep, AtenPathEqualsTheGeneralForward) {
  check_decode_step(fw::testing::tiny_config(), 7, 5, at::kDouble);
  auto c = fw::testing::tiny_config();
  c.sliding_window = 4;
  c.sliding_window_layers = {1};
  check_decode_step(c, 6, 8, at::kDouble);
}

// bfloat16: the attention kernel (float32 sums over the bfloat16 cache), ATen for the rest;
// the general path's bfloat16 SDPA rounds differently, so agreement is to bfloat16's
// precision (logits of a few units: a bfloat16 step there is 0.03).
TEST(DecodeStep, Bfloat16EqualsTheGeneralForwardToItsPrecision) {
  check_decode_step(fw::testing::tiny_config(), 7, 5, at::kBFloat16, 0.1);
}

TEST(DecodeStep, EqualsTheGeneralForwardOnOneThread) {
  const int threads = at::get_num_threads();
  at::set_num_threads(1);
  check_decode_step(fw::testing::tiny_config(), 12, 3);
  at::set_num_threads(threads);
}

// The fused q/k/v and gate/up copies belong to one cache, so a new generation after a
// weight update (in place, as an optimizer step; or replaced, as a load) uses the new
// weights. (at::_fused_adamw_ does not bump version counters, so those could not tell.)
TEST(DecodeStep, FusedWeightsAreBuiltPerCache) {
  auto c = fw::testing::tiny_config();
  auto lm = fw::testing::tiny_lm(c, 8);
  at::Tensor tokens = at::randint(0, c.vocab_size, {4, 6}, at::kLong);
  auto decode_last = [&] {
    at::NoGradGuard g;
    KVCache cache(c, 4, 6, at::kFloat, at::kCPU);
    lm->forward(tokens.narrow(1, 0, 5), {.cache = &cache});
    return lm->forward(tokens.narrow(1, 5, 1), {.cache = &cache});
  };
  auto full_last = [&] {
    at::NoGradGuard g;
    return lm->forward(tokens).narrow(1, 5, 1);
  };
  EXPECT_LT(max_diff(decode_last(), full_last()), 1e-5);
  auto& layer = *lm->model->layers[1]->as<DecoderLayer>();
  {
    at::NoGradGuard g;
    layer.self_attn->k_proj->weight.add_(0.3);  // in place: the version counter moves
    layer.mlp->up_proj->weight.mul_(-1.5);
  }
  EXPECT_LT(max_diff(decode_last(), full_last()), 1e-5);
  layer.self_attn->v_proj->weight.set_data(at::randn_like(layer.self_attn->v_proj->weight));  // new storage
  EXPECT_LT(max_diff(decode_last(), full_last()), 1e-5);
}

TEST(DecodeKernels, MatchTheAtenOperations) {
  if (!decode_kernels_supported(at::ones({1}))) GTEST_SKIP() << "no AVX2 here";
  at::NoGradGuard g;
  // RMSNorm (odd width: the scalar tail too).
  at::Tensor x = at::randn({5, 37}), w = at::randn({37});
  at::Tensor want = w * (x * at::rsqrt(x.pow(2).mean(-1, true) + 1e-5));
  EXPECT_LT(max_diff(rms_norm_rows(x, w, 1e-5), want), 1e-6);
  // RoPE and the cache write: bitwise what apply_rope gives, for D = 8 (scalar) and 16.
  for (int64_t D : {8, 16}) {
    const int64_t B = 3, H = 4, Hkv = 2, slot = 2;
    RopeConfig rc;
    at::Tensor inv = rope_inv_freq(rc, D), positions = at::tensor({0L, 5L, 9L});
    RopeTable table;
    auto [cos, ssin] = table.rows(inv, positions, 10, at::kFloat);
    at::Tensor qkv = at::randn({B, (H + 2 * Hkv) * D});
    at::Tensor keys = at::zeros({B, Hkv, 4, D}), values = at::zeros({B, Hkv, 4, D});
    at::Tensor q = rope_into_cache(qkv, cos, ssin, H, Hkv, keys, values, slot);
    at::Tensor heads = qkv.view({B, H + 2 * Hkv, D});
    auto rotate = [&](const at::Tensor& t) { return apply_rope_signed(t, cos.unsqueeze(1), ssin.unsqueeze(1)); };
    EXPECT_TRUE(q.equal(rotate(heads.narrow(1, 0, H)))) << "D " << D;
    EXPECT_TRUE(keys.select(2, slot).equal(rotate(heads.narrow(1, H, Hkv)))) << "D " << D;
    // The table and the signed sin give apply_rope's values (the same float ops; the
    // tables' sin/cos may round a last bit differently from a differently shaped call).
    auto [cos_ref, sin_ref] = rope_cos_sin(inv, positions.unsqueeze(1), at::kFloat);  // [B,1,D]
    EXPECT_LT(max_diff(q, apply_rope(heads.narrow(1, 0, H).unsqueeze(2), cos_ref, sin_ref).squeeze(2)), 1e-6);
    EXPECT_TRUE(values.select(2, slot).equal(heads.narrow(1, H + Hkv, Hkv)));
    EXPECT_EQ(keys.select(2, 1).abs().sum().item<double>(), 0.0);  // other slots untouched
  }
  // SwiGLU's activation.
  at::Tensor gu = at::randn({4, 2 * 21}) * 4;
  EXPECT_LT(max_diff(silu_mul(gu), at::silu(gu.narrow(1, 0, 21)) * gu.narrow(1, 21, 21)), 1e-5);
}

TEST(DecodeAttention, MatchesSdpaWithPaddingAWindowAndGqa) {
  if (!decode_attention_supported(at::ones({1, 1, 8}))) GTEST_SKIP() << "no AVX2 here";
  at::NoGradGuard g;
  const int64_t B = 5, H = 6, Hkv = 2, D = 16, s_max = 30;
  for (int64_t S : {1, 7, 19, 30}) {
    at::Tensor keys = at::randn({B, Hkv, s_max, D}), values = at::randn({B, Hkv, s_max, D});
    at::Tensor valid = at::rand({B, s_max}) > 0.3;
    valid.select(1, S - 1).fill_(true);  // the query's own slot
    at::Tensor q = at::randn({B, H + Hkv, D}).narrow(1, 0, H);  // strided, as the decode step gives it
    for (int64_t first : {int64_t{0}, S / 2}) {
      at::Tensor k = keys.narrow(2, first, S - first), v = values.narrow(2, first, S - first);
      at::Tensor mask = valid.narrow(1, first, S - first).view({B, 1, 1, S - first});
      at::Tensor want = at::scaled_dot_product_attention(q.unsqueeze(2), k, v, mask, 0.0, false, std::nullopt, true)
                            .reshape({B, H * D});
      EXPECT_LT(max_diff(decode_attention(q, keys, values, first, S, valid), want), 1e-5) << S << " " << first;
      at::Tensor unmasked = at::scaled_dot_product_attention(q.unsqueeze(2), k, v, std::nullopt, 0.0, false,
                                                             std::nullopt, true).reshape({B, H * D});
      EXPECT_LT(max_diff(decode_attention(q, keys, values, first, S, at::Tensor()), unmasked), 1e-5);
      // bfloat16: against float32 SDPA on the same (rounded) values; the output is rounded.
      const auto bf = at::kBFloat16;
      at::Tensor qb = q.to(bf), kb = keys.to(bf), vb = values.to(bf);
      at::Tensor want_b = at::scaled_dot_product_attention(
                              qb.to(at::kFloat).unsqueeze(2), kb.to(at::kFloat).narrow(2, first, S - first),
                              vb.to(at::kFloat).narrow(2, first, S - first), mask, 0.0, false, std::nullopt, true)
                              .reshape({B, H * D});
      at::Tensor got_b = decode_attention(qb, kb, vb, first, S, valid);
      EXPECT_EQ(got_b.scalar_type(), bf);
      EXPECT_LT(max_diff(got_b.to(at::kFloat), want_b), 2e-2) << S << " " << first;
    }
  }
  // A NaN in the cache (a diverged model) comes out as NaN, as from SDPA, not as a weight.
  at::Tensor keys = at::randn({B, Hkv, s_max, D}), values = at::randn({B, Hkv, s_max, D});
  keys[1][0][2][5] = std::numeric_limits<float>::quiet_NaN();
  at::Tensor q = at::randn({B, H, D});
  at::Tensor got = decode_attention(q, keys, values, 0, 9, at::Tensor());
  at::Tensor want = at::scaled_dot_product_attention(q.unsqueeze(2), keys.narrow(2, 0, 9), values.narrow(2, 0, 9),
                                                     std::nullopt, 0.0, false, std::nullopt, true)
                        .reshape({B, H * D});
  EXPECT_TRUE(got.isnan().equal(want.isnan()));
  EXPECT_TRUE(got[1].isnan().any().item<bool>());
}

}  // namespace
