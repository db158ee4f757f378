// DecodeBatch (continuous batching): a sequence that joins a running batch generates what
// it generates alone (greedy, and seeded sampling), whatever its batch-mates' settings;
// sequences leave when they end or are cancelled; bad specs are refused before anything
// changes.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <map>

#include "core/error.h"
#include "rollout/decode_batch.h"
#include "rollout/generate.h"
#include "tests/unit/model/tiny_models.h"

namespace {
using namespace fw;

const std::vector<std::vector<int64_t>> kPrompts = {{5, 9, 2, 44, 7}, {13, 1}, {8, 8, 30}, {60, 3, 3, 17, 21, 9, 2}};

rollout::SequenceSpec spec(const std::vector<int64_t>& prompt, int64_t n, double temperature = 0, uint64_t seed = 0) {
  return {.prompt = prompt, .max_new_tokens = n, .sampling = {.temperature = temperature}, .seed = seed,
          .stop_strings = {}, .top_logprobs = -1};
}

// Steps until every sequence ended; the generations by handle.
std::map<int64_t, rollout::Generation> drain(rollout::DecodeBatch& batch) {
  std::map<int64_t, rollout::Generation> out;
  while (batch.live() > 0)
    for (auto& [h, g] : batch.step()) out[h] = std::move(g);
  return out;
}

TEST(DecodeBatch, ASequenceJoiningMidwayGeneratesWhatItGeneratesAlone) {
  auto lm = fw::testing::tiny_lm(fw::testing::tiny_config(), 1);
  rollout::DecodeBatch batch(lm, {}, 0, nullptr);
  const auto first = batch.add({spec(kPrompts[0], 12), spec(kPrompts[3], 4)});
  std::map<int64_t, rollout::Generation> got;
  for (int i = 0; i < 5; ++i)
    for (auto& [h, g] : batch.step()) got[h] = std::move(g);
  EXPECT_EQ(got.count(first[1]), 1u) << "the 4-token sequence ended and left";
  EXPECT_EQ(batch.live(), 1);
  const auto later = batch.add({spec(kPrompts[1], 10), spec(kPrompts[2], 8)});  // longer and shorter prompts
  EXPECT_EQ(batch.live(), 3);
  for (auto& [h, g] : drain(batch)) got[h] = std::move(g);
  const rollout::GenerateOptions greedy{.max_new_tokens = 12, .sampling = {.temperature = 0.0}};
  auto alone = [&](const std::vector<int64_t>& p, int64_t n) {
    auto o = greedy;
    o.max_new_tokens = n;
    return rollout::generate(lm, {p}, o)[0].tokens;
  };
  EXPECT_EQ(got[first[0]].tokens, alone(kPrompts[0], 12));
  EXPECT_EQ(got[first[1]].tokens, alone(kPrompts[3], 4));
  EXPECT_EQ(got[later[0]].tokens, alone(kPrompts[1], 10));
  EXPECT_EQ(got[later[1]].tokens, alone(kPrompts[2], 8));
  EXPECT_STREQ(got[later[0]].finish_reason(), "length");
}

// A batch that never empties (a new sequence every few steps, each living 6 steps) keeps
// its cache to what the live sequences use: the slots of those that left are dropped.
TEST(DecodeBatch, ABusyBatchDoesNotGrowItsCache) {
  auto lm = fw::testing::tiny_lm(fw::testing::tiny_config(), 4);
  rollout::DecodeBatch batch(lm, {}, 0, nullptr);
  std::map<int64_t, size_t> prompt_of;
  std::map<int64_t, rollout::Generation> got;
  int64_t most = 0;
  for (int step = 0; step < 60; ++step) {
    if (step % 3 == 0) {
      const size_t p = static_cast<size_t>(step / 3) % kPrompts.size();
      prompt_of[batch.add({spec(kPrompts[p], 6)})[0]] = p;
    }
    for (auto& [h, g] : batch.step()) got[h] = std::move(g);
    most = std::max(most, batch.filled_slots());
  }
  for (auto& [h, g] : drain(batch)) got[h] = std::move(g);
  // The longest prompt (7) plus the oldest live sequence's age (< 6) plus a joiner's prompt.
  EXPECT_LE(most, 7 + 6 + 7) << "the cache grew with the batch's age";
  const rollout::GenerateOptions greedy{.max_new_tokens = 6, .sampling = {.temperature = 0.0}};
  for (const auto& [h, p] : prompt_of) EXPECT_EQ(got[h].tokens, rollout::generate(lm, {kPrompts[p]}, greedy)[0].tokens) << h;
}

TEST(DecodeBatch, SeededSamplesDoNotDependOnBatchMatesOrTheirSettings) {
  auto lm = fw::testing::tiny_lm(fw::testing::tiny_config(), 2);
  rollout::DecodeBatch alone(lm, {}, 0, nullptr);
  const int64_t h = alone.add({spec(kPrompts[2], 10, 0.9, 77)})[0];
  const auto want = drain(alone)[h].tokens;

  rollout::DecodeBatch mixed(lm, {}, 0, nullptr);
  mixed.add({spec(kPrompts[0], 16, 0.0), spec(kPrompts[1], 16, 1.5, 3)});
  mixed.step();
  mixed.step();
  auto hot = spec(kPrompts[2], 10, 0.9, 77);
  hot.top_logprobs = 3;
  const auto handles = mixed.add({hot, spec(kPrompts[2], 10, 0.9, 78)});
  auto got = drain(mixed);
  EXPECT_EQ(got[handles[0]].tokens, want);
  EXPECT_NE(got[handles[1]].tokens, want) << "another seed samples something else";
  ASSERT_EQ(got[handles[0]].top_alternatives.size(), want.size());
  EXPECT_EQ(got[handles[0]].top_alternatives[0].size(), 3u);
  EXPECT_TRUE(got[handles[1]].raw_logprobs.empty()) << "log-probs only where asked";
}

TEST(DecodeBatch, CancellingLeavesTheOthersAndBadSpecsChangeNothing) {
  auto lm = fw::testing::tiny_lm(fw::testing::tiny_config(), 3);
  rollout::DecodeBatch batch(lm, {}, 0, nullptr);
  const auto h = batch.add({spec(kPrompts[0], 10), spec(kPrompts[1], 10)});
  std::map<int64_t, rollout::Generation> got;
  while (batch.live() > 0)
    for (auto& [k, g] : batch.step([&](int64_t handle, const rollout::Generation& g) {
           return !(handle == h[0] && g.tokens.size() == 2);
         }))
      got[k] = std::move(g);
  EXPECT_TRUE(got[h[0]].cancelled);
  EXPECT_EQ(got[h[0]].tokens.size(), 2u);
  EXPECT_EQ(got[h[1]].tokens.size(), 10u);

  batch.add({spec(kPrompts[2], 5)});
  auto bad = spec(kPrompts[3], 5);
  bad.stop_strings = {"x"};  // without a detokenize function
  EXPECT_THROW(batch.add({spec(kPrompts[0], 5), bad}), Error);
  EXPECT_THROW(batch.add({spec({}, 5)}), Error);
  EXPECT_THROW(batch.add({spec(kPrompts[0], 0)}), Error);
  EXPECT_EQ(batch.live(), 1);
}

}  // namespace
