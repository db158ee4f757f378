// Per-token and per-sequence log-probabilities of given labels under a model's logits —
// what DPO (policy and reference) and later PPO score.
//
// Labels follow the SFT convention (losses/sft.h): labels[b,t] is the token predicted *from*
// position t (already shifted), kIgnoreIndex (-100) where nothing is scored, e.g. the prompt
// and the padding (data/collate.h builds them).
//
// Memory: log_softmax materialises a float32 [B,T,V] tensor (plus its gradient in the
// backward pass). Fine for the small vocabularies and micro-batches used so far; a chunked
// or fused (logsumexp + gather) version can replace it without changing the results.
#pragma once

#include <ATen/Tensor.h>

namespace fw::losses {

// logits [B,T,V] (any float dtype), labels [B,T] int64 -> [B,T] float32 log p(labels[b,t]),
// computed with log_softmax in float32; 0 where the label is kIgnoreIndex. Differentiable
// with respect to the logits.
at::Tensor gather_logprobs(const at::Tensor& logits, const at::Tensor& labels);

// [B] float32: the sum of gather_logprobs over the scored (non-ignored) positions of each
// row — DESIGN.md §5's "summed log-probs over completion tokens".
at::Tensor sequence_logps(const at::Tensor& logits, const at::Tensor& labels);

// [B] int64: the number of scored (non-ignored) positions of each row, i.e. the completion
// length that TRL's IPO loss divides by (losses/dpo.h).
at::Tensor scored_lengths(const at::Tensor& labels);

}  // namespace fw::losses
