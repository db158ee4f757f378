// A DPO micro-batch and the summed completion log-probs of its pairs under a model, in one
// of two layouts:
//   shared prompt  one row per pair, the prompt computed once for both completions
//                  (data::collate_preference_pairs): fewer positions, no padding of one
//                  half to the other's length
//   two rows       chosen and rejected in rows of their own, right-padded to the longest
//                  (data::collate_preference), as TRL lays them out
// Both give the same log-probs (to float rounding); the LM head runs only at labelled
// positions (trainer/labelled_logits.h).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "data/collate.h"
#include "model/llama.h"

namespace fw::trainer {

struct DpoBatch {
  std::optional<data::PreferenceBatch> two_rows;
  std::optional<data::PreferencePairRows> shared_prompt;
  int64_t pairs = 0;
  int64_t num_tokens = 0;  // real tokens of the 2B sequences (what tokens_per_second counts)
};

DpoBatch collate_dpo(const std::vector<data::PreferenceExample>& examples, const data::MicroBatch& batch,
                     int64_t pad_id, bool shared_prompt);

struct PairLogps {
  at::Tensor logps;    // [2B] float32: chosen pairs, then rejected
  at::Tensor lengths;  // [2B] int64: completion tokens scored (IPO divides by them)
};

// Follows the caller's grad mode; runs under the run's autocast dtype name.
PairLogps pair_logps(model::LlamaForCausalLM& lm, const DpoBatch& b, at::Device device, const std::string& dtype);

}  // namespace fw::trainer
