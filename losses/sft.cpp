#include "losses/sft.h"

#include <ATen/ATen.h>

namespace fw::losses {

SftLoss sft_loss_sum(const at::Tensor& logits, const at::Tensor& labels) {
  const int64_t V = logits.size(-1);
  at::Tensor flat_logits = logits.reshape({-1, V}).to(at::kFloat);  // [B*T,V]
  at::Tensor flat_labels = labels.reshape({-1});                      // [B*T]
  SftLoss out;
  out.loss_sum = at::cross_entropy_loss(flat_logits, flat_labels, /*weight=*/{}, at::Reduction::Sum, kIgnoreIndex);
  out.num_tokens = (flat_labels != kIgnoreIndex).sum().item<int64_t>();
  return out;
}

at::Tensor shift_labels(const at::Tensor& ids, const at::Tensor& train_mask) {
  at::Tensor labels = at::full_like(ids, kIgnoreIndex);
  const int64_t T = ids.size(1);
  if (T < 2) return labels;
  at::Tensor next = ids.narrow(1, 1, T - 1);
  at::Tensor keep = train_mask.narrow(1, 1, T - 1).to(at::kBool);
  labels.narrow(1, 0, T - 1).copy_(at::where(keep, next, at::full_like(next, kIgnoreIndex)));
  return labels;
}

}  // namespace fw::losses
