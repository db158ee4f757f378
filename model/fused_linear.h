// Inference-only concatenation of Linear layers that read the same input (q/k/v, gate/up):
// one matrix product instead of several, which is what a decode step of a small model
// pays for (per-call overhead, not arithmetic). The decode step builds these for one KV
// cache's lifetime (DecodeState), during which the weights cannot change (the cached keys
// and values would be stale too). Version counters cannot tell a copy is stale:
// at::_fused_adamw_ (FusedAdamW) updates parameters without bumping them.
#pragma once

#include <ATen/Tensor.h>
#include <torch/nn/modules/linear.h>

#include <vector>

namespace fw::model {

class FusedLinear {
 public:
  // parts: all with a bias or none. fuse = false keeps no copy: forward runs each part
  // into its slice of the output.
  FusedLinear(const std::vector<const torch::nn::LinearImpl*>& parts, bool fuse);
  // x [N, in] -> [N, sum of the parts' outputs], columns in the order of the parts.
  at::Tensor forward(const at::Tensor& x) const;

 private:
  std::vector<at::Tensor> weights_, biases_;  // the parts' (shared, not copied)
  at::Tensor weight_, bias_;                  // the concatenation, when fused
};

}  // namespace fw::model
