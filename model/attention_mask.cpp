#include "model/attention_mask.h"

#include <ATen/ATen.h>

namespace fw::model {
namespace {

// [T,S] causal (and windowed) pattern for queries at slots offset..offset+T-1.
at::Tensor causal_pattern(int64_t offset, int64_t T, int64_t S, int64_t window, at::Device device) {
  auto opts = at::TensorOptions().dtype(at::kLong).device(device);
  at::Tensor q = at::arange(offset, offset + T, opts).unsqueeze(1);  // [T,1]
  at::Tensor k = at::arange(0, S, opts).unsqueeze(0);                // [1,S]
  at::Tensor allowed = k <= q;
  if (window > 0) allowed = allowed.logical_and(q - k < window);
  return allowed;
}

at::Tensor self_pattern(int64_t offset, int64_t T, int64_t S, at::Device device) {
  auto opts = at::TensorOptions().dtype(at::kLong).device(device);
  return at::arange(offset, offset + T, opts).unsqueeze(1) == at::arange(0, S, opts).unsqueeze(0);
}

}  // namespace

at::Tensor causal_padding_mask(const at::Tensor& key_valid, int64_t offset, int64_t T, int64_t window) {
  const int64_t S = key_valid.size(1);
  at::Tensor allowed = causal_pattern(offset, T, S, window, key_valid.device()).unsqueeze(0)
                           .logical_and(key_valid.unsqueeze(1));  // [B,T,S]
  allowed = allowed.logical_or(self_pattern(offset, T, S, key_valid.device()).unsqueeze(0));
  return allowed.unsqueeze(1);
}

at::Tensor document_causal_mask(const at::Tensor& segment_ids, int64_t window, bool shared_prefix) {
  const int64_t T = segment_ids.size(1);
  at::Tensor same_doc = segment_ids.unsqueeze(2) == segment_ids.unsqueeze(1);  // [B,T,T]
  if (shared_prefix)  // query in a segment > 0, key in segment 0
    same_doc = same_doc.logical_or((segment_ids.unsqueeze(2) > 0).logical_and(segment_ids.unsqueeze(1) == 0));
  at::Tensor allowed = same_doc.logical_and(causal_pattern(0, T, T, window, segment_ids.device()).unsqueeze(0));
  return allowed.unsqueeze(1);
}

}  // namespace fw::model
