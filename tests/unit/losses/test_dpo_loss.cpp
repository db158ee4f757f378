// DPO losses on hand-derived values (losses/dpo.h has the formulas; tests/parity checks
// them against TRL itself).
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cmath>

#include "core/error.h"
#include "losses/dpo.h"
#include "losses/logprobs.h"
#include "losses/sft.h"

namespace {
using fw::losses::DpoLossOptions;
using fw::losses::DpoLossType;
using fw::losses::dpo_loss;

at::Tensor t(std::initializer_list<double> v) { return at::tensor(std::vector<double>(v), at::kDouble); }

TEST(DpoLoss, SigmoidHandDerived) {
  // beta = 1.
  // Row 0: chosen_logratio = -1 - (-1.5) = 0.5, rejected_logratio = -2 - (-1.5) = -0.5, z = 1:
  //        loss = -log σ(1) = ln(1 + e^-1).
  // Row 1: both log-ratios 0, z = 0 -> ln 2.
  at::Tensor pc = t({-1.0, -3.0}).requires_grad_(true), pr = t({-2.0, -4.0}).requires_grad_(true);
  at::Tensor rc = t({-1.5, -3.0}), rr = t({-1.5, -4.0});
  auto out = dpo_loss(pc, pr, rc, rr, {.type = DpoLossType::Sigmoid, .beta = 1.0});
  EXPECT_NEAR(out.losses[0].item<double>(), std::log1p(std::exp(-1.0)), 1e-12);
  EXPECT_NEAR(out.losses[1].item<double>(), std::log(2.0), 1e-12);
  EXPECT_NEAR(out.loss.item<double>(), (std::log1p(std::exp(-1.0)) + std::log(2.0)) / 2, 1e-12);
  // Rewards: beta * logratio, detached.
  EXPECT_TRUE(at::allclose(out.chosen_rewards, t({0.5, 0.0})));
  EXPECT_TRUE(at::allclose(out.rejected_rewards, t({-0.5, 0.0})));
  EXPECT_FALSE(out.chosen_rewards.requires_grad());
  // d loss / d pc_b = -beta σ(-beta z_b) / B: negative, so descent raises the chosen log-prob;
  // d loss / d pr_b = +beta σ(-beta z_b) / B: descent lowers the rejected one.
  out.loss.backward();
  const double s1 = 1.0 / (1.0 + std::exp(1.0));  // σ(-1)
  EXPECT_NEAR(pc.grad()[0].item<double>(), -s1 / 2, 1e-12);
  EXPECT_NEAR(pc.grad()[1].item<double>(), -0.5 / 2, 1e-12);
  EXPECT_NEAR(pr.grad()[0].item<double>(), s1 / 2, 1e-12);
  EXPECT_NEAR(pr.grad()[1].item<double>(), 0.5 / 2, 1e-12);
}

TEST(DpoLoss, RpoAddsTheChosenSidesMeanTokenNll) {
  // beta = 1, alpha = 0.5. Row 0 as above (sigmoid loss ln(1 + e^-1)), row 1 ln 2.
  // Chosen log-probs -1 over 2 tokens and -3 over 4 tokens: sft_nll = (1 + 3) / 6 = 2/3
  // (the batch's per-token mean, not the mean of per-row means, 0.625).
  at::Tensor pc = t({-1.0, -3.0}).requires_grad_(true), pr = t({-2.0, -4.0}).requires_grad_(true);
  at::Tensor rc = t({-1.5, -3.0}), rr = t({-1.5, -4.0});
  auto out = dpo_loss(pc, pr, rc, rr, {.type = DpoLossType::Sigmoid, .beta = 1.0, .rpo_alpha = 0.5}, t({2, 4}), t({3, 3}));
  const double dpo = (std::log1p(std::exp(-1.0)) + std::log(2.0)) / 2;
  ASSERT_TRUE(out.sft_nll.defined());
  EXPECT_NEAR(out.sft_nll.item<double>(), 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(out.loss.item<double>(), dpo + 0.5 * 2.0 / 3.0, 1e-12);
  // The per-pair losses are the DPO term alone.
  EXPECT_NEAR(out.losses[1].item<double>(), std::log(2.0), 1e-12);
  // d sft_nll / d pc_b = -1 / 6 for every row, on top of the sigmoid gradient; the rejected
  // side's gradient is the sigmoid's alone.
  out.loss.backward();
  const double s1 = 1.0 / (1.0 + std::exp(1.0));
  EXPECT_NEAR(pc.grad()[0].item<double>(), -s1 / 2 - 0.5 / 6, 1e-12);
  EXPECT_NEAR(pc.grad()[1].item<double>(), -0.5 / 2 - 0.5 / 6, 1e-12);
  EXPECT_NEAR(pr.grad()[0].item<double>(), s1 / 2, 1e-12);
  // Off by default; alpha needs the chosen lengths and must not be negative.
  EXPECT_FALSE(dpo_loss(pc, pr, rc, rr, {.beta = 1.0}).sft_nll.defined());
  EXPECT_THROW(dpo_loss(pc, pr, rc, rr, {.beta = 1.0, .rpo_alpha = 1.0}), fw::Error);
  EXPECT_THROW(dpo_loss(pc, pr, rc, rr, {.beta = 1.0, .rpo_alpha = -1.0}, t({2, 4}), t({3, 3})), fw::Error);
}

TEST(DpoLoss, SigmoidWithSmallBeta) {
  // z = 10 ln 3, beta = 0.1 -> beta z = ln 3 -> σ = 3/4 -> loss = ln(4/3).
  const double z = 10 * std::log(3.0);
  auto out = dpo_loss(t({z}), t({0.0}), t({0.0}), t({0.0}), {});
  EXPECT_NEAR(out.loss.item<double>(), std::log(4.0 / 3.0), 1e-12);
}

TEST(DpoLoss, IpoHandDerivedUsesPerTokenAverages) {
  // beta = 0.5 -> target 1/(2 beta) = 1.
  // Row 0: chosen_logratio = -2 - (-4) = 2 over 2 tokens -> 1; rejected 0 over 5 -> 0;
  //        delta = 1 -> (1 - 1)^2 = 0.
  // Row 1: chosen 0; rejected_logratio = -1 - (-3) = 2 over 4 tokens -> 0.5;
  //        delta = -0.5 -> (-1.5)^2 = 2.25.
  // Row 2: chosen_logratio 3 with 0 tokens (clamped to 1) -> 3; rejected 0 -> (3 - 1)^2 = 4.
  at::Tensor pc = t({-2.0, -4.0, 0.0}), rc = t({-4.0, -4.0, -3.0});
  at::Tensor pr = t({-3.0, -1.0, -1.0}), rr = t({-3.0, -3.0, -1.0});
  at::Tensor nc = at::tensor({2L, 3L, 0L}), nr = at::tensor({5L, 4L, 2L});
  auto out = dpo_loss(pc, pr, rc, rr, {.type = DpoLossType::Ipo, .beta = 0.5}, nc, nr);
  EXPECT_NEAR(out.losses[0].item<double>(), 0.0, 1e-12);
  EXPECT_NEAR(out.losses[1].item<double>(), 2.25, 1e-12);
  EXPECT_NEAR(out.losses[2].item<double>(), 4.0, 1e-12);
  EXPECT_NEAR(out.loss.item<double>(), 6.25 / 3, 1e-12);
  // Rewards stay unnormalised: beta * logratio.
  EXPECT_TRUE(at::allclose(out.chosen_rewards, t({1.0, 0.0, 1.5})));
}

TEST(DpoLoss, IpoNeedsLengths) {
  EXPECT_THROW(dpo_loss(t({0.0}), t({0.0}), t({0.0}), t({0.0}), {.type = DpoLossType::Ipo}), fw::Error);
}

TEST(DpoLoss, HingeHandDerived) {
  // beta = 0.5: z = 1 -> relu(1 - 0.5) = 0.5; z = 4 -> relu(1 - 2) = 0. Mean 0.25.
  at::Tensor pc = t({1.0, 4.0}).requires_grad_(true);
  auto out = dpo_loss(pc, t({0.0, 0.0}), t({0.0, 0.0}), t({0.0, 0.0}), {.type = DpoLossType::Hinge, .beta = 0.5});
  EXPECT_NEAR(out.losses[0].item<double>(), 0.5, 1e-12);
  EXPECT_NEAR(out.losses[1].item<double>(), 0.0, 1e-12);
  EXPECT_NEAR(out.loss.item<double>(), 0.25, 1e-12);
  out.loss.backward();  // active row: -beta / B; satisfied row: 0
  EXPECT_NEAR(pc.grad()[0].item<double>(), -0.25, 1e-12);
  EXPECT_NEAR(pc.grad()[1].item<double>(), 0.0, 1e-12);
}

TEST(DpoLoss, RobustHandDerived) {
  // eps = 0.25, beta = 1.
  // z = 0: (-(0.75) ln(1/2) + 0.25 ln(1/2)) / 0.5 = (0.75 - 0.25) ln 2 / 0.5 = ln 2.
  // z = ln 3: log σ(ln 3) = ln(3/4), log σ(-ln 3) = ln(1/4):
  //   (-0.75 ln(3/4) + 0.25 ln(1/4)) / 0.5 = 1.5 ln(4/3) - 0.5 ln 4 ≈ -0.261624 (rDPO's
  //   unbiased loss can be negative).
  const double l3 = std::log(3.0);
  auto out = dpo_loss(t({0.0, l3}), t({0.0, 0.0}), t({0.0, 0.0}), t({0.0, 0.0}),
                      {.type = DpoLossType::Robust, .beta = 1.0, .label_smoothing = 0.25});
  EXPECT_NEAR(out.losses[0].item<double>(), std::log(2.0), 1e-12);
  EXPECT_NEAR(out.losses[1].item<double>(), 1.5 * std::log(4.0 / 3.0) - 0.5 * std::log(4.0), 1e-12);
}

TEST(DpoLoss, RobustWithoutSmoothingIsSigmoid) {
  at::manual_seed(7);
  at::Tensor a = at::randn({6}, at::kDouble) * 10, b = at::randn({6}, at::kDouble) * 10;
  at::Tensor c = at::randn({6}, at::kDouble) * 10, d = at::randn({6}, at::kDouble) * 10;
  auto s = dpo_loss(a, b, c, d, {.type = DpoLossType::Sigmoid, .beta = 0.3});
  auto r = dpo_loss(a, b, c, d, {.type = DpoLossType::Robust, .beta = 0.3});
  EXPECT_TRUE(at::allclose(s.losses, r.losses, 1e-12, 1e-12));
}

TEST(DpoLoss, LargeMarginsStayFinite) {
  // z = +1000 -> -log σ(1000) = 0 (to double precision); z = -1000 -> -log σ(-1000) = 1000.
  auto out = dpo_loss(t({0.0, -1000.0}), t({-1000.0, 0.0}), t({0.0, 0.0}), t({0.0, 0.0}), {.beta = 1.0});
  EXPECT_NEAR(out.losses[0].item<double>(), 0.0, 1e-12);
  EXPECT_NEAR(out.losses[1].item<double>(), 1000.0, 1e-9);
}

TEST(DpoLoss, ReferenceIsAConstant) {
  at::Tensor rc = t({-1.0}).requires_grad_(true);
  auto out = dpo_loss(t({-1.0}).requires_grad_(true), t({-2.0}), rc, t({-2.0}), {});
  out.loss.backward();
  EXPECT_FALSE(rc.grad().defined());
}

TEST(DpoLoss, OptionsAreChecked) {
  EXPECT_EQ(fw::losses::dpo_loss_type_from_name("robust"), DpoLossType::Robust);
  EXPECT_EQ(fw::losses::dpo_loss_type_name(DpoLossType::Ipo), "ipo");
  try {
    fw::losses::dpo_loss_type_from_name("sigmod");
    FAIL() << "no throw";
  } catch (const fw::Error& e) {
    EXPECT_NE(std::string(e.what()).find("sigmoid"), std::string::npos) << e.what();
  }
  auto one = t({0.0});
  // TRL 1.16 applies label smoothing to robust only; elsewhere it would be silently ignored.
  EXPECT_THROW(dpo_loss(one, one, one, one, {.type = DpoLossType::Sigmoid, .label_smoothing = 0.1}), fw::Error);
  EXPECT_THROW(dpo_loss(one, one, one, one, {.type = DpoLossType::Robust, .label_smoothing = 0.5}), fw::Error);
  EXPECT_THROW(dpo_loss(one, one, one, one, {.beta = 0.0}), fw::Error);
  EXPECT_THROW(dpo_loss(one, t({0.0, 1.0}), one, one, {}), fw::Error);
}

// End to end through sequence_logps: one gradient step on the logits raises the chosen
// completion's log-prob and lowers the rejected one's.
TEST(DpoLoss, SigmoidGradientStepPrefersChosen) {
  using fw::losses::kIgnoreIndex;
  at::manual_seed(11);
  const int64_t B = 3, T = 5, V = 7;
  at::Tensor logits = at::randn({2 * B, T, V}).requires_grad_(true);  // rows: chosen then rejected
  at::Tensor labels = at::randint(0, V, {2 * B, T}, at::kLong);
  labels.narrow(1, 0, 2).fill_(kIgnoreIndex);  // prompt positions
  at::Tensor ref;
  {
    at::NoGradGuard ng;
    ref = fw::losses::sequence_logps(logits, labels);
  }
  auto step = [&](const at::Tensor& lg) {
    at::Tensor s = fw::losses::sequence_logps(lg, labels);
    return dpo_loss(s.narrow(0, 0, B), s.narrow(0, B, B), ref.narrow(0, 0, B), ref.narrow(0, B, B), {});
  };
  auto out = step(logits);
  // At policy == reference every pair has z = 0: loss ln 2, rewards 0.
  EXPECT_NEAR(out.loss.item<double>(), std::log(2.0), 1e-6);
  out.loss.backward();
  at::NoGradGuard ng;
  at::Tensor after = fw::losses::sequence_logps(logits - 1.0 * logits.grad(), labels);
  EXPECT_TRUE((after.narrow(0, 0, B) > ref.narrow(0, 0, B)).all().item<bool>()) << after << ref;
  EXPECT_TRUE((after.narrow(0, B, B) < ref.narrow(0, B, B)).all().item<bool>()) << after << ref;
  EXPECT_LT(step(logits - 1.0 * logits.grad()).loss.item<double>(), std::log(2.0));
}

}  // namespace
