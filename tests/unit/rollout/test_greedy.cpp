// greedy_next: at::argmax's token (the first of equal maxima) and sampled_logprobs' value
// at temperature 0, on odd vocabulary sizes (the kernel's scalar tail), ties, -inf and NaN.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cmath>
#include <limits>

#include "rollout/greedy.h"
#include "rollout/sampling.h"

namespace {
using namespace fw::rollout;

void expect_like_aten(const at::Tensor& logits) {
  auto [next, logp] = greedy_next(logits);
  at::Tensor want = logits.argmax(-1);
  EXPECT_TRUE(next.equal(want));
  EXPECT_LT((logp - sampled_logprobs(logits, want, 0.0)).abs().max().item<double>(), 2e-6);
  EXPECT_EQ(logp.scalar_type(), at::kFloat);
}

TEST(Greedy, EqualsArgmaxAndLogSoftmax) {
  for (int64_t V : {1, 7, 8, 61, 1003}) expect_like_aten(at::randn({6, V}) * 5);
}

TEST(Greedy, Bfloat16LogitsGiveArgmaxAndFloat32LogSoftmax) {
  for (int64_t V : {9, 1003}) {
    at::Tensor logits = (at::randn({5, V}) * 5).to(at::kBFloat16);  // bfloat16 has many ties
    expect_like_aten(logits);
  }
}

TEST(Greedy, TiesPickTheFirstAndInfinitiesAreFine) {
  at::Tensor logits = at::randn({3, 45});
  logits[0][10] = 9.0f;
  logits[0][30] = 9.0f;  // a tie: index 10, as at::argmax
  logits[1].fill_(2.0f);  // all equal: index 0
  logits[2].narrow(0, 0, 40).fill_(-std::numeric_limits<float>::infinity());
  expect_like_aten(logits);
  EXPECT_EQ(greedy_next(logits).first[0].item<int64_t>(), 10);
}

// Rows whose log-softmax is NaN in ATen (an all -inf row; a +inf logit) are NaN here too,
// whether the kernel's vector part or its scalar tail sees them.
TEST(Greedy, NonFiniteRowsGiveWhatAtenGives) {
  const float inf = std::numeric_limits<float>::infinity();
  for (int64_t V : {16, 17}) {
    at::Tensor logits = at::randn({3, V});
    logits[0].fill_(-inf);
    logits[1][3] = inf;
    auto [next, logp] = greedy_next(logits);
    at::Tensor want = logits.argmax(-1);
    EXPECT_TRUE(next.equal(want)) << V;
    at::Tensor want_logp = sampled_logprobs(logits, want, 0.0);
    EXPECT_TRUE(logp.isnan().equal(want_logp.isnan())) << V << " " << logp << want_logp;
    EXPECT_TRUE(std::isnan(logp[0].item<float>()) && std::isnan(logp[1].item<float>())) << V;
  }
}

TEST(Greedy, NaNFallsBackToAten) {
  at::Tensor logits = at::randn({2, 20});
  logits[1][3] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_TRUE(greedy_next(logits).first.equal(logits.argmax(-1)));
}

}  // namespace
