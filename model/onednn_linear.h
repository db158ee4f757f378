// y = x W^T + b through oneDNN, the library bundled with LibTorch's CPU build. at::linear
// sends float32 products to MKL's sgemm, which on this project's AMD CPUs runs at about 40 %
// of the FMA peak; oneDNN runs the same products 2.2x faster, and with W reordered once
// into its blocked layout, generation's small ones too (bfloat16 already goes to oneDNN;
// the reorder gains 1.3x there). The ops are LibTorch's own (mkldnn::_reorder_linear_weight
// and mkldnn::_linear_pointwise, what torch.compile's CPU freezing calls). They have no
// autograd of their own: linear_forward supplies one.
#pragma once

#include <ATen/Tensor.h>
#include <torch/nn/modules/linear.h>

#include <optional>

namespace fw::model {

// The weight [out,in] in oneDNN's layout for inputs of about `rows` rows (any row count
// works), or an undefined tensor where oneDNN cannot take it: not a CPU tensor, neither
// float32 nor bfloat16, or LibTorch built without oneDNN or without those ops.
at::Tensor onednn_pack_weight(const at::Tensor& weight, int64_t rows);

// x [N,in] with a weight from onednn_pack_weight -> [N,out], x's dtype.
at::Tensor onednn_linear(const at::Tensor& x, const at::Tensor& packed_weight, const std::optional<at::Tensor>& bias);

// The module's forward, x [...,in] -> [...,out]. On a CPU in float32 (not under CPU
// autocast) through oneDNN with the weight as it is, and with grad through an autograd
// function whose backward is oneDNN too (1.9x MKL for forward + backward). The model's
// layers call this, so training, prefill, scoring and evaluation all gain.
at::Tensor linear_forward(const torch::nn::LinearImpl& linear, const at::Tensor& x);
// The same for at::linear(x, weight, bias) (a tied LM head).
at::Tensor linear_forward(const at::Tensor& x, const at::Tensor& weight, const std::optional<at::Tensor>& bias);

}  // namespace fw::model
