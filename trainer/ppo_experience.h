// PPO's rollout phase for one batch of prompts (TRL's PPOv2 order):
//   1. generate with the policy (sampling, seeded per step) -> responses
//   2. score: policy and reference log-probs of the sampled tokens (temperature-scaled
//      logits, as sampled), values of the value model, the reward model's score of each
//      whole sequence minus the missing-EOS penalty
//   3. per-token KL against the reference -> rewards (-kl_coef·KL, plus the score at the
//      last response token) -> optional reward whitening -> GAE -> whitened advantages
// Everything it returns is detached; the update phase (ppo_update.h) trains on it.
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "dist/process_group.h"
#include "losses/ppo.h"
#include "model/llama.h"
#include "rollout/generate.h"
#include "rollout/score.h"
#include "trainer/recipe_sections.h"

namespace fw::trainer {

struct PpoModels {
  model::LlamaForCausalLM policy{nullptr};
  model::LlamaForCausalLM reference{nullptr};  // frozen
  model::LlamaForScore reward{nullptr};        // frozen
  model::LlamaForScore value{nullptr};
};

struct ExperienceOptions {
  rollout::GenerateOptions generate;  // sampling, max_new_tokens, eos, stop strings (seed set per call)
  int64_t forward_batch_size = 0;     // rows per generation / scoring pass; 0 = all
  double missing_eos_penalty = 1.0;
  losses::KlEstimator kl_estimator = losses::KlEstimator::K1;
  bool whiten_rewards = false;
  double gamma = 1.0, lam = 0.95;
  ComputeDtype dtype = ComputeDtype::Float32;  // bf16 autocast or none (trainer/setup.h)
};

struct Experience {
  rollout::ResponseBatch batch;  // prompt ++ response rows (CPU)
  at::Tensor mask;               // [B,R] bool, on the models' device like every tensor below
  at::Tensor logprobs;           // [B,R] policy log-probs at sampling time (the "old" ones)
  at::Tensor ref_logprobs;       // [B,R]
  at::Tensor values;             // [B,R] value model's estimates (the "old" values)
  at::Tensor scores;             // [B] reward-model scores after the missing-EOS penalty
  at::Tensor raw_scores;         // [B] before the penalty
  at::Tensor kl;                 // [B,R] per-token KL estimate
  at::Tensor rewards;            // [B,R] KL-penalised rewards (whitened if asked)
  at::Tensor advantages;         // [B,R] whitened
  at::Tensor returns;            // [B,R] value targets
  int64_t ended = 0;             // responses that ended (EOS or a stop string)
  int64_t eos_tokens = 0;        // responses that ended with the EOS token
  int64_t generated_tokens = 0;
  double generate_seconds = 0, score_seconds = 0;
};

// prompts: token ids per row (non-empty). `seed` drives the sampling of this batch. In a
// data-parallel run each rank passes its own prompts and `group`: advantages (and, if
// asked, rewards) are then whitened over the rollouts of every rank.
Experience make_experience(PpoModels& models, const std::vector<std::vector<int64_t>>& prompts, uint64_t seed,
                           double kl_coef, const ExperienceOptions& opts, at::Device device,
                           dist::ProcessGroup* group = nullptr);

// Is every number in the experience finite (scores, log-probs, values, advantages)?
bool experience_is_finite(const Experience& e);

}  // namespace fw::trainer
