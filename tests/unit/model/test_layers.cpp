#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cmath>

#include "model/attention_mask.h"
#include "model/rmsnorm.h"
#include "model/rope.h"
#include "tiny_models.h"

namespace {
using namespace fw::model;

at::Tensor bools(std::vector<int64_t> v, std::vector<int64_t> shape) {
  return at::tensor(v, at::kLong).to(at::kBool).view(shape);
}

TEST(RMSNorm, MatchesHandDerivedValues) {
  RMSNorm norm(4, 1e-6);
  {
    at::NoGradGuard g;
    norm->weight.copy_(at::tensor({1.0f, 2.0f, 0.5f, 1.0f}));
  }
  // x = [1, 2, 3, 4]: mean square 7.5, so each x / sqrt(7.5) times the weight.
  at::Tensor y = norm(at::tensor({1.0f, 2.0f, 3.0f, 4.0f}));
  const double r = 1.0 / std::sqrt(7.5 + 1e-6);
  std::vector<double> want = {1 * r, 2 * 2 * r, 0.5 * 3 * r, 4 * r};
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(y[i].item<double>(), want[i], 1e-6);
}

TEST(Rope, DefaultFrequenciesAndRotation) {
  RopeConfig rope;
  rope.theta = 100.0;
  at::Tensor inv = rope_inv_freq(rope, 4);  // [1, 100^-0.5]
  EXPECT_NEAR(inv[0].item<double>(), 1.0, 1e-7);
  EXPECT_NEAR(inv[1].item<double>(), 0.1, 1e-7);
  at::Tensor pos = at::tensor({0L, 3L}).view({1, 2});
  auto [cos, sin] = rope_cos_sin(inv, pos, at::kFloat);
  at::Tensor x = at::randn({1, 1, 2, 4});
  at::Tensor y = apply_rope(x, cos, sin);
  // Position 0 is the identity; rotation keeps each pair's norm.
  EXPECT_TRUE(at::allclose(y.select(2, 0), x.select(2, 0)));
  EXPECT_TRUE(at::allclose(y.norm(2, -1), x.norm(2, -1), 1e-5, 1e-6));
  // Pair (x0, x2) at position 3 rotates by angle 3 * 1.
  const double a = 3.0, x0 = x[0][0][1][0].item<double>(), x2 = x[0][0][1][2].item<double>();
  EXPECT_NEAR(y[0][0][1][0].item<double>(), x0 * std::cos(a) - x2 * std::sin(a), 1e-5);
  EXPECT_NEAR(y[0][0][1][2].item<double>(), x2 * std::cos(a) + x0 * std::sin(a), 1e-5);
}

TEST(Rope, Llama3ScalingKeepsHighAndDividesLowFrequencies) {
  RopeConfig rope;
  rope.theta = 500000;
  rope.type = "llama3";
  rope.factor = 8;
  rope.original_max_position_embeddings = 8192;
  at::Tensor base = rope_inv_freq(RopeConfig{.theta = 500000}, 128);
  at::Tensor scaled = rope_inv_freq(rope, 128);
  EXPECT_NEAR(scaled[0].item<double>(), base[0].item<double>(), 1e-9);          // short wavelength kept
  EXPECT_NEAR(scaled[63].item<double>(), base[63].item<double>() / 8, 1e-12);  // long wavelength / factor
}

TEST(AttentionMask, CausalPaddingAndWindow) {
  // One sequence of 4 slots, slot 0 is padding; queries are slots 2 and 3.
  at::Tensor valid = bools({0, 1, 1, 1}, {1, 4});
  at::Tensor m = causal_padding_mask(valid, 2, 2, 0).squeeze();
  at::Tensor want = bools({0, 1, 1, 0, 0, 1, 1, 1}, {2, 4});
  EXPECT_TRUE(at::equal(m, want)) << m;
  at::Tensor w = causal_padding_mask(valid, 2, 2, 2).squeeze();  // q - k < 2
  at::Tensor want_w = bools({0, 1, 1, 0, 0, 0, 1, 1}, {2, 4});
  EXPECT_TRUE(at::equal(w, want_w)) << w;
  // A padding query keeps itself, so its row is never empty.
  at::Tensor p = causal_padding_mask(valid, 0, 1, 0).squeeze();
  EXPECT_TRUE(p[0].item<bool>());
}

TEST(AttentionMask, DocumentsDoNotSeeEachOther) {
  at::Tensor seg = at::tensor({0L, 0L, 1L, 1L, 1L}).view({1, 5});
  at::Tensor m = document_causal_mask(seg, 0).squeeze();
  EXPECT_TRUE(m[1][0].item<bool>());
  EXPECT_FALSE(m[2][1].item<bool>());
  EXPECT_TRUE(m[4][2].item<bool>());
  EXPECT_FALSE(m[2][3].item<bool>());
}

TEST(Llama, PackedDocumentsEqualSeparateForwards) {
  auto c = fw::testing::tiny_config();
  auto lm = fw::testing::tiny_lm(c, 1);
  at::NoGradGuard g;
  at::Tensor a = at::randint(0, c.vocab_size, {1, 5}, at::kLong);
  at::Tensor b = at::randint(0, c.vocab_size, {1, 7}, at::kLong);
  at::Tensor packed = at::cat({a, b}, 1);
  at::Tensor seg = at::cat({at::zeros({1, 5}, at::kLong), at::ones({1, 7}, at::kLong)}, 1);
  at::Tensor pos = at::cat({at::arange(5, at::kLong), at::arange(7, at::kLong)}).view({1, 12});
  at::Tensor out = lm->forward(packed, {.position_ids = pos, .segment_ids = seg});
  EXPECT_TRUE(at::allclose(out.narrow(1, 0, 5), lm->forward(a), 1e-5, 1e-5));
  EXPECT_TRUE(at::allclose(out.narrow(1, 5, 7), lm->forward(b), 1e-5, 1e-5));
}

TEST(Llama, ParameterCountMatchesConfig) {
  for (bool tied : {false, true}) {
    auto c = fw::testing::tiny_config();
    c.tie_word_embeddings = tied;
    c.attention_bias = true;
    fw::model::LlamaForCausalLM lm(c);
    int64_t n = 0;
    for (const auto& p : lm->parameters()) n += p.numel();
    EXPECT_EQ(n, c.num_parameters()) << "tied=" << tied;
  }
}

TEST(Llama, HfParameterNames) {
  auto c = fw::testing::tiny_config();
  c.qkv_bias = true;
  fw::model::LlamaForCausalLM lm(c);
  auto named = lm->named_parameters();
  for (const char* name : {"model.embed_tokens.weight", "model.layers.1.self_attn.q_proj.weight",
                           "model.layers.1.self_attn.q_proj.bias", "model.layers.0.mlp.gate_proj.weight",
                           "model.layers.0.input_layernorm.weight", "model.layers.0.post_attention_layernorm.weight",
                           "model.norm.weight", "lm_head.weight"})
    EXPECT_NE(named.find(name), nullptr) << name;
  EXPECT_EQ(named.find("model.layers.0.self_attn.o_proj.bias"), nullptr);
}

TEST(LlamaForScore, ScoreLastReadsEachRightPaddedRowAtItsLastRealToken) {
  // As the reward-model recipe calls it: chosen and rejected rows of different lengths,
  // right-padded into one [2B,T] batch. Each row's score must equal the score of that row
  // forwarded alone, read at its own last token (never a pad position).
  auto rm = fw::testing::tiny_score_model(3);
  const auto& c = rm->config();
  at::NoGradGuard g;
  const std::vector<int64_t> lengths = {7, 4, 9, 5};  // chosen 0, chosen 1, rejected 0, rejected 1
  const int64_t T = 9, pad = 0;
  at::Tensor ids = at::full({4, T}, pad, at::kLong);
  std::vector<at::Tensor> rows;
  for (int64_t r = 0; r < 4; ++r) {
    rows.push_back(at::randint(1, c.vocab_size, {1, lengths[static_cast<size_t>(r)]}, at::kLong));
    ids[r].narrow(0, 0, lengths[static_cast<size_t>(r)]).copy_(rows.back()[0]);
  }
  at::Tensor scores = rm->score_last(ids, at::tensor(lengths, at::kLong));
  ASSERT_EQ(scores.sizes(), (std::vector<int64_t>{4}));
  for (int64_t r = 0; r < 4; ++r) {
    const double alone = rm->forward(rows[static_cast<size_t>(r)]).select(-1, 0)[0][-1].item<double>();
    EXPECT_NEAR(scores[r].item<double>(), alone, 1e-5) << "row " << r;
    // The pad positions score differently, so reading one of them would be caught.
    if (lengths[static_cast<size_t>(r)] < T) {
      EXPECT_GT(std::abs(rm->forward(ids).select(-1, 0)[r][T - 1].item<double>() - alone), 1e-4) << "row " << r;
    }
  }
}

TEST(Llama, Bf16ForwardTracksFloat32) {
  auto c = fw::testing::tiny_config();
  auto lm = fw::testing::tiny_lm(c, 2);
  at::NoGradGuard g;
  at::Tensor ids = at::randint(0, c.vocab_size, {2, 10}, at::kLong);
  at::Tensor ref = lm->forward(ids);
  lm->to(at::kBFloat16);
  at::Tensor out = lm->forward(ids);
  EXPECT_EQ(out.scalar_type(), at::kBFloat16);
  EXPECT_LT((out.to(at::kFloat) - ref).abs().max().item<double>(), 0.1 * ref.abs().max().item<double>());
}

}  // namespace
