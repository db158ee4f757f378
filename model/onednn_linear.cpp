#include "model/onednn_linear.h"

#include <ATen/ATen.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <c10/core/GradMode.h>

#include <string_view>

namespace fw::model {
namespace {

using PackFn = at::Tensor(const at::Tensor&, std::optional<int64_t>);
using LinearFn = at::Tensor(const at::Tensor&, const at::Tensor&, const std::optional<at::Tensor>&, std::string_view,
                            c10::List<std::optional<at::Scalar>>, std::optional<std::string_view>);

// Looked up once: a LibTorch built without oneDNN registers neither op.
const std::optional<c10::TypedOperatorHandle<PackFn>>& pack_op() {
  static const auto op = []() -> std::optional<c10::TypedOperatorHandle<PackFn>> {
    if (!at::hasMKLDNN()) return std::nullopt;
    auto handle = c10::Dispatcher::singleton().findSchema({"mkldnn::_reorder_linear_weight", ""});
    if (!handle) return std::nullopt;
    return handle->typed<PackFn>();
  }();
  return op;
}

const std::optional<c10::TypedOperatorHandle<LinearFn>>& linear_op() {
  static const auto op = []() -> std::optional<c10::TypedOperatorHandle<LinearFn>> {
    if (!at::hasMKLDNN()) return std::nullopt;
    auto handle = c10::Dispatcher::singleton().findSchema({"mkldnn::_linear_pointwise", ""});
    if (!handle) return std::nullopt;
    return handle->typed<LinearFn>();
  }();
  return op;
}

bool onednn_usable() { return at::globalContext().userEnabledMkldnn() && pack_op() && linear_op(); }

at::Tensor call_linear(const at::Tensor& x, const at::Tensor& weight, const std::optional<at::Tensor>& bias) {
  return linear_op()->call(x.contiguous(), weight, bias, "none", c10::List<std::optional<at::Scalar>>(),
                           std::nullopt);
}

}  // namespace

at::Tensor onednn_pack_weight(const at::Tensor& weight, int64_t rows) {
  const auto dtype = weight.scalar_type();
  if (!weight.is_cpu() || weight.dim() != 2 || (dtype != at::kFloat && dtype != at::kBFloat16)) return {};
  if (!onednn_usable()) return {};
  try {
    return pack_op()->call(weight.contiguous(), std::max<int64_t>(rows, 1));
  } catch (const c10::Error&) {
    return {};  // e.g. bfloat16 on a CPU oneDNN has no bfloat16 kernels for
  }
}

at::Tensor onednn_linear(const at::Tensor& x, const at::Tensor& packed_weight, const std::optional<at::Tensor>& bias) {
  if (x.size(0) == 0) return at::empty({0, packed_weight.size(0)}, x.options());  // oneDNN takes no empty input
  return call_linear(x, packed_weight, bias);
}

at::Tensor linear_forward(const at::Tensor& x, const at::Tensor& weight, const std::optional<at::Tensor>& bias) {
  if (c10::GradMode::is_enabled() || !x.is_cpu() || x.scalar_type() != at::kFloat ||
      weight.scalar_type() != at::kFloat || x.numel() == 0 || x.dim() < 2 || !onednn_usable())
    return at::linear(x, weight, bias);
  auto out_sizes = x.sizes().vec();
  out_sizes.back() = weight.size(0);
  return call_linear(x.reshape({-1, x.size(-1)}), weight.contiguous(), bias).view(out_sizes);
}

at::Tensor linear_forward(const torch::nn::LinearImpl& linear, const at::Tensor& x) {
  return linear_forward(x, linear.weight, linear.bias.defined() ? std::optional<at::Tensor>(linear.bias) : std::nullopt);
}

}  // namespace fw::model
