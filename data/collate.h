// Micro-batch -> tensors. Packed rows carry segment ids and positions that restart at
// each example, so attention never crosses examples (model/attention_mask.h) and the
// loss equals that of the examples run one by one. Unpacked rows are right-padded:
// with causal attention the padding after a sequence cannot affect it, so no mask is
// needed.
#pragma once

#include <ATen/Tensor.h>

#include "data/batching.h"
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

}  // namespace fw::data
