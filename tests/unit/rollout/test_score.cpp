// Scoring given responses: log-probs, entropies, values and sequence scores equal what a
// full forward over each row alone gives at the same positions; sub-batches equal
// batches built from the same rows; the sampled log-probs of generate() agree.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include "core/error.h"
#include "rollout/generate.h"
#include "rollout/score.h"
#include "tests/unit/model/tiny_models.h"

namespace {
using namespace fw;

const std::vector<std::vector<int64_t>> kPrompts = {{5, 9, 2, 44, 7}, {13, 1}, {8, 8, 30}};
const std::vector<std::vector<int64_t>> kResponses = {{3, 4}, {20, 21, 22, 23, 24}, {6}};
constexpr int64_t kPad = 0;

std::vector<int64_t> joined(size_t i) {
  std::vector<int64_t> seq = kPrompts[i];
  seq.insert(seq.end(), kResponses[i].begin(), kResponses[i].end());
  return seq;
}

TEST(ResponseBatch, LayoutIsRightPaddedPromptThenResponse) {
  const rollout::ResponseBatch b = rollout::make_response_batch(kPrompts, kResponses, kPad);
  EXPECT_EQ(b.rows, 3);
  EXPECT_EQ(b.max_response, 5);
  EXPECT_EQ(b.input_ids.sizes(), (at::IntArrayRef{3, 7}));
  EXPECT_EQ(b.input_ids[1][6].item<int64_t>(), 24);
  EXPECT_EQ(b.input_ids[2][4].item<int64_t>(), kPad);
  EXPECT_TRUE(at::equal(b.lengths, at::tensor({7, 7, 4}, at::kLong)));
  EXPECT_TRUE(at::equal(b.response_mask.sum(1), at::tensor({2, 5, 1}, at::kLong)));
  // Token j of row b is predicted at b*T + P_b + j - 1.
  EXPECT_EQ(b.flat_positions[0].item<int64_t>(), 4);
  EXPECT_EQ(b.flat_positions[2].item<int64_t>(), 7 + 1);
  EXPECT_EQ(b.flat_index[2].item<int64_t>(), 5);
  EXPECT_THROW(rollout::make_response_batch(kPrompts, {{1}, {}, {2}}, kPad), Error);
  EXPECT_THROW(rollout::make_response_batch(kPrompts, {{1}}, kPad), Error);
}

TEST(ResponseScoring, EqualsAFullForwardOfEachRowAlone) {
  auto lm = fw::testing::tiny_lm(fw::testing::tiny_config(), 4);
  auto vm = fw::testing::tiny_score_model(5);
  const double temperature = 0.7;
  const rollout::ResponseBatch b = rollout::make_response_batch(kPrompts, kResponses, kPad);
  at::NoGradGuard no_grad;
  const rollout::ResponseLogprobs lp = rollout::response_logprobs(lm, b, temperature, /*with_entropy=*/true);
  const at::Tensor values = rollout::response_values(vm, b);
  const at::Tensor scores = rollout::sequence_scores(vm, b);
  for (size_t i = 0; i < kPrompts.size(); ++i) {
    const at::Tensor ids = at::tensor(joined(i), at::kLong).unsqueeze(0);
    const at::Tensor logp = (lm->forward(ids)[0] / temperature).log_softmax(-1);  // [T,V]
    const at::Tensor v = vm->forward(ids)[0].select(-1, 0);                    // [T]
    const int64_t P = static_cast<int64_t>(kPrompts[i].size());
    for (size_t j = 0; j < kResponses[i].size(); ++j) {
      const int64_t pos = P + static_cast<int64_t>(j) - 1;
      EXPECT_NEAR(lp.logprobs[i][j].item<double>(), logp[pos][kResponses[i][j]].item<double>(), 1e-5) << i << ":" << j;
      const double entropy = -(logp[pos].exp() * logp[pos]).sum().item<double>();
      EXPECT_NEAR(lp.entropy[i][j].item<double>(), entropy, 1e-5);
      EXPECT_NEAR(values[i][j].item<double>(), v[pos].item<double>(), 1e-5);
    }
    for (int64_t j = static_cast<int64_t>(kResponses[i].size()); j < b.max_response; ++j) {
      EXPECT_EQ(lp.logprobs[i][j].item<double>(), 0.0);
      EXPECT_EQ(values[i][j].item<double>(), 0.0);
    }
    EXPECT_NEAR(scores[i].item<double>(), v[-1].item<double>(), 1e-5);  // the last real token
  }
}

TEST(ResponseScoring, LogprobsAreDifferentiable) {
  auto lm = fw::testing::tiny_lm(fw::testing::tiny_config(), 6);
  const rollout::ResponseBatch b = rollout::make_response_batch(kPrompts, kResponses, kPad);
  rollout::response_logprobs(lm, b, 1.0).logprobs.sum().backward();
  double grad = 0;
  for (auto& p : lm->parameters()) grad += p.grad().abs().sum().item<double>();
  EXPECT_GT(grad, 0.0);
}

TEST(ResponseBatch, SelectEqualsABatchOfThoseRows) {
  auto lm = fw::testing::tiny_lm(fw::testing::tiny_config(), 7);
  const rollout::ResponseBatch all = rollout::make_response_batch(kPrompts, kResponses, kPad);
  const rollout::ResponseBatch sub = all.select({2, 0});
  const rollout::ResponseBatch direct = rollout::make_response_batch({kPrompts[2], kPrompts[0]},
                                                                     {kResponses[2], kResponses[0]}, kPad);
  EXPECT_TRUE(at::equal(sub.input_ids, direct.input_ids));
  EXPECT_TRUE(at::equal(sub.responses, direct.responses));
  EXPECT_TRUE(at::equal(sub.flat_positions, direct.flat_positions));
  EXPECT_TRUE(at::equal(sub.flat_index, direct.flat_index));
  EXPECT_TRUE(at::equal(sub.response_mask, direct.response_mask));
  at::NoGradGuard no_grad;
  EXPECT_TRUE(at::allclose(rollout::response_logprobs(lm, sub, 1.0).logprobs,
                           rollout::response_logprobs(lm, direct, 1.0).logprobs));
}

TEST(ResponseScoring, MatchesTheLogprobsGenerateReturns) {
  auto lm = fw::testing::tiny_lm(fw::testing::tiny_config(), 8);
  const double temperature = 0.9;
  const auto gens = rollout::generate(lm, kPrompts, {.max_new_tokens = 9, .sampling = {.temperature = temperature},
                                                     .seed = 11, .eos_ids = {2}});
  std::vector<std::vector<int64_t>> responses;
  for (const auto& g : gens) responses.push_back(g.tokens);
  const rollout::ResponseBatch b = rollout::make_response_batch(kPrompts, responses, kPad);
  at::NoGradGuard no_grad;
  const at::Tensor lp = rollout::response_logprobs(lm, b, temperature).logprobs;
  for (size_t i = 0; i < gens.size(); ++i)
    for (size_t j = 0; j < gens[i].tokens.size(); ++j)
      EXPECT_NEAR(lp[i][j].item<double>(), gens[i].logprobs[j], 1e-4) << i << ":" << j;
}

}  // namespace
