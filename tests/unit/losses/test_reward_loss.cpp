#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cmath>

#include "core/error.h"
#include "losses/reward.h"

namespace {
using fw::losses::reward_loss;

at::Tensor t(std::initializer_list<double> v) { return at::tensor(std::vector<double>(v), at::kDouble); }

// r_c = (ln 3 + 0.5, 1), r_r = (0, 1), margin = (0.5, 0):
//   row 0: r_c - r_r - m = ln 3 -> -log σ(ln 3) = ln(4/3)
//   row 1: 0 -> ln 2
//   mean = (ln(4/3) + ln 2) / 2 = ln(8/3) / 2.
// Centering with c = 0.1: mean((r_c + r_r)^2) = ((ln 3 + 0.5)^2 + 4) / 2.
TEST(RewardLoss, MarginHandDerived) {
  const double l3 = std::log(3.0);
  at::Tensor rc = t({l3 + 0.5, 1.0}).requires_grad_(true), rr = t({0.0, 1.0}).requires_grad_(true);
  auto out = reward_loss(rc, rr, t({0.5, 0.0}), 0.0);
  EXPECT_NEAR(out.loss.item<double>(), std::log(8.0 / 3.0) / 2, 1e-12);
  EXPECT_DOUBLE_EQ(out.accuracy, 0.5);  // row 1 is a tie: not counted as correct
  EXPECT_TRUE(at::allclose(out.margins, t({l3 + 0.5, 0.0})));
  EXPECT_FALSE(out.margins.requires_grad());
  // d/d r_c = -σ(-(d - m)) / B: row 0 σ(-ln 3) = 1/4, row 1 σ(0) = 1/2.
  out.loss.backward();
  EXPECT_NEAR(rc.grad()[0].item<double>(), -0.25 / 2, 1e-12);
  EXPECT_NEAR(rc.grad()[1].item<double>(), -0.5 / 2, 1e-12);
  EXPECT_NEAR(rr.grad()[0].item<double>(), 0.25 / 2, 1e-12);
}

TEST(RewardLoss, NoMarginAndCentering) {
  const double l3 = std::log(3.0);
  at::Tensor rc = t({l3 + 0.5, 1.0}), rr = t({0.0, 1.0});
  // Without a margin row 0 has d = ln 3 + 0.5.
  auto plain = reward_loss(rc, rr, {}, 0.0);
  EXPECT_NEAR(plain.loss.item<double>(), (std::log1p(std::exp(-(l3 + 0.5))) + std::log(2.0)) / 2, 1e-12);
  auto centered = reward_loss(rc, rr, t({0.5, 0.0}), 0.1);
  const double center = ((l3 + 0.5) * (l3 + 0.5) + 4.0) / 2;
  EXPECT_NEAR(centered.loss.item<double>(), std::log(8.0 / 3.0) / 2 + 0.1 * center, 1e-12);
}

TEST(RewardLoss, ShapesAreChecked) {
  EXPECT_THROW(reward_loss(t({0.0, 1.0}), t({0.0}), {}, 0.0), fw::Error);
  EXPECT_THROW(reward_loss(t({0.0, 1.0}), t({0.0, 1.0}), t({1.0}), 0.0), fw::Error);
}

}  // namespace
