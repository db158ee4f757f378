#include "data/collate.h"

#include <ATen/ATen.h>

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

}  // namespace fw::data
