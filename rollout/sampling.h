// Choosing the next token from logits: greedy, or temperature / top-k / top-p sampling
// applied in that order (as transformers' logits warpers do).
#pragma once

#include <ATen/Tensor.h>
#include <ATen/core/Generator.h>
#include <c10/core/Device.h>

#include <cstdint>

namespace fw::rollout {

struct SamplingOptions {
  double temperature = 0.0;         // 0 = greedy (argmax)
  int64_t top_k = 0;                // keep the k most likely tokens; 0 = off
  double top_p = 1.0;               // keep the smallest set with probability >= top_p; 1 = off
  double repetition_penalty = 1.0;  // > 1 discourages tokens already in the sequence; 1 = off
};

// CTRL's repetition penalty (Keskar et al. 2019), as transformers applies it: for every
// token already in the sequence (prompt included; seen [B,V] bool), a positive logit is
// divided by `penalty` and a negative one multiplied by it. Runs before temperature.
at::Tensor apply_repetition_penalty(const at::Tensor& logits, const at::Tensor& seen, double penalty);

// log p(token) of the chosen tokens [B] under the distribution they are drawn from before
// top-k / top-p: log_softmax(logits / temperature) (temperature 0: of the raw logits).
// What PPO's policy log-probs use (TRL divides the logits by the temperature the same way).
at::Tensor sampled_logprobs(const at::Tensor& logits, const at::Tensor& tokens, double temperature);

// logits [B,V] -> logits with the filtered-out tokens set to -inf (after temperature).
at::Tensor filter_logits(const at::Tensor& logits, const SamplingOptions& opts);

// logits [B,V] -> next tokens [B] int64.
at::Tensor sample_next(const at::Tensor& logits, const SamplingOptions& opts, at::Generator& gen);

// A generator seeded with `seed` for sampling on `device` (a CPU generator, or a copy of
// the device's default one).
at::Generator seeded_generator(c10::Device device, uint64_t seed);

void validate(const SamplingOptions& opts);  // throws fw::Error for out-of-range values

}  // namespace fw::rollout
