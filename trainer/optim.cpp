#include "trainer/optim.h"

#include <torch/nn/utils/clip_grad.h>
#include <torch/serialize.h>

#include "core/error.h"
#include "core/strings.h"
#include "trainer/fused_adamw.h"

namespace fw::trainer {

bool decays(const std::string& name, const OptimOptions& o) {
  const bool is_bias = ends_with(name, ".bias");
  const bool is_norm = ends_with(name, "norm.weight");
  const bool is_embedding = name.find("embed_tokens") != std::string::npos;
  if ((is_bias || is_norm) && !o.decay_norms_and_biases) return false;
  if (is_embedding && !o.decay_embeddings) return false;
  return true;
}

std::unique_ptr<torch::optim::AdamW> make_adamw(torch::nn::Module& model, const OptimOptions& o) {
  std::vector<at::Tensor> with_decay, without_decay;
  for (auto& item : model.named_parameters()) {
    if (!item.value().requires_grad()) continue;
    (decays(item.key(), o) ? with_decay : without_decay).push_back(item.value());
  }
  auto options = [&](double wd) {
    return std::make_unique<torch::optim::AdamWOptions>(
        torch::optim::AdamWOptions(o.lr).betas({o.beta1, o.beta2}).eps(o.eps).weight_decay(wd));
  };
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(with_decay, options(o.weight_decay));
  groups.emplace_back(without_decay, options(0.0));
  return std::make_unique<FusedAdamW>(groups, torch::optim::AdamWOptions(o.lr));
}

void set_lr(torch::optim::Optimizer& opt, double lr) {
  for (auto& group : opt.param_groups()) static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
}

double clip_grad_norm(torch::nn::Module& model, double max_norm) {
  std::vector<at::Tensor> params;
  for (auto& p : model.parameters())
    if (p.grad().defined()) params.push_back(p);
  if (params.empty()) return 0.0;
  if (max_norm > 0) return torch::nn::utils::clip_grad_norm_(params, max_norm);
  double sq = 0;
  for (auto& p : params) sq += p.grad().to(at::kFloat).pow(2).sum().item<double>();
  return std::sqrt(sq);
}

void save_optimizer(torch::optim::Optimizer& opt, const std::string& path) { torch::save(opt, path); }

void load_optimizer(torch::optim::Optimizer& opt, const std::string& path) {
  try {
    torch::load(opt, path);
  } catch (const c10::Error& e) {
    throw_invalid(std::string("cannot load optimizer state: ") + e.what_without_backtrace(), {.file = path});
  }
}

}  // namespace fw::trainer
