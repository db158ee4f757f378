// Greedy decoding's next tokens and their log-probabilities in one pass over the logits,
// for the decode loop: at::argmax plus log_softmax-and-gather cost ~30 us per step at
// batch 32 on a 1000-token vocabulary, about a tenth of a small model's whole step.
#pragma once

#include <ATen/Tensor.h>

#include <utility>

namespace fw::rollout {

// logits [B,V] -> next tokens [B] int64 (the first maximal index, as at::argmax) and
// log p(next) [B] float32 (as sampled_logprobs at temperature 0). A CPU kernel over
// float32 (bfloat16 logits widened first) where AVX2 is there, ATen otherwise (and for rows
// holding NaN).
std::pair<at::Tensor, at::Tensor> greedy_next(const at::Tensor& logits);

}  // namespace fw::rollout
