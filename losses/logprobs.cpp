#include "losses/logprobs.h"

#include <ATen/ATen.h>

#include "core/error.h"
#include "losses/sft.h"

namespace fw::losses {

at::Tensor gather_logprobs(const at::Tensor& logits, const at::Tensor& labels) {
  if (logits.dim() != 3 || labels.dim() != 2 || logits.size(0) != labels.size(0) || logits.size(1) != labels.size(1))
    throw_invalid("gather_logprobs: expected logits [B,T,V] and labels [B,T], got " +
                  std::to_string(logits.dim()) + "-d logits and " + std::to_string(labels.dim()) + "-d labels");
  at::Tensor logp = at::log_softmax(logits.to(at::kFloat), -1);  // [B,T,V] float32
  at::Tensor ignored = labels == kIgnoreIndex;                       // [B,T]
  at::Tensor index = labels.masked_fill(ignored, 0).unsqueeze(-1);   // [B,T,1]
  at::Tensor picked = logp.gather(-1, index).squeeze(-1);            // [B,T]
  return picked.masked_fill(ignored, 0.0);
}

at::Tensor sequence_logps(const at::Tensor& logits, const at::Tensor& labels) {
  return gather_logprobs(logits, labels).sum(-1);
}

at::Tensor scored_lengths(const at::Tensor& labels) { return (labels != kIgnoreIndex).sum(-1); }

}  // namespace fw::losses
