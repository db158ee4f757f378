// y = x W^T + b for the few rows of a decode step, in float32 on a CPU with AVX-512F.
//
// A decode step multiplies a handful of rows (the batch) by every weight of the model, so
// it streams the weights from memory once per step while doing only 2·rows flops per
// weight read. at::linear sends these products to MKL's sgemm, which on this project's AMD
// CPUs runs at about 40 % of the FMA peak, and oneDNN (onednn_linear.h) loses about half
// of its speed once the weights stream from memory instead of sitting in the cache.
// PanelWeight copies W once into panels of 48 output columns, k-major ([N/48][K][48]): a
// thread reads one contiguous panel while an 8 x 48 tile of the output accumulates in 24
// registers, the tile sweeps the rows in blocks of 8 with the panel in L2, and the next
// panel is prefetched into L2 meanwhile, so memory and the FMA units work at once. Every
// output is one FMA chain over k in order, whatever the row count or the thread split:
// a row's result does not depend on the rows beside it.
#pragma once

#include <ATen/Tensor.h>

#include <optional>

namespace fw::model {

class PanelWeight {
 public:
  // The CPU has AVX-512F and weight is a CPU float32 matrix.
  static bool supported(const at::Tensor& weight);
  // weight [N,K]; bias [N] or none.
  PanelWeight(const at::Tensor& weight, const std::optional<at::Tensor>& bias);
  // x [M,K] float32 -> [M,N].
  at::Tensor forward(const at::Tensor& x) const;

 private:
  at::Tensor panels_;  // [ceil(N/48), K, 48], the columns past N zero
  at::Tensor bias_;    // [ceil(N/48) * 48], or undefined
  int64_t n_ = 0, k_ = 0;
};

}  // namespace fw::model
