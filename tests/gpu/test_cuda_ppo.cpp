// PPO on CUDA: the scoring passes agree with the CPU (fp32), and one whole PPO step
// (rollouts, scoring, update) runs under bf16 autocast with bf16 frozen models, as
// configs/ppo/llama.yaml does, with finite statistics.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <ATen/Context.h>

#include "rollout/score.h"
#include "tiny_models.h"
#include "trainer/optim.h"
#include "trainer/ppo_experience.h"
#include "trainer/ppo_update.h"

namespace {
using namespace fw;

#define REQUIRE_CUDA()                                                   \
  if (!at::globalContext().hasCUDA()) GTEST_SKIP() << "no CUDA device: gpu test skipped"

const std::vector<std::vector<int64_t>> kPrompts = {{5, 9, 2, 44, 7}, {13, 1}, {8, 8, 30}, {17, 4}};

TEST(CudaPpo, ScoringMatchesCpu) {
  REQUIRE_CUDA();
  at::globalContext().setAllowTF32CuBLAS(false);
  auto lm = fw::testing::tiny_lm(fw::testing::tiny_config(), 21);
  auto vm = fw::testing::tiny_score_model(22);
  const auto b = rollout::make_response_batch(kPrompts, {{3, 4}, {20, 21, 22}, {6}, {7, 7, 7, 7}}, 0);
  at::NoGradGuard g;
  const at::Tensor lp = rollout::response_logprobs(lm, b, 0.7).logprobs, v = rollout::response_values(vm, b);
  const at::Tensor s = rollout::sequence_scores(vm, b);
  lm->to(at::kCUDA);
  vm->to(at::kCUDA);
  EXPECT_LT((rollout::response_logprobs(lm, b, 0.7).logprobs.cpu() - lp).abs().max().item<double>(), 1e-4);
  EXPECT_LT((rollout::response_values(vm, b).cpu() - v).abs().max().item<double>(), 1e-4);
  EXPECT_LT((rollout::sequence_scores(vm, b).cpu() - s).abs().max().item<double>(), 1e-4);
}

TEST(CudaPpo, AWholeStepRunsUnderBf16Autocast) {
  REQUIRE_CUDA();
  trainer::PpoModels m;
  m.policy = fw::testing::tiny_lm(fw::testing::tiny_config(), 23);
  m.reference = fw::testing::tiny_lm(fw::testing::tiny_config(), 23);
  m.reward = fw::testing::tiny_score_model(24);
  m.value = fw::testing::tiny_score_model(25);
  m.policy->to(at::kCUDA);
  m.value->to(at::kCUDA);
  m.reference->to(at::kCUDA, at::kBFloat16);
  m.reward->to(at::kCUDA, at::kBFloat16);
  for (auto& p : m.reference->parameters()) p.set_requires_grad(false);
  for (auto& p : m.reward->parameters()) p.set_requires_grad(false);
  trainer::ExperienceOptions o;
  o.generate.max_new_tokens = 8;
  o.generate.sampling.temperature = 1.0;
  o.generate.eos_ids = {2};
  o.dtype = fw::trainer::ComputeDtype::BFloat16;
  const trainer::Experience e = trainer::make_experience(m, kPrompts, 5, 0.05, o, at::kCUDA);
  ASSERT_TRUE(trainer::experience_is_finite(e));
  trainer::PolicyAndValue w(m);
  auto opt = trainer::make_adamw(*w, {.lr = 1e-3});
  const trainer::PpoUpdateStats s = trainer::ppo_update(
      m, *w, *opt, e, {.ppo_epochs = 2, .num_mini_batches = 2, .micro_batch_size = 2, .lr = 1e-3, .seed = 1,
                      .dtype = fw::trainer::ComputeDtype::BFloat16},
      at::kCUDA);
  EXPECT_EQ(s.updates, 4);
  EXPECT_TRUE(std::isfinite(s.policy_loss) && std::isfinite(s.value_loss));
}

}  // namespace
