#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cmath>

#include "losses/sft.h"

namespace {
using fw::losses::kIgnoreIndex;

TEST(SftLoss, HandDerivedValue) {
  // Two positions, vocabulary 2. Position 0: logits (0, ln 3) -> p(1) = 3/4, label 1.
  // Position 1: label ignored. Sum = -ln(3/4).
  at::Tensor logits = at::tensor({0.0f, std::log(3.0f), 5.0f, -5.0f}).view({1, 2, 2});
  at::Tensor labels = at::tensor({1L, kIgnoreIndex}).view({1, 2});
  auto out = fw::losses::sft_loss_sum(logits, labels);
  EXPECT_NEAR(out.loss_sum.item<double>(), -std::log(0.75), 1e-6);
  EXPECT_EQ(out.num_tokens, 1);
}

TEST(SftLoss, ShiftLabelsFollowTheMask) {
  at::Tensor ids = at::tensor({5L, 6L, 7L, 8L}).view({1, 4});
  at::Tensor mask = at::tensor({0L, 0L, 1L, 1L}).view({1, 4});
  at::Tensor labels = fw::losses::shift_labels(ids, mask);
  at::Tensor want = at::tensor({kIgnoreIndex, 7L, 8L, kIgnoreIndex}).view({1, 4});
  EXPECT_TRUE(at::equal(labels, want)) << labels;
}

TEST(SftLoss, SplittingABatchAndDividingByTheTotalIsExact) {
  at::manual_seed(0);
  at::Tensor logits = at::randn({8, 5, 11});
  at::Tensor labels = at::randint(0, 11, {8, 5}, at::kLong);
  labels.masked_fill_(at::rand({8, 5}) < 0.4, kIgnoreIndex);
  auto whole = fw::losses::sft_loss_sum(logits, labels);
  double parts = 0;
  int64_t tokens = 0;
  for (int i = 0; i < 4; ++i) {
    auto p = fw::losses::sft_loss_sum(logits.narrow(0, 2 * i, 2), labels.narrow(0, 2 * i, 2));
    parts += p.loss_sum.item<double>();
    tokens += p.num_tokens;
  }
  EXPECT_EQ(tokens, whole.num_tokens);
  EXPECT_NEAR(parts / tokens, whole.loss_sum.item<double>() / whole.num_tokens, 1e-6);
}

}  // namespace
