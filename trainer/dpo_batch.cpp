#include "trainer/dpo_batch.h"

#include <ATen/ATen.h>

#include "losses/logprobs.h"
#include "losses/sft.h"
#include "trainer/labelled_logits.h"

namespace fw::trainer {

DpoBatch collate_dpo(const std::vector<data::PreferenceExample>& examples, const data::MicroBatch& batch,
                     int64_t pad_id, bool shared_prompt) {
  DpoBatch b;
  b.pairs = static_cast<int64_t>(batch.size());
  if (shared_prompt) {
    b.shared_prompt = data::collate_preference_pairs(examples, batch, pad_id);
    b.num_tokens = b.shared_prompt->num_tokens;
  } else {
    b.two_rows = data::collate_preference(examples, batch, pad_id);
    b.num_tokens = b.two_rows->num_tokens;
  }
  return b;
}

PairLogps pair_logps(model::LlamaForCausalLM& lm, const DpoBatch& b, at::Device device, const std::string& dtype) {
  PairLogps out;
  if (b.two_rows) {
    out.logps = labelled_sequence_logps(labelled_logits(lm, b.two_rows->input_ids, b.two_rows->labels, {}, device, dtype));
    out.lengths = losses::scored_lengths(b.two_rows->labels).to(device);
    return out;
  }
  const data::PreferencePairRows& p = *b.shared_prompt;
  LabelledLogits l = labelled_logits(
      lm, p.input_ids, p.labels,
      {.position_ids = p.position_ids.to(device), .segment_ids = p.segment_ids.to(device), .shared_prefix = true},
      device, dtype);
  // Each labelled position belongs to a sequence (chosen b or rejected B + b), not a row.
  const at::Tensor labelled = p.labels.reshape({-1}) != losses::kIgnoreIndex;
  l.rows = p.sequence_index.reshape({-1}).masked_select(labelled).to(device);
  l.num_rows = 2 * b.pairs;
  out.logps = labelled_sequence_logps(l);
  out.lengths = at::bincount(l.rows, {}, l.num_rows);
  return out;
}

}  // namespace fw::trainer
