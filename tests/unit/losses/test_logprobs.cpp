#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cmath>

#include "losses/logprobs.h"
#include "losses/sft.h"

namespace {
using fw::losses::kIgnoreIndex;

// Row 0: position 0 has logits (0, ln 2, ln 5) -> p = (1/8, 2/8, 5/8), label 2 -> ln(5/8);
//        position 1 is uniform -> label 0 has ln(1/3); position 2 is ignored -> 0.
// Row 1: every position ignored -> all 0, sequence sum 0.
at::Tensor constructed_logits() {
  at::Tensor logits = at::zeros({2, 3, 3});
  logits[0][0][1] = std::log(2.0);
  logits[0][0][2] = std::log(5.0);
  logits[0][2][0] = 7.0;  // ignored position: must not matter
  logits[1] = at::randn({3, 3});
  return logits;
}
at::Tensor constructed_labels() {
  return at::tensor({2L, 0L, kIgnoreIndex, kIgnoreIndex, kIgnoreIndex, kIgnoreIndex}).view({2, 3});
}

TEST(Logprobs, GatherOnAConstructedDistribution) {
  at::Tensor lp = fw::losses::gather_logprobs(constructed_logits(), constructed_labels());
  ASSERT_EQ(lp.sizes(), at::IntArrayRef({2, 3}));
  EXPECT_EQ(lp.scalar_type(), at::kFloat);
  EXPECT_NEAR(lp[0][0].item<double>(), std::log(5.0 / 8.0), 1e-6);
  EXPECT_NEAR(lp[0][1].item<double>(), std::log(1.0 / 3.0), 1e-6);
  EXPECT_EQ(lp[0][2].item<double>(), 0.0);
  EXPECT_TRUE(at::equal(lp[1], at::zeros({3})));
}

TEST(Logprobs, SequenceLogpsSumTheScoredPositions) {
  at::Tensor s = fw::losses::sequence_logps(constructed_logits(), constructed_labels());
  ASSERT_EQ(s.sizes(), at::IntArrayRef({2}));
  EXPECT_NEAR(s[0].item<double>(), std::log(5.0 / 24.0), 1e-6);  // ln(5/8) + ln(1/3)
  EXPECT_EQ(s[1].item<double>(), 0.0);
  at::Tensor n = fw::losses::scored_lengths(constructed_labels());
  EXPECT_EQ(n[0].item<int64_t>(), 2);
  EXPECT_EQ(n[1].item<int64_t>(), 0);
}

TEST(Logprobs, LowPrecisionLogitsAreScoredInFloat32) {
  at::Tensor logits = constructed_logits().to(at::kBFloat16);
  at::Tensor s = fw::losses::sequence_logps(logits, constructed_labels());
  EXPECT_EQ(s.scalar_type(), at::kFloat);
  // bf16 rounds ln 2 and ln 5 (8 bits of mantissa), so only a loose match.
  EXPECT_NEAR(s[0].item<double>(), std::log(5.0 / 24.0), 2e-2);
}

TEST(Logprobs, GradientIsOneHotMinusSoftmaxOnScoredPositionsOnly) {
  at::Tensor logits = constructed_logits().requires_grad_(true);
  fw::losses::sequence_logps(logits, constructed_labels()).sum().backward();
  at::Tensor g = logits.grad();
  // d log p_y / d logits = onehot(y) - softmax.
  at::Tensor want0 = at::tensor({-1.0 / 8, -2.0 / 8, 1.0 - 5.0 / 8});
  at::Tensor want1 = at::tensor({1.0 - 1.0 / 3, -1.0 / 3, -1.0 / 3});
  EXPECT_TRUE(at::allclose(g[0][0].to(at::kDouble), want0, 1e-6, 1e-6)) << g[0][0];
  EXPECT_TRUE(at::allclose(g[0][1].to(at::kDouble), want1, 1e-6, 1e-6)) << g[0][1];
  EXPECT_TRUE(at::equal(g[0][2], at::zeros({3})));
  EXPECT_TRUE(at::equal(g[1], at::zeros({3, 3})));
}

TEST(Logprobs, MatchesCrossEntropy) {
  at::manual_seed(3);
  at::Tensor logits = at::randn({4, 6, 17});
  at::Tensor labels = at::randint(0, 17, {4, 6}, at::kLong);
  labels.masked_fill_(at::rand({4, 6}) < 0.3, kIgnoreIndex);
  auto sft = fw::losses::sft_loss_sum(logits, labels);
  EXPECT_NEAR(-fw::losses::sequence_logps(logits, labels).sum().item<double>(), sft.loss_sum.item<double>(), 1e-4);
}

}  // namespace
