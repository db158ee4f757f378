#include "model/mlp.h"

#include <ATen/ATen.h>

#include "model/onednn_linear.h"

namespace fw::model {

MlpImpl::MlpImpl(const LlamaConfig& c) {
  auto linear = [&](int64_t in, int64_t out) {
    return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(c.mlp_bias));
  };
  gate_proj = register_module("gate_proj", linear(c.hidden_size, c.intermediate_size));
  up_proj = register_module("up_proj", linear(c.hidden_size, c.intermediate_size));
  down_proj = register_module("down_proj", linear(c.intermediate_size, c.hidden_size));
}

at::Tensor MlpImpl::forward(const at::Tensor& x) {
  return linear_forward(*down_proj, at::silu(linear_forward(*gate_proj, x)) * linear_forward(*up_proj, x));
}

}  // namespace fw::model
