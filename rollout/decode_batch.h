// Continuous batching: sequences join a running decode batch between steps (their
// prompts prefilled together, identical prompts once, and their KV-cache rows merged in,
// right-aligned) and leave it when they end, so a server starts new requests without
// waiting for the batch in flight to finish. Unlike generate() (one call, one setting for
// all), every sequence has its own sampling settings, seed, token budget, stop strings
// and log-prob setting: a seeded sequence samples from its own generator, so its tokens do
// not depend on what else shares the batch.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "model/llama.h"
#include "rollout/generate.h"
#include "rollout/sampling.h"

namespace fw::rollout {

struct SequenceSpec {
  std::vector<int64_t> prompt;            // non-empty
  int64_t max_new_tokens = 0;             // > 0
  SamplingOptions sampling;               // temperature 0 = greedy; repetition_penalty 1 only
  uint64_t seed = 0;
  std::vector<std::string> stop_strings;  // need the batch's detokenize
  int64_t top_logprobs = -1;              // as GenerateOptions::top_logprobs
};

class DecodeBatch {
 public:
  // detokenize: ids -> text, for stop strings.
  DecodeBatch(model::LlamaForCausalLM lm, std::vector<int64_t> eos_ids, int64_t pad_id,
              std::function<std::string(const std::vector<int64_t>&)> detokenize);
  ~DecodeBatch();
  DecodeBatch(const DecodeBatch&) = delete;
  DecodeBatch& operator=(const DecodeBatch&) = delete;

  // Prefills `specs` and adds them to the batch; returns their handles (new, increasing).
  // Throws fw::Error (InvalidInput) for a bad spec, before anything changes.
  std::vector<int64_t> add(const std::vector<SequenceSpec>& specs);

  // One token for every live sequence. on_token(handle, generation so far) returning
  // false cancels that sequence (Generation::cancelled). Returns the sequences that ended
  // at this step (EOS, a stop string, their budget, or cancelled), which leave the batch.
  std::vector<std::pair<int64_t, Generation>> step(
      const std::function<bool(int64_t, const Generation&)>& on_token = nullptr);

  int64_t live() const;          // sequences in the batch
  int64_t filled_slots() const;  // the KV cache's filled length (slots padding for every row are dropped)

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace fw::rollout
