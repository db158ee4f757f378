// Sampling on constructed distributions: top-k / top-p keep exactly the expected set and
// never emit a token outside it; the repetition penalty and log-probs by hand.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <set>

#include "core/error.h"
#include "rollout/sampling.h"

namespace {
using namespace fw::rollout;

// Probabilities 0.4, 0.25, 0.15, 0.1, 0.06, 0.04 over tokens 3, 0, 5, 1, 4, 2.
at::Tensor constructed_logits() {
  std::vector<double> p(6);
  p[3] = 0.4; p[0] = 0.25; p[5] = 0.15; p[1] = 0.1; p[4] = 0.06; p[2] = 0.04;
  return at::log(at::tensor(p, at::kDouble)).to(at::kFloat).unsqueeze(0).expand({4, 6}).contiguous();
}

std::set<int64_t> kept(const at::Tensor& filtered_row) {
  std::set<int64_t> s;
  for (int64_t v = 0; v < filtered_row.size(0); ++v)
    if (std::isfinite(filtered_row[v].item<double>())) s.insert(v);
  return s;
}

TEST(Sampling, TopKAndTopPKeepExactlyTheExpectedTokens) {
  struct Case { SamplingOptions opts; std::set<int64_t> expected; };
  const std::vector<Case> cases = {
      {{.temperature = 1.0, .top_k = 1}, {3}},
      {{.temperature = 1.0, .top_k = 3}, {3, 0, 5}},
      {{.temperature = 1.0, .top_p = 0.5}, {3, 0}},           // 0.4 < 0.5 <= 0.65
      {{.temperature = 1.0, .top_p = 0.75}, {3, 0, 5}},       // the smallest set with mass >= 0.75
      {{.temperature = 1.0, .top_p = 0.05}, {3}},             // the top token always stays
      // top-p renormalises over the top 4 (0.44, 0.28, 0.17, 0.11): 0.44 + 0.28 >= 0.7
      {{.temperature = 1.0, .top_k = 4, .top_p = 0.7}, {3, 0}},
      {{.temperature = 0.5, .top_k = 2}, {3, 0}},             // temperature keeps the order
  };
  for (const auto& c : cases) {
    const at::Tensor f = filter_logits(constructed_logits(), c.opts);
    EXPECT_EQ(kept(f[0]), c.expected) << "top_k " << c.opts.top_k << " top_p " << c.opts.top_p;
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(11);
    std::set<int64_t> emitted;
    for (int i = 0; i < 500; ++i) {
      const at::Tensor next = sample_next(constructed_logits(), c.opts, gen);
      for (int64_t b = 0; b < next.size(0); ++b) emitted.insert(next[b].item<int64_t>());
    }
    for (int64_t tok : emitted) EXPECT_TRUE(c.expected.count(tok)) << "emitted " << tok << " outside the kept set";
    EXPECT_EQ(emitted, c.expected) << "2000 draws should reach every kept token";
  }
}

TEST(Sampling, TemperatureZeroIsArgmaxAndSeedsReproduce) {
  at::Generator g1 = at::make_generator<at::CPUGeneratorImpl>(5);
  const at::Tensor logits = at::randn({8, 50});
  EXPECT_TRUE(sample_next(logits, {.temperature = 0.0}, g1).equal(logits.argmax(-1)));
  const SamplingOptions hot{.temperature = 1.3, .top_p = 0.9};
  at::Generator a = at::make_generator<at::CPUGeneratorImpl>(9), b = at::make_generator<at::CPUGeneratorImpl>(9);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(sample_next(logits, hot, a).equal(sample_next(logits, hot, b)));
}

TEST(Sampling, RepetitionPenaltyByHand) {
  const at::Tensor logits = at::tensor({2.0f, -1.0f, 0.5f, -3.0f}).unsqueeze(0);
  const at::Tensor seen = at::tensor({1, 1, 0, 0}, at::kLong).to(at::kBool).unsqueeze(0);
  const at::Tensor got = apply_repetition_penalty(logits, seen, 2.0);
  EXPECT_TRUE(got.allclose(at::tensor({1.0f, -2.0f, 0.5f, -3.0f}).unsqueeze(0)));
  EXPECT_TRUE(apply_repetition_penalty(logits, seen, 1.0).equal(logits));
  EXPECT_THROW(validate({.repetition_penalty = 0.0}), fw::Error);
}

TEST(Sampling, LogprobsAreOfTheTemperatureScaledDistribution) {
  const at::Tensor logits = at::tensor({1.0f, 2.0f, 3.0f}).unsqueeze(0);
  const at::Tensor tok = at::tensor({2}, at::kLong);
  const double z1 = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
  EXPECT_NEAR(sampled_logprobs(logits, tok, 0.0).item<double>(), 3.0 - z1, 1e-6);
  EXPECT_NEAR(sampled_logprobs(logits, tok, 1.0).item<double>(), 3.0 - z1, 1e-6);
  const double z2 = std::log(std::exp(2.0) + std::exp(4.0) + std::exp(6.0));
  EXPECT_NEAR(sampled_logprobs(logits, tok, 0.5).item<double>(), 6.0 - z2, 1e-6);
}

}  // namespace
