// Micro-batch -> tensors. Packed rows carry segment ids and positions that restart at
// each example, so attention never crosses examples (model/attention_mask.h) and the
// loss equals that of the examples run one by one. Unpacked rows are right-padded:
// with causal attention the padding after a sequence cannot affect it, so no mask is
// needed.
#pragma once

#include <ATen/Tensor.h>

#include "data/batching.h"
#include "data/preference_dataset.h"
#include "data/sft_dataset.h"

namespace fw::data {

struct SftBatch {
  at::Tensor input_ids;     // [B,T] int64
  at::Tensor labels;        // [B,T] int64: next token to predict, -100 where not trained
  at::Tensor position_ids;  // [B,T] int64 (packed: restarting per example)
  at::Tensor segment_ids;   // [B,T] int64 (packed only; undefined otherwise)
  int64_t num_trainable = 0;
  int64_t num_tokens = 0;   // real (non-pad) tokens
};

// pad_id fills the padding. T = the longest row (packing pads every row to it too).
SftBatch collate_sft(const std::vector<SftExample>& examples, const MicroBatch& batch, bool packed, int64_t pad_id);

// Preference pairs for one forward pass: the chosen and the rejected sequence of every
// example in one right-padded batch (TRL's DataCollatorForPreference layout).
struct PreferenceBatch {
  at::Tensor input_ids;  // [2B,T] int64: row b = prompt + chosen of example b, row B+b =
                         // prompt + rejected of example b; right-padded with pad_id
  at::Tensor labels;     // [2B,T] int64: labels[r,t] = input_ids[r,t+1] where token t+1 is a
                         // completion token, -100 elsewhere (prompt, padding, last position)
  at::Tensor lengths;    // [2B] int64: real tokens per row (the last one is at lengths - 1,
                         // where a reward head reads its score)
  at::Tensor margin;     // [B] float32: the examples' margins (0 where absent)
  int64_t num_tokens = 0;       // real (non-pad) tokens, both halves
  int64_t num_completion = 0;   // labelled positions (completion tokens predicted), both halves
};

// batch: rows of exactly one example index each (no packing); throws fw::Error otherwise.
// T = the longest prompt + completion. losses::sequence_logps(logits, labels) then gives
// [2B] summed completion log-probs: chosen = the first B, rejected = the last B.
PreferenceBatch collate_preference(const std::vector<PreferenceExample>& examples, const MicroBatch& batch,
                                   int64_t pad_id);

}  // namespace fw::data
