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

// One row per pair, the prompt shared by both completions: what a DPO forward needs,
// with the prompt computed once instead of twice and no row padded to the other half's
// length. A row of a pair with prompt p_0..p_{P-1} is
//
//   p_0 .. p_{P-2} | p_{P-1} c_0 .. c_{n-1} | p_{P-1} r_0 .. r_{m-1} | padding
//   segment 0        segment 1                 segment 2                 segment -1
//   positions 0..P-2 P-1 .. P-1+n              P-1 .. P-1+m              (continuing)
//
// (the last prompt token is repeated, so that both first completion tokens have a
// position that predicts them). With model::ForwardOptions{.segment_ids, .position_ids,
// .shared_prefix = true}, segments 1 and 2 each see segment 0 and themselves, so every
// position computes exactly what it would in its own row of collate_preference.
struct PreferencePairRows {
  at::Tensor input_ids;       // [B,T] int64
  at::Tensor position_ids;    // [B,T] int64
  at::Tensor segment_ids;     // [B,T] int64: 0 shared prompt, 1 chosen, 2 rejected, -1 padding
  at::Tensor labels;          // [B,T] int64: the next token where it is a completion token, else -100
  at::Tensor sequence_index;  // [B,T] int64: b for a labelled chosen position, B + b for a
                              // rejected one, -1 elsewhere (the layout of collate_preference)
  at::Tensor margin;          // [B] float32
  int64_t num_tokens = 0;     // real tokens of the 2B sequences (prompt counted twice), as
                              // collate_preference counts them
  int64_t num_positions = 0;  // non-padding positions actually computed
  int64_t num_completion = 0;
};
PreferencePairRows collate_preference_pairs(const std::vector<PreferenceExample>& examples, const MicroBatch& batch,
                                            int64_t pad_id);

}  // namespace fw::data
