// The model on CUDA agrees with the CPU: fp32 logits, KV-cache decoding, bf16 within its
// precision, and greedy generation.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <ATen/Context.h>

#include "model/kv_cache.h"
#include "rollout/generate.h"
#include "tiny_models.h"

namespace {

#define REQUIRE_CUDA()                                                   \
  if (!at::globalContext().hasCUDA()) GTEST_SKIP() << "no CUDA device: gpu test skipped"

double max_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kCPU, at::kFloat) - b.to(at::kCPU, at::kFloat)).abs().max().item<double>();
}

TEST(Cuda, Fp32LogitsMatchCpu) {
  REQUIRE_CUDA();
  at::globalContext().setAllowTF32CuBLAS(false);
  auto c = fw::testing::tiny_config();
  auto lm = fw::testing::tiny_lm(c, 11);
  at::NoGradGuard g;
  at::Tensor ids = at::randint(0, c.vocab_size, {3, 33}, at::kLong);
  at::Tensor cpu = lm->forward(ids);
  lm->to(at::kCUDA);
  EXPECT_LT(max_diff(lm->forward(ids.to(at::kCUDA)), cpu), 1e-4);
}

TEST(Cuda, KvCacheDecodingMatchesFullForward) {
  REQUIRE_CUDA();
  at::globalContext().setAllowTF32CuBLAS(false);
  auto c = fw::testing::tiny_config();
  auto lm = fw::testing::tiny_lm(c, 12);
  lm->to(at::kCUDA);
  at::NoGradGuard g;
  at::Tensor ids = at::randint(0, c.vocab_size, {2, 20}, at::TensorOptions().dtype(at::kLong).device(at::kCUDA));
  fw::model::KVCache cache(c, 2, 20, at::kFloat, at::kCUDA);
  std::vector<at::Tensor> parts = {lm->forward(ids.narrow(1, 0, 12), {.cache = &cache})};
  for (int64_t t = 12; t < 20; ++t) parts.push_back(lm->forward(ids.narrow(1, t, 1), {.cache = &cache}));
  EXPECT_LT(max_diff(at::cat(parts, 1), lm->forward(ids)), 1e-4);
}

TEST(Cuda, Bf16TracksFp32) {
  REQUIRE_CUDA();
  auto c = fw::testing::tiny_config();
  auto lm = fw::testing::tiny_lm(c, 13);
  lm->to(at::kCUDA);
  at::NoGradGuard g;
  at::Tensor ids = at::randint(0, c.vocab_size, {2, 16}, at::TensorOptions().dtype(at::kLong).device(at::kCUDA));
  at::Tensor ref = lm->forward(ids);
  lm->to(at::kBFloat16);
  EXPECT_LT(max_diff(lm->forward(ids), ref), 0.1 * ref.abs().max().item<double>());
}

TEST(Cuda, GreedyGenerationMatchesCpu) {
  REQUIRE_CUDA();
  at::globalContext().setAllowTF32CuBLAS(false);
  auto c = fw::testing::tiny_config();
  auto lm = fw::testing::tiny_lm(c, 14);
  std::vector<std::vector<int64_t>> prompts = {{1, 5, 9, 3}, {7, 2}, {4, 4, 4, 4, 4, 4}};
  auto cpu = fw::rollout::generate(lm, prompts, {.max_new_tokens = 16});
  lm->to(at::kCUDA);
  auto gpu = fw::rollout::generate(lm, prompts, {.max_new_tokens = 16});
  for (size_t i = 0; i < prompts.size(); ++i) EXPECT_EQ(gpu[i].tokens, cpu[i].tokens) << i;
}

}  // namespace
