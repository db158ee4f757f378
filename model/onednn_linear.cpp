#include "model/onednn_linear.h"

#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <c10/core/GradMode.h>
#include <torch/csrc/autograd/custom_function.h>

#include <string_view>

namespace fw::model {
namespace {

using PackFn = at::Tensor(const at::Tensor&, std::optional<int64_t>);
using LinearFn = at::Tensor(const at::Tensor&, const at::Tensor&, const std::optional<at::Tensor>&, std::string_view,
                            c10::List<std::optional<at::Scalar>>, std::optional<std::string_view>);

// The op `name` with signature Fn, or none: a LibTorch built without oneDNN registers
// neither op, and another LibTorch's schema may not match Fn (at::linear serves then).
template <typename Fn>
std::optional<c10::TypedOperatorHandle<Fn>> find_op(const char* name) {
  if (!at::hasMKLDNN()) return std::nullopt;
  auto handle = c10::Dispatcher::singleton().findSchema({name, ""});
  if (!handle) return std::nullopt;
  try {
    return handle->template typed<Fn>();
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

const std::optional<c10::TypedOperatorHandle<PackFn>>& pack_op() {
  static const auto op = find_op<PackFn>("mkldnn::_reorder_linear_weight");  // looked up once
  return op;
}

const std::optional<c10::TypedOperatorHandle<LinearFn>>& linear_op() {
  static const auto op = find_op<LinearFn>("mkldnn::_linear_pointwise");
  return op;
}

bool onednn_usable() { return at::globalContext().userEnabledMkldnn() && pack_op() && linear_op(); }

at::Tensor call_linear(const at::Tensor& x, const at::Tensor& weight, const std::optional<at::Tensor>& bias) {
  return linear_op()->call(x.contiguous(), weight, bias, "none", c10::List<std::optional<at::Scalar>>(),
                           std::nullopt);
}

// y = x W^T + b with its backward through oneDNN too: dx = dy W and dW = dy^T x are the
// same kind of product, A B^T, with B a transposed view (W^T, x^T: oneDNN reads a plain
// transpose without a copy). oneDNN copies A if it is not contiguous, so dW takes whichever
// form copies less: dy^T (N x M) as A, or x^T (K x M) as A for dW^T (then N x K once more
// for the transpose), which for a wide LM head is the smaller. No double backward.
struct OnednnLinearFunction : torch::autograd::Function<OnednnLinearFunction> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x_in, const at::Tensor& w_in,
                            const std::optional<at::Tensor>& bias) {
    const at::Tensor x = x_in.contiguous(), weight = w_in.contiguous();  // padded strides would take a slow kernel
    // Saved only where a gradient needs it, as at::linear's autograd does.
    ctx->save_for_backward({w_in.requires_grad() ? x : at::Tensor(), x_in.requires_grad() ? weight : at::Tensor()});
    ctx->saved_data["bias"] = bias.has_value();
    return call_linear(x, weight, bias);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor& x = saved[0];       // [M,K], if W needs a gradient
    const at::Tensor& weight = saved[1];  // [N,K], if x needs one
    const at::Tensor dy = grads[0].contiguous();  // [M,N]
    at::Tensor dx, dw, db;
    if (ctx->needs_input_grad(0)) dx = call_linear(dy, weight.t(), std::nullopt);
    if (ctx->needs_input_grad(1)) {
      const int64_t M = dy.size(0), N = dy.size(1), K = x.size(1);
      dw = N * M <= K * M + N * K ? call_linear(dy.t(), x.t(), std::nullopt)
                                  : call_linear(x.t(), dy.t(), std::nullopt).t().contiguous();
    }
    if (ctx->saved_data["bias"].toBool() && ctx->needs_input_grad(2)) db = dy.sum(0);
    return {dx, dw, db};
  }
};

}  // namespace

at::Tensor onednn_pack_weight(const at::Tensor& weight, int64_t rows) {
  const auto dtype = weight.scalar_type();
  if (!weight.is_cpu() || weight.dim() != 2 || (dtype != at::kFloat && dtype != at::kBFloat16)) return {};
  if (!onednn_usable()) return {};
  try {
    return pack_op()->call(weight.contiguous(), std::max<int64_t>(rows, 1));
  } catch (const std::exception&) {
    return {};  // e.g. bfloat16 on a CPU oneDNN has no bfloat16 kernels for
  }
}

at::Tensor onednn_linear(const at::Tensor& x, const at::Tensor& packed_weight, const std::optional<at::Tensor>& bias) {
  if (x.size(0) == 0) return at::empty({0, packed_weight.size(0)}, x.options());  // oneDNN takes no empty input
  return call_linear(x, packed_weight, bias);
}

at::Tensor linear_forward(const at::Tensor& x, const at::Tensor& weight, const std::optional<at::Tensor>& bias_in) {
  const std::optional<at::Tensor> bias = bias_in && bias_in->defined() ? bias_in : std::nullopt;
  // Anything but a plain float32 CPU product of matching shapes goes to at::linear, which
  // also gives the usual errors for bad shapes or devices.
  const bool plain = x.is_cpu() && weight.is_cpu() && x.scalar_type() == at::kFloat &&
                     weight.scalar_type() == at::kFloat && weight.dim() == 2 && x.dim() >= 2 &&
                     x.size(-1) == weight.size(1) && x.numel() > 0 && weight.numel() > 0 &&
                     (!bias || (bias->is_cpu() && bias->scalar_type() == at::kFloat && bias->dim() == 1 &&
                                bias->size(0) == weight.size(0)));
  if (!plain || at::autocast::is_autocast_enabled(at::kCPU) || !onednn_usable()) return at::linear(x, weight, bias);
  auto out_sizes = x.sizes().vec();
  out_sizes.back() = weight.size(0);
  const at::Tensor x2d = x.reshape({-1, x.size(-1)});
  const bool grad = c10::GradMode::is_enabled() &&
                    (x.requires_grad() || weight.requires_grad() || (bias && bias->requires_grad()));
  at::Tensor y = grad ? OnednnLinearFunction::apply(x2d, weight, bias) : call_linear(x2d, weight.contiguous(), bias);
  return y.view(out_sizes);
}

at::Tensor linear_forward(const torch::nn::LinearImpl& linear, const at::Tensor& x) {
  return linear_forward(x, linear.weight, linear.bias.defined() ? std::optional<at::Tensor>(linear.bias) : std::nullopt);
}

}  // namespace fw::model
