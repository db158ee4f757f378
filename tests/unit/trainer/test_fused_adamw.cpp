// FusedAdamW: the same updates as LibTorch's AdamW (and as the formula), and a saved
// state that resumes exactly.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <torch/serialize.h>

#include "tests/support/test_tmp.h"
#include "trainer/fused_adamw.h"

namespace {
using fw::trainer::FusedAdamW;

struct Params {
  std::vector<at::Tensor> decayed, plain;
};

Params make_params() {
  at::manual_seed(3);
  Params p;
  for (auto shape : {std::vector<int64_t>{7, 5}, std::vector<int64_t>{5}}) p.decayed.push_back(at::randn(shape).requires_grad_());
  p.plain.push_back(at::randn({4, 3}).requires_grad_());
  return p;
}

template <class Opt>
std::unique_ptr<Opt> make_opt(const Params& p) {
  auto opts = [](double wd) {
    return std::make_unique<torch::optim::AdamWOptions>(
        torch::optim::AdamWOptions(1e-2).betas({0.9, 0.95}).eps(1e-8).weight_decay(wd));
  };
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(p.decayed, opts(0.1));
  groups.emplace_back(p.plain, opts(0.0));
  return std::make_unique<Opt>(groups, torch::optim::AdamWOptions(1e-2));
}

// Step k's gradient for every parameter: fixed pseudo-random values.
void set_grads(const Params& p, int k) {
  int i = 0;
  for (const auto* list : {&p.decayed, &p.plain})
    for (const auto& t : *list) t.mutable_grad() = at::sin(at::arange(t.numel(), at::kFloat).reshape(t.sizes()) * (k + 1) + i++);
}

double max_diff(const Params& a, const Params& b) {
  double d = 0;
  for (size_t i = 0; i < a.decayed.size(); ++i) d = std::max(d, (a.decayed[i] - b.decayed[i]).abs().max().item<double>());
  for (size_t i = 0; i < a.plain.size(); ++i) d = std::max(d, (a.plain[i] - b.plain[i]).abs().max().item<double>());
  return d;
}

TEST(FusedAdamW, MatchesLibTorchAdamWWithParamGroups) {
  Params a = make_params(), b = make_params();
  auto fused = make_opt<FusedAdamW>(a);
  auto reference = make_opt<torch::optim::AdamW>(b);
  for (int k = 0; k < 6; ++k) {
    set_grads(a, k);
    set_grads(b, k);
    fused->step();
    reference->step();
  }
  EXPECT_LT(max_diff(a, b), 1e-6);
  EXPECT_GT((a.decayed[0] - make_params().decayed[0]).abs().max().item<double>(), 1e-3);  // it moved
}

TEST(FusedAdamW, FirstStepIsTheHandDerivedUpdate) {
  // From zero moments, m̂ = g and v̂ = g², so p ← p(1 − lr·wd) − lr·g/(|g| + eps).
  Params p = make_params();
  const at::Tensor before = p.decayed[0].detach().clone();
  auto opt = make_opt<FusedAdamW>(p);
  set_grads(p, 0);
  const at::Tensor g = p.decayed[0].grad().clone();
  opt->step();
  const at::Tensor expected = before * (1 - 1e-2 * 0.1) - 1e-2 * g / (g.abs() + 1e-8);
  EXPECT_LT((p.decayed[0] - expected).abs().max().item<double>(), 1e-6);
}

TEST(FusedAdamW, SavedStateResumesExactly) {
  Params straight = make_params(), resumed = make_params();
  auto a = make_opt<FusedAdamW>(straight);
  auto b = make_opt<FusedAdamW>(resumed);
  for (int k = 0; k < 5; ++k) {
    set_grads(straight, k);
    a->step();
  }
  for (int k = 0; k < 3; ++k) {
    set_grads(resumed, k);
    b->step();
  }
  const std::string path = fw::testing::tmp_dir() + "/fused_adamw.pt";
  torch::save(*b, path);
  auto c = make_opt<FusedAdamW>(resumed);  // a fresh optimizer, as after a restart
  torch::load(*c, path);
  for (int k = 3; k < 5; ++k) {
    set_grads(resumed, k);
    c->step();
  }
  EXPECT_EQ(max_diff(straight, resumed), 0.0);
}

}  // namespace
