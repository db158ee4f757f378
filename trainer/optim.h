// AdamW with parameter groups (decoupled weight decay; none on norms, biases and, unless
// configured, embeddings), LR updates, gradient clipping, and optimizer state files.
#pragma once

#include <torch/nn/module.h>
#include <torch/optim/adamw.h>

#include <memory>
#include <string>

namespace fw::trainer {

struct OptimOptions {
  double lr = 1e-5;                 // peak learning rate (the schedule scales it)
  double weight_decay = 0.0;
  double beta1 = 0.9, beta2 = 0.999;
  double eps = 1e-8;
  bool decay_norms_and_biases = false;
  bool decay_embeddings = false;
};

// Which parameters get weight decay: by HF name ("...norm.weight", "...bias",
// "embed_tokens.weight").
bool decays(const std::string& param_name, const OptimOptions& opts);

// A FusedAdamW (trainer/fused_adamw.h) with two groups: decayed and not.
std::unique_ptr<torch::optim::AdamW> make_adamw(torch::nn::Module& model, const OptimOptions& opts);

void set_lr(torch::optim::Optimizer& opt, double lr);

// Clips the total L2 norm of the gradients to max_norm (if > 0); returns the norm
// before clipping (the metric TRL logs as grad_norm).
double clip_grad_norm(torch::nn::Module& model, double max_norm);

void save_optimizer(torch::optim::Optimizer& opt, const std::string& path);
void load_optimizer(torch::optim::Optimizer& opt, const std::string& path);

}  // namespace fw::trainer
