// Batched generation: the KV-cache path equals recomputing everything, per-token
// log-probs equal a full forward's, seeds reproduce, stop strings and the repetition
// penalty act as documented.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>

#include <cmath>
#include <set>

#include "core/error.h"
#include "rollout/generate.h"
#include "tests/unit/model/tiny_models.h"

namespace {
using namespace fw;

const std::vector<std::vector<int64_t>> kPrompts = {{5, 9, 2, 44, 7}, {13, 1}, {8, 8, 30}, {60, 3, 3, 17, 21, 9, 2}};

// Greedy decoding without a cache: one full forward over prompt + generated per token.
std::vector<int64_t> greedy_without_cache(model::LlamaForCausalLM& lm, std::vector<int64_t> seq, int64_t n) {
  at::NoGradGuard no_grad;
  std::vector<int64_t> out;
  for (int64_t i = 0; i < n; ++i) {
    at::Tensor logits = lm->forward(at::tensor(seq, at::kLong).unsqueeze(0));
    const int64_t next = logits[0][-1].argmax().item<int64_t>();
    out.push_back(next);
    seq.push_back(next);
  }
  return out;
}

TEST(Generate, CacheEqualsRecomputingAndTemperatureZeroIsGreedy) {
  auto lm = fw::testing::tiny_lm(fw::testing::tiny_config(), 1);
  const auto gens = rollout::generate(lm, kPrompts, {.max_new_tokens = 12, .sampling = {.temperature = 0.0}});
  for (size_t i = 0; i < kPrompts.size(); ++i) {
    EXPECT_EQ(gens[i].tokens, greedy_without_cache(lm, kPrompts[i], 12)) << "prompt " << i;
    EXPECT_STREQ(gens[i].finish_reason(), "length");
  }
}

TEST(Generate, LogprobsEqualAFullForwardAtTheSampledTokens) {
  auto lm = fw::testing::tiny_lm(fw::testing::tiny_config(), 2);
  const double temperature = 0.8;
  const auto gens = rollout::generate(
      lm, kPrompts, {.max_new_tokens = 10, .sampling = {.temperature = temperature, .top_k = 20}, .seed = 3});
  at::NoGradGuard no_grad;
  for (size_t i = 0; i < kPrompts.size(); ++i) {
    std::vector<int64_t> seq = kPrompts[i];
    seq.insert(seq.end(), gens[i].tokens.begin(), gens[i].tokens.end());
    const at::Tensor logp = (lm->forward(at::tensor(seq, at::kLong).unsqueeze(0))[0] / temperature).log_softmax(-1);
    ASSERT_EQ(gens[i].logprobs.size(), gens[i].tokens.size());
    for (size_t t = 0; t < gens[i].tokens.size(); ++t) {
      const int64_t pos = static_cast<int64_t>(kPrompts[i].size() + t) - 1;  // predicts token t
      EXPECT_NEAR(gens[i].logprobs[t], logp[pos][gens[i].tokens[t]].item<double>(), 1e-4) << i << ":" << t;
    }
  }
}

TEST(Generate, SeededSamplingReproduces) {
  auto lm = fw::testing::tiny_lm(fw::testing::tiny_config(), 3);
  const rollout::GenerateOptions hot{.max_new_tokens = 16, .sampling = {.temperature = 1.0, .top_p = 0.95}, .seed = 42};
  const auto a = rollout::generate(lm, kPrompts, hot), b = rollout::generate(lm, kPrompts, hot);
  auto other = hot;
  other.seed = 43;
  const auto c = rollout::generate(lm, kPrompts, other);
  bool any_differs = false;
  for (size_t i = 0; i < kPrompts.size(); ++i) {
    EXPECT_EQ(a[i].tokens, b[i].tokens);
    EXPECT_EQ(a[i].logprobs, b[i].logprobs);
    any_differs = any_differs || a[i].tokens != c[i].tokens;
  }
  EXPECT_TRUE(any_differs) << "another seed should sample something else";
}

TEST(Generate, StopStringsEndASequenceWhereTheyAppear) {
  auto lm = fw::testing::tiny_lm(fw::testing::tiny_config(), 1);
  auto detok = [](const std::vector<int64_t>& ids) {
    std::string s;
    for (int64_t id : ids) s += static_cast<char>('a' + id % 26);
    return s;
  };
  rollout::GenerateOptions o{.max_new_tokens = 16, .sampling = {.temperature = 0.0}};
  const auto free_run = rollout::generate(lm, {kPrompts[0]}, o);
  const std::string text = detok(free_run[0].tokens);
  const std::string stop = text.substr(5, 2);  // first appears at or before position 5
  const size_t first = text.find(stop);
  o.stop_strings = {stop};
  o.detokenize = detok;
  const auto stopped = rollout::generate(lm, {kPrompts[0]}, o);
  EXPECT_TRUE(stopped[0].hit_stop_string);
  EXPECT_STREQ(stopped[0].finish_reason(), "stop");
  ASSERT_EQ(stopped[0].tokens.size(), first + stop.size());
  EXPECT_TRUE(std::equal(stopped[0].tokens.begin(), stopped[0].tokens.end(), free_run[0].tokens.begin()));

  o.detokenize = nullptr;
  EXPECT_THROW(rollout::generate(lm, {kPrompts[0]}, o), fw::Error);
}

TEST(Generate, RepetitionPenaltyChangesGreedyOutputDeterministically) {
  auto lm = fw::testing::tiny_lm(fw::testing::tiny_config(), 1);
  rollout::GenerateOptions o{.max_new_tokens = 24, .sampling = {.temperature = 0.0}};
  const auto plain = rollout::generate(lm, kPrompts, o);
  o.sampling.repetition_penalty = 1.8;
  const auto a = rollout::generate(lm, kPrompts, o), b = rollout::generate(lm, kPrompts, o);
  size_t repeats_plain = 0, repeats_penalised = 0;
  bool differs = false;
  for (size_t i = 0; i < kPrompts.size(); ++i) {
    EXPECT_EQ(a[i].tokens, b[i].tokens);
    differs = differs || a[i].tokens != plain[i].tokens;
    repeats_plain += plain[i].tokens.size() - std::set<int64_t>(plain[i].tokens.begin(), plain[i].tokens.end()).size();
    repeats_penalised += a[i].tokens.size() - std::set<int64_t>(a[i].tokens.begin(), a[i].tokens.end()).size();
  }
  EXPECT_TRUE(differs);
  EXPECT_LT(repeats_penalised, repeats_plain);
}

}  // namespace

// PPO with `dtype: bfloat16` on a CPU generates under CPU autocast: the decode step then
// packs nothing and takes its ATen path, so its products run in bfloat16 as the prefill's
// do (its float32 kernels refused the bfloat16 q/k/v before); generation runs to the end
// with finite log-probs, and the greedy tokens follow the model.
namespace {
TEST(Generate, RunsUnderCpuBfloat16Autocast) {
  auto lm = fw::testing::tiny_lm(fw::testing::tiny_config(), 4);
  const auto plain = rollout::generate(lm, kPrompts, {.max_new_tokens = 6, .sampling = {.temperature = 0.0}});
  at::autocast::set_autocast_dtype(at::kCPU, at::kBFloat16);
  at::autocast::set_autocast_enabled(at::kCPU, true);
  const auto gens = rollout::generate(lm, kPrompts, {.max_new_tokens = 6, .sampling = {.temperature = 0.0}});
  at::autocast::set_autocast_enabled(at::kCPU, false);
  at::autocast::clear_cache();
  size_t same = 0;
  for (size_t i = 0; i < kPrompts.size(); ++i) {
    ASSERT_EQ(gens[i].tokens.size(), 6u);
    for (float lp : gens[i].logprobs) EXPECT_TRUE(std::isfinite(lp) && lp <= 0.0f);
    same += gens[i].tokens == plain[i].tokens;
  }
  EXPECT_GE(same, kPrompts.size() / 2);  // bfloat16 rounding may flip a near tie, not most rows
}
}  // namespace

namespace {

// n samples of one prompt share its prefill: identical prompts in a batch generate what
// each generates alone (greedy).
TEST(Generate, IdenticalPromptsSharePrefillAndMatchSeparateRuns) {
  auto lm = fw::testing::tiny_lm(fw::testing::tiny_config(), 4);
  const rollout::GenerateOptions o{.max_new_tokens = 10, .sampling = {.temperature = 0.0}};
  const auto together = rollout::generate(lm, {kPrompts[0], kPrompts[1], kPrompts[0], kPrompts[0]}, o);
  const auto a = rollout::generate(lm, {kPrompts[0]}, o), b = rollout::generate(lm, {kPrompts[1]}, o);
  EXPECT_EQ(together[0].tokens, a[0].tokens);
  EXPECT_EQ(together[2].tokens, a[0].tokens);
  EXPECT_EQ(together[3].tokens, a[0].tokens);
  EXPECT_EQ(together[1].tokens, b[0].tokens);
}

}  // namespace
