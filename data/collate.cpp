#include "data/collate.h"

#include <ATen/ATen.h>

#include "core/error.h"

namespace fw::data {

SftBatch collate_sft(const std::vector<SftExample>& examples, const MicroBatch& batch, bool packed, int64_t pad_id) {
  constexpr int64_t kIgnore = -100;
  const int64_t B = static_cast<int64_t>(batch.size());
  int64_t T = 1;
  for (const Row& row : batch) {
    int64_t len = 0;
    for (int64_t i : row) len += static_cast<int64_t>(examples[i].ids.size());
    T = std::max(T, len);
  }
  std::vector<int64_t> ids(B * T, pad_id), labels(B * T, kIgnore), pos(B * T, 0), seg(B * T, -1);
  SftBatch out;
  for (int64_t b = 0; b < B; ++b) {
    int64_t t = b * T;
    int64_t segment = 0;
    for (int64_t i : batch[b]) {
      const SftExample& ex = examples[i];
      const int64_t n = static_cast<int64_t>(ex.ids.size());
      for (int64_t k = 0; k < n; ++k, ++t) {
        ids[t] = ex.ids[k];
        pos[t] = k;
        seg[t] = segment;
        // Position k predicts token k+1 of the same example; the last token of an
        // example predicts nothing (the next example is not its continuation).
        if (k + 1 < n && ex.train_mask[k + 1]) {
          labels[t] = ex.ids[k + 1];
          ++out.num_trainable;
        }
      }
      out.num_tokens += n;
      ++segment;
    }
    // Padding continues the positions (keeps them in range) in its own segment.
    for (int64_t k = t - b * T; t < (b + 1) * T; ++t, ++k) pos[t] = k;
  }
  auto opts = at::TensorOptions().dtype(at::kLong);
  out.input_ids = at::tensor(ids, opts).view({B, T});
  out.labels = at::tensor(labels, opts).view({B, T});
  out.position_ids = at::tensor(pos, opts).view({B, T});
  if (packed) out.segment_ids = at::tensor(seg, opts).view({B, T});
  return out;
}

PreferenceBatch collate_preference(const std::vector<PreferenceExample>& examples, const MicroBatch& batch,
                                   int64_t pad_id) {
  constexpr int64_t kIgnore = -100;
  const int64_t B = static_cast<int64_t>(batch.size());
  if (B == 0) throw_invalid("collate_preference: empty micro-batch");
  std::vector<const PreferenceExample*> exs;
  int64_t T = 1;
  for (const Row& row : batch) {
    if (row.size() != 1)
      throw_invalid("collate_preference: each row must hold exactly one example (preference pairs are not packed)",
                    {.hint = "plan the epoch with packing off"});
    const int64_t i = row[0];
    if (i < 0 || i >= static_cast<int64_t>(examples.size()))
      throw_invalid("collate_preference: example index " + std::to_string(i) + " out of range");
    const PreferenceExample& ex = examples[static_cast<size_t>(i)];
    exs.push_back(&ex);
    const size_t longer = std::max(ex.chosen_ids.size(), ex.rejected_ids.size());
    T = std::max(T, static_cast<int64_t>(ex.prompt_ids.size() + longer));
  }
  std::vector<int64_t> ids(2 * B * T, pad_id), labels(2 * B * T, kIgnore), lengths(2 * B, 0);
  std::vector<float> margin(B, 0.0f);
  PreferenceBatch out;
  auto fill = [&](int64_t r, const std::vector<int32_t>& prompt, const std::vector<int32_t>& completion) {
    const int64_t p = static_cast<int64_t>(prompt.size());
    const int64_t n = p + static_cast<int64_t>(completion.size());
    auto token = [&](int64_t k) -> int64_t { return k < p ? prompt[k] : completion[k - p]; };
    for (int64_t k = 0; k < n; ++k) {
      ids[r * T + k] = token(k);
      // Position k predicts token k+1; only completion tokens are labelled.
      if (k + 1 < n && k + 1 >= p) {
        labels[r * T + k] = token(k + 1);
        ++out.num_completion;
      }
    }
    lengths[r] = n;
    out.num_tokens += n;
  };
  for (int64_t b = 0; b < B; ++b) {
    fill(b, exs[b]->prompt_ids, exs[b]->chosen_ids);
    fill(B + b, exs[b]->prompt_ids, exs[b]->rejected_ids);
    margin[b] = static_cast<float>(exs[b]->margin);
  }
  auto opts = at::TensorOptions().dtype(at::kLong);
  out.input_ids = at::tensor(ids, opts).view({2 * B, T});
  out.labels = at::tensor(labels, opts).view({2 * B, T});
  out.lengths = at::tensor(lengths, opts);
  out.margin = at::tensor(margin, at::TensorOptions().dtype(at::kFloat));
  return out;
}

PreferencePairRows collate_preference_pairs(const std::vector<PreferenceExample>& examples, const MicroBatch& batch,
                                            int64_t pad_id) {
  constexpr int64_t kIgnore = -100;
  const int64_t B = static_cast<int64_t>(batch.size());
  if (B == 0) throw_invalid("collate_preference_pairs: empty micro-batch");
  std::vector<const PreferenceExample*> exs;
  int64_t T = 1;
  for (const Row& row : batch) {
    if (row.size() != 1)
      throw_invalid("collate_preference_pairs: each row must hold exactly one example",
                    {.hint = "plan the epoch with packing off"});
    const int64_t i = row[0];
    if (i < 0 || i >= static_cast<int64_t>(examples.size()))
      throw_invalid("collate_preference_pairs: example index " + std::to_string(i) + " out of range");
    const PreferenceExample& ex = examples[static_cast<size_t>(i)];
    exs.push_back(&ex);
    const int64_t shared = std::max<int64_t>(0, static_cast<int64_t>(ex.prompt_ids.size()) - 1);
    const int64_t head = ex.prompt_ids.empty() ? 0 : 1;  // the repeated last prompt token
    T = std::max(T, shared + 2 * head + static_cast<int64_t>(ex.chosen_ids.size() + ex.rejected_ids.size()));
  }
  std::vector<int64_t> ids(B * T, pad_id), pos(B * T, 0), seg(B * T, -1), labels(B * T, kIgnore), index(B * T, -1);
  std::vector<float> margin(B, 0.0f);
  PreferencePairRows out;
  for (int64_t b = 0; b < B; ++b) {
    const PreferenceExample& ex = *exs[b];
    const int64_t P = static_cast<int64_t>(ex.prompt_ids.size());
    int64_t t = 0;
    for (int64_t k = 0; k + 1 < P; ++k, ++t) {  // segment 0: the prompt but its last token
      ids[b * T + t] = ex.prompt_ids[k];
      pos[b * T + t] = k;
      seg[b * T + t] = 0;
    }
    // Segments 1 and 2: the last prompt token, then the completion; element e predicts e+1.
    auto completion = [&](const std::vector<int32_t>& c, int64_t segment, int64_t sequence) {
      std::vector<int64_t> part;
      if (P > 0) part.push_back(ex.prompt_ids[P - 1]);
      part.insert(part.end(), c.begin(), c.end());
      const int64_t start = std::max<int64_t>(0, P - 1);
      for (size_t e = 0; e < part.size(); ++e, ++t) {
        ids[b * T + t] = part[e];
        pos[b * T + t] = start + static_cast<int64_t>(e);
        seg[b * T + t] = segment;
        if (e + 1 < part.size()) {
          labels[b * T + t] = part[e + 1];
          index[b * T + t] = sequence;
          ++out.num_completion;
        }
      }
    };
    completion(ex.chosen_ids, 1, b);
    completion(ex.rejected_ids, 2, B + b);
    out.num_positions += t;
    out.num_tokens += 2 * P + static_cast<int64_t>(ex.chosen_ids.size() + ex.rejected_ids.size());
    for (int64_t k = t; k < T; ++k) pos[b * T + k] = k;  // padding: in range, its own segment
    margin[b] = static_cast<float>(ex.margin);
  }
  auto opts = at::TensorOptions().dtype(at::kLong);
  out.input_ids = at::tensor(ids, opts).view({B, T});
  out.position_ids = at::tensor(pos, opts).view({B, T});
  out.segment_ids = at::tensor(seg, opts).view({B, T});
  out.labels = at::tensor(labels, opts).view({B, T});
  out.sequence_index = at::tensor(index, opts).view({B, T});
  out.margin = at::tensor(margin, at::TensorOptions().dtype(at::kFloat));
  return out;
}

}  // namespace fw::data
