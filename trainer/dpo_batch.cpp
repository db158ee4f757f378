#include "trainer/dpo_batch.h"

#include <ATen/ATen.h>

#include <algorithm>

#include "core/log.h"
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

PairLogps pair_logps(model::LlamaForCausalLM& lm, const DpoBatch& b, at::Device device, ComputeDtype dtype) {
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

at::Tensor all_pair_logps(model::LlamaForCausalLM& lm, const data::PreferenceDataset& ds, int64_t batch_size,
                          int64_t pad_id, at::Device device, ComputeDtype dtype, bool shared_prompt) {
  at::NoGradGuard no_grad;
  const int64_t n = static_cast<int64_t>(ds.examples.size());
  // Batches of similar lengths (longest first) waste less compute on padding.
  auto longest = [&](int64_t i) {
    const auto& e = ds.examples[static_cast<size_t>(i)];
    return e.prompt_ids.size() + std::max(e.chosen_ids.size(), e.rejected_ids.size());
  };
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[static_cast<size_t>(i)] = i;
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return longest(a) > longest(b); });
  at::Tensor out = at::empty({n, 2}, at::kFloat);
  for (int64_t start = 0; start < n; start += batch_size) {
    data::MicroBatch mb;
    for (int64_t k = start; k < std::min(n, start + batch_size); ++k) mb.push_back({order[static_cast<size_t>(k)]});
    at::Tensor lp =
        pair_logps(lm, collate_dpo(ds.examples, mb, pad_id, shared_prompt), device, dtype).logps.to(at::kCPU, at::kFloat);
    const int64_t B = static_cast<int64_t>(mb.size());
    const at::Tensor rows = at::tensor(std::vector<int64_t>(order.begin() + start, order.begin() + start + B), at::kLong);
    out.index_copy_(0, rows, at::stack({lp.narrow(0, 0, B), lp.narrow(0, B, B)}, 1));
  }
  return out;
}


bool shared_prompt_layout(const model::LlamaConfig& c, bool requested, int64_t max_seq_len) {
  const bool window_bites = c.sliding_window > 0 && !c.sliding_window_layers.empty() && c.sliding_window < 2 * max_seq_len;
  if (requested && window_bites)
    log::info("dpo.shared_prompt: off for this model (sliding window of " + std::to_string(c.sliding_window) +
              " tokens); two padded rows per pair");
  return requested && !window_bites;
}

// Does the implicit reward (β · log-ratio) rank chosen first, and by how much.
Metrics dpo_heldout_metrics(const at::Tensor& pol, const at::Tensor& ref, double beta) {
  const at::Tensor chosen = beta * (pol.select(1, 0) - ref.select(1, 0));
  const at::Tensor rejected = beta * (pol.select(1, 1) - ref.select(1, 1));
  const at::Tensor margin = chosen - rejected;
  const double acc = (margin > 0).to(at::kFloat).mean().item<double>();
  log::info("eval: rewards/accuracies " + std::to_string(acc) + ", margin " + std::to_string(margin.mean().item<double>()) +
            " on " + std::to_string(pol.size(0)) + " held-out pairs");
  return {{"eval/rewards/accuracies", acc}, {"eval/rewards/margins", margin.mean().item<double>()},
          {"eval/rewards/chosen", chosen.mean().item<double>()}, {"eval/rewards/rejected", rejected.mean().item<double>()},
          {"eval/logps/chosen", pol.select(1, 0).mean().item<double>()},
          {"eval/logps/rejected", pol.select(1, 1).mean().item<double>()}};
}

}  // namespace fw::trainer
