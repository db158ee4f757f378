// PPO maths against values derived by hand from the formulas in losses/ppo.h (TRL 1.16
// ships no PPO to compare with; the formulas are its earlier PPOv2's).
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cmath>

#include "core/error.h"
#include "losses/ppo.h"

namespace {
using namespace fw::losses;

at::Tensor t(std::vector<float> v, int64_t rows = 1) {
  const int64_t cols = static_cast<int64_t>(v.size()) / rows;
  return at::tensor(v, at::kFloat).reshape({rows, cols});
}
at::Tensor m(std::vector<int> v, int64_t rows = 1) { return t(std::vector<float>(v.begin(), v.end()), rows).to(at::kBool); }
void expect_all_near(const at::Tensor& got, const at::Tensor& want, double tol = 1e-5) {
  ASSERT_EQ(got.sizes(), want.sizes());
  EXPECT_LT((got - want).abs().max().item<double>(), tol) << got << "\nwant\n" << want;
}

TEST(PpoMaths, MaskedStatisticsIgnorePadding) {
  const at::Tensor x = t({1, 2, 3, 100}), mask = m({1, 1, 1, 0});
  EXPECT_NEAR(masked_mean(x, mask).item<double>(), 2.0, 1e-6);
  EXPECT_NEAR(masked_var(x, mask).item<double>(), 1.0, 1e-6);  // (1 + 0 + 1) / (3 - 1)
  EXPECT_NEAR(masked_var(x, mask, false).item<double>(), 2.0 / 3.0, 1e-6);
  expect_all_near(masked_whiten(x, mask).narrow(1, 0, 3), t({-1, 0, 1}));
  expect_all_near(masked_whiten(x, mask, false).narrow(1, 0, 3), t({1, 2, 3}));
  EXPECT_THROW(masked_var(x, m({0, 1, 0, 0})), fw::Error);
}

TEST(PpoMaths, KlEstimators) {
  // logr = ref - logprob = -0.5: k1 = 0.5, k3 = e^-0.5 - 1 + 0.5.
  const at::Tensor lp = t({-1.0f, -2.0f}), ref = t({-1.5f, -7.0f}), mask = m({1, 0});
  expect_all_near(kl_per_token(lp, ref, mask, KlEstimator::K1), t({0.5f, 0.0f}));
  expect_all_near(kl_per_token(lp, ref, mask, KlEstimator::K3), t({static_cast<float>(std::exp(-0.5) - 0.5), 0.0f}));
  EXPECT_EQ(kl_estimator_from_name("k3"), KlEstimator::K3);
  EXPECT_THROW(kl_estimator_from_name("k2"), fw::Error);
}

TEST(PpoMaths, RewardIsScoreAtTheLastTokenMinusKl) {
  const at::Tensor r = kl_penalised_rewards(at::tensor({2.0f, -1.0f}), t({0.5, 0.2, 0.1, 0, 0.3, 0.3, 9, 9}, 2),
                                            at::tensor({2, 1}, at::kLong), m({1, 1, 1, 0, 1, 1, 0, 0}, 2), 0.1);
  expect_all_near(r, t({-0.05f, -0.02f, 1.99f, 0, -0.03f, -1.03f, 0, 0}, 2));
}

TEST(PpoMaths, GaeByHand) {
  // Row 0: r = [0, 0, 1], V = [0.5, 0.6, 0.7], γ 1, λ 0.95:
  //   δ2 = 1 - 0.7 = 0.3            A2 = 0.3
  //   δ1 = 0.7 - 0.6 = 0.1          A1 = 0.1 + 0.95·0.3   = 0.385
  //   δ0 = 0.6 - 0.5 = 0.1          A0 = 0.1 + 0.95·0.385 = 0.46575
  // Row 1: r = [0, 1, pad], V = [0.2, 0.4, 9 (pad: counts as 0)]:
  //   A2 = 0, A1 = 1 - 0.4 = 0.6, A0 = (0.4 - 0.2) + 0.95·0.6 = 0.77
  const at::Tensor rewards = t({0, 0, 1, 0, 1, 5}, 2), values = t({0.5f, 0.6f, 0.7f, 0.2f, 0.4f, 9.0f}, 2);
  const at::Tensor mask = m({1, 1, 1, 1, 1, 0}, 2);
  Gae raw = generalized_advantages(rewards, values, mask, 1.0, 0.95, /*whiten=*/false);
  expect_all_near(raw.advantages, t({0.46575f, 0.385f, 0.3f, 0.77f, 0.6f, 0.0f}, 2));
  expect_all_near(raw.returns, t({0.96575f, 0.985f, 1.0f, 0.97f, 1.0f, 0.0f}, 2));
  // γ 0.9 on row 1: A1 = 1 - 0.4 = 0.6, A0 = 0.9·0.4 - 0.2 + 0.9·0.95·0.6 = 0.673
  Gae discounted = generalized_advantages(rewards, values, mask, 0.9, 0.95, false);
  EXPECT_NEAR(discounted.advantages[1][0].item<double>(), 0.673, 1e-5);
  // Whitened: zero mean, unit (unbiased) variance over the five response tokens.
  Gae white = generalized_advantages(rewards, values, mask, 1.0, 0.95, true);
  EXPECT_NEAR(masked_mean(white.advantages, mask).item<double>(), 0.0, 1e-5);
  EXPECT_NEAR(masked_var(white.advantages, mask).item<double>(), 1.0, 1e-4);
  EXPECT_EQ(white.advantages[1][2].item<double>(), 0.0);
  expect_all_near(white.returns, raw.returns);  // returns use the raw advantages
}

TEST(PpoMaths, ClippedPolicyLossByHand) {
  // ratios 1.5, 0.5, 1 with advantages 1, 1, -2 and ε 0.2:
  //   token 0: -1.5 vs -1.2 -> -1.2 (clipped term larger: counted in clipfrac)
  //   token 1: -0.5 vs -0.8 -> -0.5
  //   token 2:  2   vs  2   ->  2
  // loss = (-1.2 - 0.5 + 2) / 3 = 0.1; approxkl = 0.5 · (ln²1.5 + ln²0.5) / 3
  at::Tensor lp = t({static_cast<float>(std::log(1.5)), static_cast<float>(std::log(0.5)), 0.0f, 3.0f}).requires_grad_();
  const at::Tensor old = t({0, 0, 0, 0}), adv = t({1, 1, -2, 7}), mask = m({1, 1, 1, 0});
  PolicyLoss l = ppo_policy_loss(lp, old, adv, mask, 0.2);
  EXPECT_NEAR(l.loss.item<double>(), 0.1, 1e-6);
  EXPECT_NEAR(l.clipfrac, 1.0 / 3.0, 1e-6);
  EXPECT_NEAR(l.approxkl, 0.5 * (std::pow(std::log(1.5), 2) + std::pow(std::log(0.5), 2)) / 3.0, 1e-6);
  l.loss.backward();
  // d/dlp of -A·ratio = -A·ratio; the clipped token and the padding get no gradient.
  expect_all_near(lp.grad(), t({0.0f, -0.5f / 3.0f, 2.0f / 3.0f, 0.0f}));
}

TEST(PpoMaths, ClippedValueLossByHand) {
  // token 0: V 1, V_old 0.5 -> clipped 0.7; (1-2)² = 1 vs (0.7-2)² = 1.69 -> 1.69 (clipped)
  // token 1: V 2, V_old 2   -> clipped 2;   (2-1)² = 1 vs 1                 -> 1
  // loss = 0.5 · (1.69 + 1) / 2 = 0.6725
  const at::Tensor v = t({1, 2, 4}).requires_grad_();
  ValueLoss l = ppo_value_loss(v, t({0.5f, 2.0f, 0.0f}), t({2, 1, 0}), m({1, 1, 0}), 0.2);
  EXPECT_NEAR(l.loss.item<double>(), 0.6725, 1e-6);
  EXPECT_NEAR(l.clipfrac, 0.5, 1e-6);
  l.loss.backward();
  // token 0's max is the clipped branch (constant in V beyond the clip): no gradient;
  // token 1: d/dV 0.5·(V-R)²/2 = (2-1)/2 = 0.5
  expect_all_near(v.grad(), t({0.0f, 0.5f, 0.0f}));
}

TEST(PpoMaths, AdaptiveKlMovesTowardTheTarget) {
  AdaptiveKl kl{.value = 0.05, .target = 6.0, .horizon = 10000.0};
  kl.update(9.0, 1000);  // error clipped to +0.2: 0.05 · (1 + 0.2 · 0.1)
  EXPECT_NEAR(kl.value, 0.051, 1e-12);
  kl.update(3.0, 1000);  // error -0.5 clipped to -0.2
  EXPECT_NEAR(kl.value, 0.051 * 0.98, 1e-12);
  kl.update(6.0, 1000);  // on target: unchanged
  EXPECT_NEAR(kl.value, 0.051 * 0.98, 1e-12);
}

}  // namespace

namespace {
using namespace fw::losses;

TEST(PpoMaths, ShardedWhiteningEqualsWhiteningTheWhole) {
  // Two shards (two ranks' rollouts): summed moments whiten each shard exactly as
  // masked_whiten whitens their concatenation.
  const at::Tensor a = at::tensor({0.5f, -1.0f, 2.0f, 7.0f, 3.0f, 9.0f}).view({2, 3});
  const at::Tensor ma = at::tensor({1, 1, 1, 1, 1, 0}).view({2, 3}).to(at::kBool);
  const at::Tensor b = at::tensor({4.0f, -2.5f, 0.0f, 1.0f}).view({1, 4});
  const at::Tensor mb = at::tensor({1, 1, 0, 1}).view({1, 4}).to(at::kBool);
  MaskedMoments m = masked_moments(a, ma), mb_ = masked_moments(b, mb);
  m.sum += mb_.sum, m.sum_sq += mb_.sum_sq, m.count += mb_.count;
  EXPECT_EQ(m.count, 8.0);
  const at::Tensor whole = at::cat({a.masked_select(ma), b.masked_select(mb)}).unsqueeze(0);
  const at::Tensor want = masked_whiten(whole, at::ones_like(whole, at::kBool));
  const at::Tensor got = at::cat({whiten_with(a, ma, m.mean(), m.unbiased_var()).masked_select(ma),
                                  whiten_with(b, mb, m.mean(), m.unbiased_var()).masked_select(mb)}).unsqueeze(0);
  EXPECT_LT((got - want).abs().max().item<double>(), 1e-5);
  EXPECT_EQ(whiten_with(a, ma, 1.0, 4.0)[1][2].item<double>(), 0.0);  // padding stays 0
  EXPECT_THROW((MaskedMoments{1.0, 1.0, 1.0}.unbiased_var()), fw::Error);
}

}  // namespace
