#include "model/fused_linear.h"

#include <ATen/ATen.h>

namespace fw::model {

FusedLinear::FusedLinear(const std::vector<const torch::nn::LinearImpl*>& parts, bool fuse) {
  for (const auto* p : parts) {
    weights_.push_back(p->weight);
    if (p->bias.defined()) biases_.push_back(p->bias);
  }
  TORCH_CHECK(biases_.empty() || biases_.size() == weights_.size(), "FusedLinear: some parts lack a bias");
  if (!fuse) return;
  at::NoGradGuard no_grad;
  weight_ = at::cat(weights_, 0);
  if (!biases_.empty()) bias_ = at::cat(biases_, 0);
}

at::Tensor FusedLinear::forward(const at::Tensor& x) const {
  if (weight_.defined())
    return at::linear(x, weight_, bias_.defined() ? std::optional<at::Tensor>(bias_) : std::nullopt);
  int64_t total = 0;
  for (const auto& w : weights_) total += w.size(0);
  at::Tensor out = at::empty({x.size(0), total}, x.options());
  int64_t col = 0;
  for (size_t i = 0; i < weights_.size(); ++i) {
    const int64_t n = weights_[i].size(0);
    at::Tensor slice = out.narrow(1, col, n);
    if (biases_.empty()) at::mm_out(slice, x, weights_[i].t());
    else at::addmm_out(slice, biases_[i], x, weights_[i].t());
    col += n;
  }
  return out;
}

}  // namespace fw::model
