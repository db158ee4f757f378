// KV-cache decoding equals a full forward at every step, with prompts of mixed lengths
// (left padding) in one batch, with and without a sliding window.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include "model/kv_cache.h"
#include "tiny_models.h"

namespace {
using namespace fw::model;

void check_cache_matches_full_forward(const LlamaConfig& c) {
  auto lm = fw::testing::tiny_lm(c, 3);
  at::NoGradGuard g;
  const std::vector<int64_t> lens = {9, 3, 6};
  const int64_t B = 3, L = 9, steps = 12;
  at::Tensor tokens = at::randint(0, c.vocab_size, {B, L + steps}, at::kLong);
  // Left-pad: row b holds its prompt in the last lens[b] prompt columns.
  at::Tensor mask = at::zeros({B, L + steps}, at::kLong);
  for (int64_t b = 0; b < B; ++b) mask[b].narrow(0, L - lens[b], lens[b] + steps).fill_(1);
  at::Tensor pos = (mask.cumsum(1) - 1).clamp_min(0);

  KVCache cache(c, B, L + steps, at::kFloat, at::kCPU);
  at::Tensor h = lm->model->forward(tokens.narrow(1, 0, L),
                                    {.position_ids = pos.narrow(1, 0, L), .attention_mask = mask.narrow(1, 0, L), .cache = &cache});
  std::vector<at::Tensor> incremental = {lm->logits(h.narrow(1, L - 1, 1))};
  for (int64_t s = 0; s < steps - 1; ++s) {
    h = lm->model->forward(tokens.narrow(1, L + s, 1), {.position_ids = pos.narrow(1, L + s, 1), .cache = &cache});
    incremental.push_back(lm->logits(h));
  }
  // The full forward over the same (padded) sequence, without a cache.
  at::Tensor full = lm->forward(tokens, {.position_ids = pos, .attention_mask = mask});
  for (int64_t s = 0; s < steps; ++s) {
    at::Tensor want = full.narrow(1, L - 1 + s, 1);
    EXPECT_LT((incremental[s] - want).abs().max().item<double>(), 1e-5) << "step " << s;
  }
}

TEST(KVCache, DecodingEqualsFullForwardWithMixedPromptLengths) {
  check_cache_matches_full_forward(fw::testing::tiny_config());
}

TEST(KVCache, DecodingEqualsFullForwardWithSlidingWindow) {
  auto c = fw::testing::tiny_config();
  c.sliding_window = 5;
  c.sliding_window_layers = {0, 1};
  check_cache_matches_full_forward(c);
}

TEST(KVCache, UnpaddedPrefillThenDecodeMatches) {
  auto c = fw::testing::tiny_config();
  auto lm = fw::testing::tiny_lm(c, 4);
  at::NoGradGuard g;
  at::Tensor tokens = at::randint(0, c.vocab_size, {2, 10}, at::kLong);
  KVCache cache(c, 2, 10, at::kFloat, at::kCPU);
  at::Tensor a = lm->forward(tokens.narrow(1, 0, 4), {.cache = &cache});
  at::Tensor b = lm->forward(tokens.narrow(1, 4, 3), {.cache = &cache});  // chunked prefill
  at::Tensor d = lm->forward(tokens.narrow(1, 7, 1), {.cache = &cache});
  at::Tensor full = lm->forward(tokens.narrow(1, 0, 8));
  EXPECT_LT((at::cat({a, b, d}, 1) - full).abs().max().item<double>(), 1e-5);
  EXPECT_EQ(cache.length, 8);
  EXPECT_FALSE(cache.has_padding);
}

TEST(KVCache, SelectRowsKeepsTheChosenSequences) {
  auto c = fw::testing::tiny_config();
  auto lm = fw::testing::tiny_lm(c, 5);
  at::NoGradGuard g;
  at::Tensor tokens = at::randint(0, c.vocab_size, {3, 6}, at::kLong);
  KVCache cache(c, 3, 6, at::kFloat, at::kCPU);
  lm->forward(tokens.narrow(1, 0, 5), {.cache = &cache});
  cache.select_rows(at::tensor({2L, 0L}));
  at::Tensor next = lm->forward(tokens.index_select(0, at::tensor({2L, 0L})).narrow(1, 5, 1), {.cache = &cache});
  at::Tensor full = lm->forward(tokens.index_select(0, at::tensor({2L, 0L}))).narrow(1, 5, 1);
  EXPECT_LT((next - full).abs().max().item<double>(), 1e-5);
}

}  // namespace
