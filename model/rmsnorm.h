// RMSNorm as Llama defines it: normalise in float32, scale by a learned weight, return in
// the input dtype (the cast happens before the weight multiply, as in transformers).
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

namespace fw::model {

class RMSNormImpl : public torch::nn::Module {
 public:
  RMSNormImpl(int64_t dim, double eps);
  at::Tensor forward(const at::Tensor& x);  // [..., C] -> [..., C]

  at::Tensor weight;  // [C]
  double eps() const { return eps_; }

 private:
  at::Tensor forward_inference(const at::Tensor& x);  // under no grad

  double eps_;
};
TORCH_MODULE(RMSNorm);

}  // namespace fw::model
