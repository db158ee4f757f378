// Choosing the next token from logits: greedy, or temperature / top-k / top-p sampling
// applied in that order (as transformers' logits warpers do).
#pragma once

#include <ATen/Tensor.h>
#include <ATen/core/Generator.h>

#include <cstdint>

namespace fw::rollout {

struct SamplingOptions {
  double temperature = 0.0;  // 0 = greedy (argmax)
  int64_t top_k = 0;         // keep the k most likely tokens; 0 = off
  double top_p = 1.0;        // keep the smallest set with probability >= top_p; 1 = off
};

// logits [B,V] -> logits with the filtered-out tokens set to -inf (after temperature).
at::Tensor filter_logits(const at::Tensor& logits, const SamplingOptions& opts);

// logits [B,V] -> next tokens [B] int64.
at::Tensor sample_next(const at::Tensor& logits, const SamplingOptions& opts, at::Generator& gen);

void validate(const SamplingOptions& opts);  // throws fw::Error for out-of-range values

}  // namespace fw::rollout
