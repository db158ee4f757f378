// PPO's two phases on tiny random models: the experience holds the scores, KL-penalised
// rewards and advantages the formulas give; an update at lr 0 sees a ratio of exactly 1
// (the old log-probs are what training recomputes); an update moves log-probs in the
// direction of the advantages; the same seed gives the same parameters.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include "losses/ppo.h"
#include "model/llama.h"
#include "tests/unit/model/tiny_models.h"
#include "trainer/optim.h"
#include "trainer/ppo_experience.h"
#include "trainer/ppo_update.h"

namespace {
using namespace fw;
using namespace fw::trainer;

const std::vector<std::vector<int64_t>> kPrompts = {{5, 9, 2, 44, 7}, {13, 1}, {8, 8, 30}, {17, 4}};
constexpr int64_t kEos = 2;

PpoModels tiny_models() {
  PpoModels m;
  m.policy = fw::testing::tiny_lm(fw::testing::tiny_config(), 1);
  m.reference = fw::testing::tiny_lm(fw::testing::tiny_config(), 1);  // = the policy
  m.reward = fw::testing::tiny_score_model(2);
  m.value = fw::testing::tiny_score_model(3);
  for (auto& p : m.reference->parameters()) p.set_requires_grad(false);
  for (auto& p : m.reward->parameters()) p.set_requires_grad(false);
  return m;
}

ExperienceOptions experience_options() {
  ExperienceOptions o;
  o.generate.max_new_tokens = 6;
  o.generate.sampling.temperature = 1.0;
  o.generate.eos_ids = {kEos};
  o.missing_eos_penalty = 0.5;
  return o;
}

TEST(PpoExperience, ScoresRewardsAndAdvantagesFollowTheFormulas) {
  PpoModels m = tiny_models();
  const ExperienceOptions o = experience_options();
  const Experience e = make_experience(m, kPrompts, /*seed=*/7, /*kl_coef=*/0.1, o, at::kCPU);
  ASSERT_EQ(e.batch.rows, 4);
  EXPECT_TRUE(experience_is_finite(e));
  at::NoGradGuard no_grad;
  // The policy is the reference: k1 KL is exactly 0 and the reward is the score alone.
  EXPECT_EQ(e.kl.abs().max().item<double>(), 0.0);
  const at::Tensor raw = rollout::sequence_scores(m.reward, e.batch);
  int64_t ended = 0;
  for (int64_t b = 0; b < 4; ++b) {
    const int64_t n = e.batch.response_lengths[b].item<int64_t>();
    const bool hit_eos = e.batch.responses[b][n - 1].item<int64_t>() == kEos;
    ended += hit_eos;
    EXPECT_NEAR(e.raw_scores[b].item<double>(), raw[b].item<double>(), 1e-6);
    EXPECT_NEAR(e.scores[b].item<double>(), raw[b].item<double>() - (hit_eos ? 0.0 : 0.5), 1e-6) << b;
    EXPECT_NEAR(e.rewards[b][n - 1].item<double>(), e.scores[b].item<double>(), 1e-6);
    EXPECT_NEAR(e.rewards[b].abs().sum().item<double>(), std::abs(e.scores[b].item<double>()), 1e-6);
  }
  EXPECT_EQ(e.ended, ended);
  const at::Tensor lp = rollout::response_logprobs(m.policy, e.batch, 1.0).logprobs;
  EXPECT_LT((lp - e.logprobs).abs().max().item<double>(), 1e-6);
  const losses::Gae gae = losses::generalized_advantages(e.rewards, e.values, e.mask, 1.0, 0.95);
  EXPECT_LT((gae.advantages - e.advantages).abs().max().item<double>(), 1e-6);
  EXPECT_NEAR(losses::masked_mean(e.advantages, e.mask).item<double>(), 0.0, 1e-5);  // whitened

  // A policy that differs from the reference pays -kl_coef * KL on every token.
  PpoModels other = tiny_models();
  other.reference = fw::testing::tiny_lm(fw::testing::tiny_config(), 9);
  const Experience d = make_experience(other, kPrompts, 7, 0.1, o, at::kCPU);
  const at::Tensor kl = losses::kl_per_token(d.logprobs, d.ref_logprobs, d.mask, losses::KlEstimator::K1);
  EXPECT_GT(kl.abs().sum().item<double>(), 0.0);
  const at::Tensor last = (d.batch.response_lengths - 1);
  const at::Tensor want = losses::kl_penalised_rewards(d.scores, kl, last, d.mask, 0.1);
  EXPECT_LT((want - d.rewards).abs().max().item<double>(), 1e-6);
}

TEST(PpoExperience, TheSeedDecidesTheRollouts) {
  PpoModels m = tiny_models();
  const ExperienceOptions o = experience_options();
  const Experience a = make_experience(m, kPrompts, 7, 0.1, o, at::kCPU);
  const Experience b = make_experience(m, kPrompts, 7, 0.1, o, at::kCPU);
  const Experience c = make_experience(m, kPrompts, 8, 0.1, o, at::kCPU);
  EXPECT_TRUE(at::equal(a.batch.input_ids, b.batch.input_ids));
  EXPECT_FALSE(a.batch.input_ids.sizes() == c.batch.input_ids.sizes() && at::equal(a.batch.input_ids, c.batch.input_ids));
  ExperienceOptions chunked = o;
  chunked.forward_batch_size = 3;  // scoring in chunks gives the same numbers
  const Experience d = make_experience(m, kPrompts, 7, 0.1, chunked, at::kCPU);
  EXPECT_EQ(d.batch.rows, 4);
  EXPECT_TRUE(experience_is_finite(d));
  // Its responses scored in one pass give the same log-probs, values and scores, to float32
  // rounding: oneDNN blocks a product by its row count, so a chunk's sums are ordered
  // differently from the whole batch's.
  at::NoGradGuard no_grad;
  EXPECT_LT((rollout::response_logprobs(m.policy, d.batch, 1.0).logprobs - d.logprobs).abs().max().item<double>(), 1e-5);
  EXPECT_LT((rollout::response_values(m.value, d.batch) - d.values).abs().max().item<double>(), 1e-5);
  EXPECT_LT((rollout::sequence_scores(m.reward, d.batch) - d.raw_scores).abs().max().item<double>(), 1e-5);
}

TEST(PpoUpdate, AtLearningRateZeroTheRatioIsExactlyOne) {
  PpoModels m = tiny_models();
  const Experience e = make_experience(m, kPrompts, 7, 0.1, experience_options(), at::kCPU);
  PolicyAndValue w(m);
  auto opt = make_adamw(*w, {.lr = 0.0});
  const PpoUpdateStats s = ppo_update(m, *w, *opt, e,
                                      {.ppo_epochs = 2, .num_mini_batches = 2, .micro_batch_size = 1,
                                       .temperature = 1.0, .lr = 0.0, .seed = 3},
                                      at::kCPU);
  EXPECT_EQ(s.updates, 4);
  EXPECT_EQ(s.skipped_updates, 0);
  EXPECT_NEAR(s.ratio_mean, 1.0, 1e-6);
  EXPECT_NEAR(s.approxkl, 0.0, 1e-10);
  EXPECT_EQ(s.clipfrac, 0.0);
  EXPECT_EQ(s.value_clipfrac, 0.0);
  // The value loss of unchanged values is 0.5 * mean over micro-batches of their
  // masked mean of (V - R)^2, and the policy loss the mean of -A.
  double value_loss = 0, policy_loss = 0;
  for (int64_t b = 0; b < 4; ++b) {
    const at::Tensor mask = e.mask[b];
    value_loss += 0.5 * losses::masked_mean((e.values[b] - e.returns[b]).pow(2), mask).item<double>();
    policy_loss += losses::masked_mean(-e.advantages[b], mask).item<double>();
  }
  EXPECT_NEAR(s.value_loss, value_loss / 4, 1e-5);
  EXPECT_NEAR(s.policy_loss, policy_loss / 4, 1e-5);
}

TEST(PpoUpdate, EveryRowIsUsedWhenTheMiniBatchesDoNotDivideTheBatch) {
  // 3 rollouts in 2 mini-batches (the short last batch of an epoch): sizes 1 and 2, and
  // the policy loss at lr 0 is the mean of -A over all three rows, each seen once per epoch.
  PpoModels m = tiny_models();
  const std::vector<std::vector<int64_t>> three(kPrompts.begin(), kPrompts.begin() + 3);
  const Experience e = make_experience(m, three, 7, 0.1, experience_options(), at::kCPU);
  PolicyAndValue w(m);
  auto opt = make_adamw(*w, {.lr = 0.0});
  const PpoUpdateStats s = ppo_update(m, *w, *opt, e,
                                      {.ppo_epochs = 1, .num_mini_batches = 2, .micro_batch_size = 1,
                                       .temperature = 1.0, .lr = 0.0, .seed = 3},
                                      at::kCPU);
  EXPECT_EQ(s.updates, 2);
  double policy_loss = 0;
  for (int64_t b = 0; b < 3; ++b) policy_loss += losses::masked_mean(-e.advantages[b], e.mask[b]).item<double>();
  EXPECT_NEAR(s.policy_loss, policy_loss / 3, 1e-5);
}

TEST(PpoUpdate, MovesLogprobsTowardsTheAdvantagesAndIsSeeded) {
  auto run = [](uint64_t seed) {
    PpoModels m = tiny_models();
    const Experience e = make_experience(m, kPrompts, 7, 0.1, experience_options(), at::kCPU);
    PolicyAndValue w(m);
    auto opt = make_adamw(*w, {.lr = 3e-3});
    ppo_update(m, *w, *opt, e,
               {.ppo_epochs = 2, .num_mini_batches = 2, .micro_batch_size = 1, .temperature = 1.0, .lr = 3e-3,
                .seed = seed},
               at::kCPU);
    at::NoGradGuard no_grad;
    const at::Tensor after = rollout::response_logprobs(m.policy, e.batch, 1.0).logprobs;
    const double progress = ((after - e.logprobs) * e.advantages).sum().item<double>();
    return std::make_pair(progress, m.policy->parameters().front().clone());
  };
  const auto [progress, params] = run(3);
  EXPECT_GT(progress, 0.0) << "log-probs should rise where the advantage is positive";
  const auto [progress_again, params_again] = run(3);
  EXPECT_TRUE(at::equal(params, params_again));
  const auto [progress_other, params_other] = run(4);  // other mini-batch shuffles
  EXPECT_FALSE(at::equal(params, params_other));
}

}  // namespace
