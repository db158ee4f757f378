// Batched generation with the KV cache: left-pad the prompts, prefill once, then decode
// one token per step for the whole batch. Sequences that finish (EOS or a stop string)
// leave the batch, so they stop costing compute; the cache is allocated once per call.
// Identical prompts (n samples of one request) are prefilled once and their cache rows
// copied.
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <functional>
#include <string>
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
  // Stop strings: a sequence ends as soon as its decoded new text contains one (the
  // tokens that completed it are kept, as transformers' StopStringCriteria does).
  // Needs `detokenize` (ids -> text, e.g. the tokenizer's decode).
  std::vector<std::string> stop_strings;
  std::function<std::string(const std::vector<int64_t>&)> detokenize;
};

// One of a token's most likely alternatives at a step (SequenceSpec::top_logprobs,
// rollout/decode_batch.h).
struct TokenAlternative {
  int64_t id;
  float logprob;
};

struct Generation {
  std::vector<int64_t> tokens;  // the new tokens, ending with the EOS token if one was hit
  std::vector<float> logprobs;  // per token: rollout::sampled_logprobs (log p before top-k/p)
  // With DecodeBatch's top_logprobs >= 0: per token, log p under the model's own
  // distribution and the top_logprobs most likely alternatives (most likely first).
  std::vector<float> raw_logprobs;
  std::vector<std::vector<TokenAlternative>> top_alternatives;
  bool hit_eos = false;
  bool hit_stop_string = false;
  bool cancelled = false;  // DecodeBatch::step's on_token returned false
  // "stop" (EOS or a stop string) or "length" (max_new_tokens), as OpenAI's API says it.
  const char* finish_reason() const { return hit_eos || hit_stop_string ? "stop" : "length"; }
};

struct GenerateStats {
  int64_t prompt_tokens = 0;
  int64_t generated_tokens = 0;
  double prefill_seconds = 0, decode_seconds = 0;
};

// Whether the decoded tokens contain one of `stops` (false when there are none).
bool contains_stop_string(const std::vector<int64_t>& tokens, const std::vector<std::string>& stops,
                          const std::function<std::string(const std::vector<int64_t>&)>& detokenize);

// prompts: token ids per sequence (non-empty). Runs on the model's device.
std::vector<Generation> generate(model::LlamaForCausalLM& lm, const std::vector<std::vector<int64_t>>& prompts,
                                 const GenerateOptions& opts, GenerateStats* stats = nullptr);

}  // namespace fw::rollout
