// Logits only where a label is set. The decoder runs over every position (the context
// needs it), but the LM head (hidden -> vocab: for a 32k vocabulary a fifth of a 100M
// model's FLOPs, and the largest activation) runs only at the positions a loss reads —
// SFT's trainable tokens, DPO's completion tokens — never at prompt or padding positions.
// Same losses and gradients as the head over every position, less work and memory.
#pragma once

#include <string>

#include "model/llama.h"
#include "trainer/recipe_sections.h"

namespace fw::trainer {

struct LabelledLogits {
  at::Tensor logits;  // [N,V]: one row per labelled position, in row-major (b, t) order
  at::Tensor labels;  // [N] int64: the label of each of those positions
  at::Tensor rows;    // [N] int64: the batch row b each position belongs to
  int64_t num_rows = 0;
};

// input_ids, labels [B,T] (labels: kIgnoreIndex where nothing is read); the forward runs
// under the run's compute dtype (bf16 autocast or none).
LabelledLogits labelled_logits(model::LlamaForCausalLM& lm, const at::Tensor& input_ids, const at::Tensor& labels,
                               const model::ForwardOptions& opts, at::Device device, ComputeDtype dtype);

// [B] float32: each row's summed log-probability of its labels (losses::sequence_logps of
// the full logits, computed from labelled_logits).
at::Tensor labelled_sequence_logps(const LabelledLogits& l);

}  // namespace fw::trainer
