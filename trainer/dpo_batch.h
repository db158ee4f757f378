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
#include "data/preference_dataset.h"
#include "model/llama.h"
#include "trainer/metrics_log.h"
#include "trainer/recipe_sections.h"

namespace fw::trainer {

struct DpoBatch {
  std::optional<data::PreferenceBatch> two_rows;
  std::optional<data::PreferencePairRows> shared_prompt;
  int64_t pairs = 0;
  int64_t num_tokens = 0;  // real tokens of the 2B sequences (what tokens_per_second counts)
};

DpoBatch collate_dpo(const std::vector<data::PreferenceExample>& examples, const data::MicroBatch& batch,
                     int64_t pad_id, bool shared_prompt);

// Whether to use the shared-prompt layout (`requested`: dpo.shared_prompt). It measures a
// sliding window on slots, not positions, so only where no window can bite (logged).
bool shared_prompt_layout(const model::LlamaConfig& config, bool requested, int64_t max_seq_len);

struct PairLogps {
  at::Tensor logps;    // [2B] float32: chosen pairs, then rejected
  at::Tensor lengths;  // [2B] int64: completion tokens scored (IPO divides by them)
};

// Follows the caller's grad mode; runs under the run's compute dtype.
PairLogps pair_logps(model::LlamaForCausalLM& lm, const DpoBatch& b, at::Device device, ComputeDtype dtype);

// The summed completion log-probs of every pair of `ds` under `lm`, in order: [N,2] float32
// on the CPU (chosen, rejected). No gradients; batches of similar lengths.
at::Tensor all_pair_logps(model::LlamaForCausalLM& lm, const data::PreferenceDataset& ds, int64_t batch_size,
                          int64_t pad_id, at::Device device, ComputeDtype dtype, bool shared_prompt);

// TRL's held-out figures (eval/rewards/accuracies, margins, chosen, rejected, eval/logps/*)
// from the pairs' policy and reference log-probs ([N,2] each, as all_pair_logps gives).
Metrics dpo_heldout_metrics(const at::Tensor& policy, const at::Tensor& reference, double beta);

}  // namespace fw::trainer
