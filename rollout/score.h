// Scoring given responses: what PPO (and the arena's reward-model judge) computes after
// generation. Prompt and response of each row are joined and right-padded, so every
// forward is a plain causal pass (right padding never reaches a real token) and a
// response token j of row b is read at position P_b + j - 1, the state it was chosen in:
//
//   per-token log-probs   log softmax(logits / temperature)[token]   (policy, reference)
//   per-token values      the value head at the same positions       (value model)
//   sequence scores       the score head at the row's last real token (reward model)
//
// Only the response positions go through the LM head (the decoder runs over every
// position). The functions follow the grad mode of the caller and run under whatever
// autocast the caller has enabled; inputs move to the model's device.
//
// Shapes: B rows, T = longest prompt + response, R = longest response, N = response
// tokens in the batch.
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <vector>

#include "model/llama.h"

namespace fw::rollout {

struct ResponseBatch {
  at::Tensor input_ids;       // [B,T] int64: prompt ++ response, right-padded with pad_id
  at::Tensor lengths;         // [B] int64: real tokens of each row (prompt + response)
  at::Tensor responses;       // [B,R] int64: the response tokens, pad_id after the end
  at::Tensor response_mask;   // [B,R] bool: true on response tokens
  at::Tensor flat_positions;  // [N] int64: b*T + P_b + j - 1 for each response token, row-major
  at::Tensor flat_index;      // [N] int64: b*R + j, where that token sits in a [B,R] tensor
  at::Tensor prompt_lengths;  // [B] int64
  at::Tensor response_lengths;  // [B] int64
  int64_t rows = 0, max_response = 0;

  // The rows `rows_subset` (int64 indices, e.g. a PPO mini-batch) as a batch of their own,
  // trimmed to their own longest row and response.
  ResponseBatch select(const std::vector<int64_t>& rows_subset) const;
};

// prompts[b], responses[b]: token ids, both non-empty.
ResponseBatch make_response_batch(const std::vector<std::vector<int64_t>>& prompts,
                                  const std::vector<std::vector<int64_t>>& responses, int64_t pad_id);

struct ResponseLogprobs {
  at::Tensor logprobs;  // [B,R] float32, 0 on padding; differentiable when grad is on
  at::Tensor entropy;   // [B,R] float32 entropy of the (temperature-scaled) distribution,
                        // 0 on padding; only when asked for, never differentiable
};

// temperature 0 = the raw logits (as rollout::sampled_logprobs).
ResponseLogprobs response_logprobs(model::LlamaForCausalLM& lm, const ResponseBatch& batch, double temperature,
                                   bool with_entropy = false);

// [B,R] float32 values of a value model (a one-label score model), 0 on padding.
at::Tensor response_values(model::LlamaForScore& value_model, const ResponseBatch& batch);

// [B] float32: a reward model's score of each whole sequence (its last real token).
at::Tensor sequence_scores(model::LlamaForScore& reward_model, const ResponseBatch& batch);

}  // namespace fw::rollout
