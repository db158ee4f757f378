// Boolean attention masks for scaled_dot_product_attention (true = may attend).
// Queries are the T new tokens at cache slots [offset, offset + T); keys are slots
// [0, S). Every query may always attend to itself, so rows of padding tokens are never
// empty (an all-false row would make SDPA produce NaN); padding outputs are ignored.
#pragma once

#include <ATen/Tensor.h>

namespace fw::model {

// key_valid [B,S] bool -> [B,1,T,S]: causal, real keys only, and (window > 0) only keys
// with q - k < window.
at::Tensor causal_padding_mask(const at::Tensor& key_valid, int64_t offset, int64_t T, int64_t window);

// segment_ids [B,T] (packed rows: one id per document) -> [B,1,T,T]: causal within a
// document, nothing across documents; window as above (on slot distance). shared_prefix:
// the tokens of segment 0 are also visible (causally) to every token of a segment > 0.
at::Tensor document_causal_mask(const at::Tensor& segment_ids, int64_t window, bool shared_prefix = false);

}  // namespace fw::model
