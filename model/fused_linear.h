// Inference-only concatenation of Linear layers that read the same input (q/k/v, gate/up):
// one matrix product instead of several, which is what a decode step of a small model
// pays for (per-call overhead, not arithmetic). On a CPU the copy may instead be packed
// for a faster product: PanelWeight's kernel in float32 with AVX-512 (panel_linear.h),
// oneDNN's otherwise (onednn_linear.h); this also speeds up the larger products. The decode step
// builds these for one KV cache's lifetime (DecodeState), during which the weights cannot
// change (the cached keys and values would be stale too). Version counters cannot tell a
// copy is stale: at::_fused_adamw_ (FusedAdamW) updates parameters without bumping them.
#pragma once

#include <ATen/Tensor.h>
#include <torch/nn/modules/linear.h>

#include <memory>
#include <vector>

namespace fw::model {

class FusedLinear {
 public:
  // weights [out_i,in]; biases: one per weight or none. pack_rows > 0: a packed copy of the
  // concatenation for inputs of about that many rows (PanelWeight, else oneDNN). Otherwise
  // (or where neither takes it) fuse = true keeps a plain concatenated copy and fuse =
  // false none: forward then runs each part into its slice of the output.
  FusedLinear(std::vector<at::Tensor> weights, std::vector<at::Tensor> biases, bool fuse, int64_t pack_rows = 0);
  FusedLinear(const std::vector<const torch::nn::LinearImpl*>& parts, bool fuse, int64_t pack_rows = 0);
  // x [N,in] -> [N, sum of the parts' outputs], columns in the order of the parts.
  at::Tensor forward(const at::Tensor& x) const;
  bool packed() const { return panels_ || onednn_; }

 private:
  std::vector<at::Tensor> weights_, biases_;  // the parts' (shared, not copied)
  std::shared_ptr<const class PanelWeight> panels_;
  at::Tensor weight_, bias_;  // the concatenation, when fused or packed for oneDNN
  bool onednn_ = false;       // weight_ is in oneDNN's layout
};

}  // namespace fw::model
