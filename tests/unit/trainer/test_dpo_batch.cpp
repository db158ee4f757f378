// The two DPO layouts: one row per pair with the prompt shared (data::collate_preference_
// pairs) gives the same summed log-probs, completion lengths and gradients as two padded
// rows per pair (data::collate_preference), including a one-token prompt and an empty one.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include "tests/unit/model/tiny_models.h"
#include "trainer/dpo_batch.h"

namespace {
using namespace fw;

std::vector<data::PreferenceExample> examples() {
  std::vector<data::PreferenceExample> ex(4);
  ex[0] = {{1, 5, 9, 12, 3}, {20, 21, 2}, {22, 2}, 0.0};
  ex[1] = {{1, 7}, {30, 31, 32, 33, 2}, {34, 2}, 0.5};
  ex[2] = {{8}, {40, 2}, {41, 42, 43, 2}, 0.0};  // one-token prompt
  ex[3] = {{}, {50, 51, 2}, {52, 2}, 0.0};        // no prompt: the first token is not scored
  return ex;
}

data::MicroBatch all_rows() { return {{0}, {1}, {2}, {3}}; }

TEST(DpoBatch, SharedPromptRowsLayOutThePairAsDocumented) {
  const auto ex = examples();
  const data::PreferencePairRows p = data::collate_preference_pairs(ex, {{0}}, 0);
  // p0..p3 | p4 c0 c1 c2 | p4 r0 r1
  EXPECT_TRUE(at::equal(p.input_ids[0], at::tensor({1, 5, 9, 12, 3, 20, 21, 2, 3, 22, 2}, at::kLong)));
  EXPECT_TRUE(at::equal(p.position_ids[0], at::tensor({0, 1, 2, 3, 4, 5, 6, 7, 4, 5, 6}, at::kLong)));
  EXPECT_TRUE(at::equal(p.segment_ids[0], at::tensor({0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2}, at::kLong)));
  EXPECT_TRUE(at::equal(p.labels[0], at::tensor({-100, -100, -100, -100, 20, 21, 2, -100, 22, 2, -100}, at::kLong)));
  EXPECT_TRUE(at::equal(p.sequence_index[0], at::tensor({-1, -1, -1, -1, 0, 0, 0, -1, 1, 1, -1}, at::kLong)));
  EXPECT_EQ(p.num_positions, 11);
  EXPECT_EQ(p.num_tokens, 2 * 5 + 3 + 2);  // as the two-row layout counts them
  EXPECT_EQ(p.num_completion, 5);
}

TEST(DpoBatch, BothLayoutsGiveTheSameLogprobsAndGradients) {
  const auto ex = examples();
  auto lm = fw::testing::tiny_lm(fw::testing::tiny_config(), 3);
  auto run = [&](bool shared) {
    lm->zero_grad();
    const trainer::DpoBatch b = trainer::collate_dpo(ex, all_rows(), 0, shared);
    trainer::PairLogps lp = trainer::pair_logps(lm, b, at::kCPU, trainer::ComputeDtype::Float32);
    (lp.logps * at::arange(1, 9, at::kFloat)).sum().backward();  // a different weight per sequence
    std::vector<at::Tensor> grads;
    for (auto& p : lm->parameters()) grads.push_back(p.grad().clone());
    return std::make_tuple(lp.logps.detach(), lp.lengths, grads, b.num_tokens);
  };
  const auto [lp_two, len_two, g_two, tok_two] = run(false);
  const auto [lp_one, len_one, g_one, tok_one] = run(true);
  EXPECT_LT((lp_one - lp_two).abs().max().item<double>(), 1e-5) << lp_one << lp_two;
  EXPECT_TRUE(at::equal(len_one, len_two)) << len_one << len_two;
  EXPECT_TRUE(at::equal(len_two, at::tensor({3, 5, 2, 2, 2, 2, 4, 1}, at::kLong)));
  EXPECT_EQ(tok_one, tok_two);
  // Relative: the gradients are sums over up to 8 weighted sequences, so float32 rounding
  // differs with the summation order of the two layouts.
  for (size_t i = 0; i < g_two.size(); ++i) {
    const double scale = 1.0 + g_two[i].abs().max().item<double>();
    EXPECT_LT((g_one[i] - g_two[i]).abs().max().item<double>(), 1e-5 * scale) << "parameter " << i;
  }
}

}  // namespace
