// The tail of every optimizer step, shared by the recipes: finish the data-parallel
// gradient all-reduce, clip the gradients, refuse a non-finite step, set the learning
// rate, update, clear the gradients. `loss` must be the same on every rank (the global
// loss), so that every rank takes the same decision.
#pragma once

#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

#include <optional>

#include "dist/data_parallel.h"

namespace fw::trainer {

struct UpdateResult {
  bool applied = false;   // false: loss or gradient norm was NaN/Inf; gradients dropped
  double loss = 0;        // the loss the update was given
  double grad_norm = 0;   // before clipping
  double sync_seconds = 0;  // waiting for the gradient all-reduce (what the backward pass did not hide)
};

UpdateResult apply_update(torch::optim::Optimizer& optimizer, torch::nn::Module& model, double loss, double grad_clip,
                          double lr, dist::GradientSync* sync = nullptr);

}  // namespace fw::trainer
