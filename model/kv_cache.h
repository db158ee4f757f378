// Key/value cache for incremental decoding. Allocated once per batch at its full length;
// each forward writes its new keys/values at [length, length + T) and attends to [0,
// length + T). key_valid marks real tokens, so left-padded prompts of different lengths
// share one batch.
#pragma once

#include <ATen/Tensor.h>

#include <memory>
#include <vector>

#include "model/llama_config.h"

namespace fw::model {

struct DecodeState;  // decode_step.h

struct KVCache {
  KVCache() = default;  // empty; merge_right_aligned fills one
  KVCache(const LlamaConfig& config, int64_t batch, int64_t capacity, at::ScalarType dtype, at::Device device);

  std::vector<at::Tensor> keys;    // per layer [B,Hkv,S_max,D]
  std::vector<at::Tensor> values;  // per layer [B,Hkv,S_max,D]
  at::Tensor key_valid;            // [B,S_max] bool: slot holds a real (non-pad) token
  int64_t length = 0;              // slots filled so far
  bool has_padding = false;        // some filled slot is padding (a mask is needed)
  // The decode step's fused weights and RoPE table, built by its first call with this
  // cache: the weights cannot change while the cached keys are in use.
  std::shared_ptr<DecodeState> decode_state;

  int64_t batch() const { return key_valid.size(0); }
  int64_t capacity() const { return key_valid.size(1); }
  // Keeps only the batch rows in `rows` (int64 indices), e.g. to drop finished sequences.
  void select_rows(const at::Tensor& rows);
  // Drops the first n slots (padding in every row, e.g. left behind by sequences that
  // ended): length and capacity shrink by n. Positions are the rows' own, so nothing else
  // changes.
  void drop_leading_slots(int64_t n);
  // The number of leading slots that are padding in every row (<= length).
  int64_t leading_padding() const;
};

// Continuous batching: a's rows then b's in one cache of `capacity` slots, each side's
// filled slots moved right so both end at max(a.length, b.length) (the slots before them
// marked padding). Keeps a's decode_state (the same model's). a and b are unchanged (a
// failure leaves them usable); the caller replaces them.
KVCache merge_right_aligned(const KVCache& a, const KVCache& b, int64_t capacity);

}  // namespace fw::model
