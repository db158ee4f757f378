// Supervised fine-tuning loss: token cross-entropy over the trainable positions only.
//
// The loss of an optimizer step is  sum over its micro-batches of sum_t CE_t / N, where N
// is the number of trainable tokens in the whole step (all micro-batches, and in data
// parallelism all ranks). Each micro-batch therefore returns its *sum* and the caller
// divides by N, so gradient accumulation does not change the result: 4 micro-batches of
// 2 give the same update as one batch of 8.
#pragma once

#include <ATen/Tensor.h>

namespace fw::losses {

inline constexpr int64_t kIgnoreIndex = -100;  // label of a position that is not trained

struct SftLoss {
  at::Tensor loss_sum;      // scalar: sum of CE over trainable positions (differentiable)
  int64_t num_tokens = 0;   // trainable positions in this micro-batch
};

// logits [B,T,V] (any float dtype; computed in float32), labels [B,T] int64 with
// kIgnoreIndex where nothing is trained. labels[b,t] is the token to predict *from*
// position t (already shifted by the caller).
SftLoss sft_loss_sum(const at::Tensor& logits, const at::Tensor& labels);

// Labels for next-token prediction: labels[b,t] = ids[b,t+1] where mask[b,t+1] is 1,
// else kIgnoreIndex; the last position is always ignored. ids, mask: [B,T].
at::Tensor shift_labels(const at::Tensor& ids, const at::Tensor& train_mask);

}  // namespace fw::losses
