// SwiGLU feed-forward: down(silu(gate(x)) * up(x)).
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include "model/llama_config.h"

namespace fw::model {

class MlpImpl : public torch::nn::Module {
 public:
  explicit MlpImpl(const LlamaConfig& config);
  at::Tensor forward(const at::Tensor& x);  // [B,T,C] -> [B,T,C]

  torch::nn::Linear gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};
};
TORCH_MODULE(Mlp);

}  // namespace fw::model
