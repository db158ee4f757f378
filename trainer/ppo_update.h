// PPO's update phase on one batch of experience: `ppo_epochs` passes, each over
// `num_mini_batches` mini-batches of shuffled rollouts; one optimizer update per
// mini-batch, its gradient accumulated over micro-batches of rows. The loss of a
// micro-batch is the clipped policy loss plus vf_coef x the clipped value loss
// (losses/ppo.h), weighted by its share of the mini-batch's rows.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>
#include <torch/optim/optimizer.h>

#include <cstdint>

#include "dist/data_parallel.h"
#include "trainer/ppo_experience.h"

namespace fw::trainer {

// The policy and the value model under one module, so one optimizer (and one gradient
// clip, one gradient sync) covers both, as TRL's PolicyAndValueWrapper.
struct PolicyAndValueImpl : torch::nn::Module {
  explicit PolicyAndValueImpl(PpoModels& m) {
    register_module("policy", m.policy);
    register_module("value", m.value);
  }
};
TORCH_MODULE(PolicyAndValue);

struct PpoUpdateOptions {
  int64_t ppo_epochs = 4;
  int64_t num_mini_batches = 1;
  int64_t micro_batch_size = 8;  // rows per forward/backward
  double cliprange = 0.2, cliprange_value = 0.2, vf_coef = 0.1;
  double temperature = 0.7;      // the logits are divided by it, as when sampling
  double grad_clip = 1.0;
  double lr = 1e-6;
  uint64_t seed = 0;             // drives the mini-batch shuffles of this step
  ComputeDtype dtype = ComputeDtype::Float32;
};

// Means over the micro-batches of the whole phase (TRL's *_avg statistics).
struct PpoUpdateStats {
  double policy_loss = 0, value_loss = 0, approxkl = 0, clipfrac = 0, value_clipfrac = 0, entropy = 0;
  double ratio_mean = 0, ratio_var = 0;  // of the per-micro-batch mean ratios
  double grad_norm = 0;                  // mean over the applied updates
  int64_t updates = 0, skipped_updates = 0;  // skipped: non-finite loss or gradient
  double seconds = 0;
};

// `trainable` holds the policy and the value model (one optimizer over both, as TRL).
// Data parallel: `sync` (over `trainable`, scale 1/world) averages each update's
// gradients over the ranks, and `group` makes the skip decision of a non-finite update
// the same on every rank; every rank runs the same number of updates.
PpoUpdateStats ppo_update(PpoModels& models, torch::nn::Module& trainable, torch::optim::Optimizer& optimizer,
                          const Experience& exp, const PpoUpdateOptions& opts, at::Device device,
                          dist::GradientSync* sync = nullptr, dist::ProcessGroup* group = nullptr);

}  // namespace fw::trainer
