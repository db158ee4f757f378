#include "model/fused_linear.h"

#include <ATen/ATen.h>

#include "model/onednn_linear.h"
#include "model/panel_linear.h"

namespace fw::model {
namespace {

std::vector<at::Tensor> weights_of(const std::vector<const torch::nn::LinearImpl*>& parts) {
  std::vector<at::Tensor> w;
  for (const auto* p : parts) w.push_back(p->weight);
  return w;
}

std::vector<at::Tensor> biases_of(const std::vector<const torch::nn::LinearImpl*>& parts) {
  std::vector<at::Tensor> b;
  for (const auto* p : parts)
    if (p->bias.defined()) b.push_back(p->bias);
  return b;
}

at::Tensor concatenation(const std::vector<at::Tensor>& parts) {
  return parts.size() == 1 ? parts[0] : at::cat(parts, 0);
}

}  // namespace

FusedLinear::FusedLinear(std::vector<at::Tensor> weights, std::vector<at::Tensor> biases, bool fuse,
                         int64_t pack_rows)
    : weights_(std::move(weights)), biases_(std::move(biases)) {
  TORCH_CHECK(!weights_.empty(), "FusedLinear: no parts");
  TORCH_CHECK(biases_.empty() || biases_.size() == weights_.size(), "FusedLinear: some parts lack a bias");
  at::NoGradGuard no_grad;
  if (pack_rows > 0 && PanelWeight::supported(weights_[0])) {
    panels_ = std::make_shared<const PanelWeight>(
        concatenation(weights_), biases_.empty() ? std::nullopt : std::optional(concatenation(biases_)));
    return;
  }
  if (pack_rows > 0) {
    weight_ = onednn_pack_weight(concatenation(weights_), pack_rows);
    onednn_ = weight_.defined();
  }
  if (!onednn_ && weights_.size() == 1) weight_ = weights_[0];  // one part: nothing to fuse
  else if (!onednn_ && fuse) weight_ = at::cat(weights_, 0);
  if (weight_.defined() && !biases_.empty()) bias_ = concatenation(biases_);
}

FusedLinear::FusedLinear(const std::vector<const torch::nn::LinearImpl*>& parts, bool fuse, int64_t pack_rows)
    : FusedLinear(weights_of(parts), biases_of(parts), fuse, pack_rows) {}

at::Tensor FusedLinear::forward(const at::Tensor& x) const {
  const auto bias = bias_.defined() ? std::optional<at::Tensor>(bias_) : std::nullopt;
  // A packed copy takes inputs of its own dtype; another (an autocast op upstream) runs
  // on the parts through at::linear, which casts as autocast says.
  const bool same_dtype = x.scalar_type() == weights_[0].scalar_type();
  if (panels_ && same_dtype) return panels_->forward(x);
  if (onednn_ && same_dtype) return onednn_linear(x, weight_, bias);
  if (packed() || !same_dtype) {
    std::vector<at::Tensor> outs;
    for (size_t i = 0; i < weights_.size(); ++i)
      outs.push_back(at::linear(x, weights_[i], biases_.empty() ? std::nullopt : std::optional(biases_[i])));
    return outs.size() == 1 ? outs[0] : at::cat(outs, 1);
  }
  if (weight_.defined()) return at::linear(x, weight_, bias);
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
