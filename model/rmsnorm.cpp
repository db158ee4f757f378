#include "model/rmsnorm.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

namespace fw::model {

RMSNormImpl::RMSNormImpl(int64_t dim, double eps) : eps_(eps) {
  weight = register_parameter("weight", at::ones({dim}));
}

at::Tensor RMSNormImpl::forward(const at::Tensor& x) {
  if (!at::GradMode::is_enabled()) return forward_inference(x);
  at::Tensor h = x.to(at::kFloat);
  at::Tensor variance = h.pow(2).mean(-1, /*keepdim=*/true);
  h = h * at::rsqrt(variance + eps_);
  return weight * h.to(x.scalar_type());
}

// The same values with fewer operations (in place on temporaries, no casts in float32):
// the per-op overhead is what a small model's decode step pays for.
at::Tensor RMSNormImpl::forward_inference(const at::Tensor& x) {
  const bool is_float = x.scalar_type() == at::kFloat;
  at::Tensor h = is_float ? x : x.to(at::kFloat);
  h = h * h.pow(2).mean(-1, /*keepdim=*/true).add_(eps_).rsqrt_();
  if (!is_float) h = h.to(x.scalar_type());
  return h.scalar_type() == weight.scalar_type() ? h.mul_(weight) : weight * h;
}

}  // namespace fw::model
