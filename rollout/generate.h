// Batched generation with the KV cache: left-pad the prompts, prefill once, then decode
// one token per step for the whole batch. Sequences that finish (EOS) leave the batch,
// so they stop costing compute.
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <vector>

#include "model/llama.h"
#include "rollout/sampling.h"

namespace fw::rollout {

struct GenerateOptions {
  int64_t max_new_tokens = 128;
  SamplingOptions sampling;        // temperature 0 = greedy
  uint64_t seed = 0;               // drives sampling; same seed, same output
  std::vector<int64_t> eos_ids;    // stop tokens (kept in the output); empty = none
  int64_t pad_id = 0;              // fills the left padding of the prompts
};

struct Generation {
  std::vector<int64_t> tokens;  // the new tokens, ending with the EOS token if one was hit
  bool hit_eos = false;
};

struct GenerateStats {
  int64_t prompt_tokens = 0;
  int64_t generated_tokens = 0;
  double prefill_seconds = 0, decode_seconds = 0;
};

// prompts: token ids per sequence (non-empty). Runs on the model's device.
std::vector<Generation> generate(model::LlamaForCausalLM& lm, const std::vector<std::vector<int64_t>>& prompts,
                                 const GenerateOptions& opts, GenerateStats* stats = nullptr);

}  // namespace fw::rollout
