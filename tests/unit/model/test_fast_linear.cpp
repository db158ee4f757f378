// The packed products a decode step and no-grad inference run instead of at::linear:
// PanelWeight (float32, AVX-512), oneDNN's packed and dense-weight products, and
// FusedLinear choosing among them. Each against a float64 reference or at::linear.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/GradMode.h>
#include <torch/csrc/autograd/function.h>

#include "model/fused_linear.h"
#include "model/onednn_linear.h"
#include "model/panel_linear.h"

namespace {
using namespace fw::model;

double max_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

at::Tensor reference(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b) {
  at::Tensor y = at::matmul(x.to(at::kDouble), w.to(at::kDouble).t());
  return b.defined() ? y + b.to(at::kDouble) : y;
}

struct Shape {
  int64_t rows, in, out;
  bool bias;
};

// Row counts around the 8-row tile, column counts around the 48-column panel.
const Shape kShapes[] = {{1, 7, 5, false},      {8, 64, 48, true},  {9, 33, 50, false},   {31, 96, 100, true},
                         {32, 768, 1280, false}, {70, 40, 97, true}, {3, 2048, 16, false}, {17, 5, 200, true},
                         {12, 1, 64, true}};

TEST(PanelWeight, EqualsAFloat64ReferenceAcrossTileAndPanelEdges) {
  if (!PanelWeight::supported(at::ones({1, 1}))) GTEST_SKIP() << "no AVX-512F here";
  at::manual_seed(1);
  for (const Shape& s : kShapes) {
    at::Tensor x = at::randn({s.rows, s.in}), w = at::randn({s.out, s.in});
    at::Tensor b = s.bias ? at::randn({s.out}) : at::Tensor();
    const PanelWeight p(w, s.bias ? std::optional(b) : std::nullopt);
    at::Tensor y = p.forward(x);
    ASSERT_EQ(y.sizes(), (at::IntArrayRef{s.rows, s.out}));
    // float32 sums of `in` products of unit normals: error grows like sqrt(in) ulps.
    EXPECT_LT(max_diff(y, reference(x, w, b)), 2e-6 * s.in) << s.rows << "x" << s.in << "x" << s.out;
  }
  EXPECT_EQ(PanelWeight(at::randn({5, 3}), std::nullopt).forward(at::randn({0, 3})).sizes(), (at::IntArrayRef{0, 5}));
  const at::Tensor transposed = at::randn({40, 100}).t();  // a weight that is not contiguous
  const at::Tensor x = at::randn({6, 40});
  EXPECT_LT(max_diff(PanelWeight(transposed, std::nullopt).forward(x), reference(x, transposed, at::Tensor())), 1e-4);
}

// Each output is one FMA chain over k: a row's result is bit for bit the same alone, in a
// batch, and on any number of threads (so chunked scoring and a shrinking batch agree).
TEST(PanelWeight, ARowsResultDependsOnNothingButTheRow) {
  if (!PanelWeight::supported(at::ones({1, 1}))) GTEST_SKIP() << "no AVX-512F here";
  at::manual_seed(2);
  at::Tensor x = at::randn({29, 300}), w = at::randn({500, 300}), b = at::randn({500});
  const PanelWeight p(w, b);
  const int threads = at::get_num_threads();
  at::set_num_threads(3);  // the panels split unevenly (11 of them)
  const at::Tensor batch = p.forward(x);
  for (int64_t r : {0, 7, 8, 28}) EXPECT_TRUE(at::equal(p.forward(x.narrow(0, r, 1)), batch.narrow(0, r, 1))) << r;
  EXPECT_TRUE(at::equal(p.forward(x.narrow(0, 3, 13)), batch.narrow(0, 3, 13)));
  at::set_num_threads(1);
  const at::Tensor one_thread = p.forward(x);
  at::set_num_threads(threads);
  EXPECT_TRUE(at::equal(one_thread, batch));
  EXPECT_LT(max_diff(batch, reference(x, w, b)), 2e-6 * 300);
}

TEST(PanelWeight, RefusesWhatItCannotRun) {
  EXPECT_FALSE(PanelWeight::supported(at::ones({2, 2}, at::kDouble)));
  EXPECT_FALSE(PanelWeight::supported(at::ones({2, 2}, at::kBFloat16)));
  EXPECT_FALSE(PanelWeight::supported(at::ones({4})));
  if (!PanelWeight::supported(at::ones({1, 1}))) GTEST_SKIP() << "no AVX-512F here";
  const PanelWeight p(at::randn({4, 3}), std::nullopt);
  EXPECT_THROW(p.forward(at::randn({2, 5})), c10::Error);
  EXPECT_THROW(p.forward(at::randn({2, 3}, at::kDouble)), c10::Error);
}

TEST(OnednnLinear, PackedProductsEqualAtLinear) {
  at::manual_seed(3);
  for (const auto dtype : {at::kFloat, at::kBFloat16}) {
    for (const Shape& s : kShapes) {
      at::Tensor x = at::randn({s.rows, s.in}).to(dtype), w = at::randn({s.out, s.in}).to(dtype);
      at::Tensor b = s.bias ? at::randn({s.out}).to(dtype) : at::Tensor();
      const at::Tensor packed = onednn_pack_weight(w, 32);
      if (!packed.defined()) GTEST_SKIP() << "LibTorch without oneDNN, or no " << dtype << " kernels";
      const at::Tensor y = onednn_linear(x, packed, s.bias ? std::optional(b) : std::nullopt);
      EXPECT_EQ(y.scalar_type(), dtype);
      // bfloat16 output: a relative step of 2^-8 on values of size sqrt(in).
      const double tol = dtype == at::kFloat ? 2e-6 * s.in : 0.01 * std::sqrt(double(s.in)) + 0.02;
      EXPECT_LT(max_diff(y, reference(x, w, b)), tol) << dtype << " " << s.rows << "x" << s.in << "x" << s.out;
    }
  }
  const at::Tensor packed = onednn_pack_weight(at::randn({6, 4}), 8);
  if (packed.defined()) {
    EXPECT_EQ(onednn_linear(at::randn({0, 4}), packed, std::nullopt).sizes(), (at::IntArrayRef{0, 6}));
  }
  EXPECT_FALSE(onednn_pack_weight(at::randn({6, 4}, at::kDouble), 8).defined());  // float64: not oneDNN's
}

// linear_forward: oneDNN in float32 on a CPU, forward and backward, against at::linear and
// its autograd; other dtypes take at::linear itself.
TEST(OnednnLinear, LinearForwardAndItsGradientsMatchAtLinear) {
  at::manual_seed(4);
  torch::nn::Linear ours(torch::nn::LinearOptions(24, 40).bias(true)), theirs(torch::nn::LinearOptions(24, 40).bias(true));
  {
    at::NoGradGuard no_grad;
    theirs->weight.copy_(ours->weight);
    theirs->bias.copy_(ours->bias);
  }
  const at::Tensor x = at::randn({3, 5, 24});
  const at::Tensor x_ours = x.clone().requires_grad_(), x_theirs = x.clone().requires_grad_();
  const at::Tensor up = at::randn({3, 5, 40});  // the gradient arriving from above
  const at::Tensor y = linear_forward(*ours, x_ours);
  const at::Tensor expected = at::linear(x_theirs, theirs->weight, theirs->bias);
  ASSERT_EQ(y.sizes(), (at::IntArrayRef{3, 5, 40}));
  ASSERT_TRUE(y.requires_grad());
  EXPECT_LT(max_diff(y.detach(), expected.detach()), 1e-5);
  (y * up).sum().backward();
  (expected * up).sum().backward();
  EXPECT_LT(max_diff(ours->weight.grad(), theirs->weight.grad()), 1e-4);
  EXPECT_LT(max_diff(ours->bias.grad(), theirs->bias.grad()), 1e-4);
  EXPECT_LT(max_diff(x_ours.grad(), x_theirs.grad()), 1e-5);
  // Frozen weights, an input that needs a gradient (a LoRA-style or reference pass).
  ours->weight.set_requires_grad(false);
  ours->bias.set_requires_grad(false);
  const at::Tensor x2 = x.clone().requires_grad_();
  linear_forward(*ours, x2).sum().backward();
  EXPECT_LT(max_diff(x2.grad(), at::ones({3, 5, 40}).matmul(ours->weight)), 1e-5);
  {
    at::NoGradGuard no_grad;
    EXPECT_FALSE(linear_forward(*ours, x).requires_grad());
    EXPECT_THROW(linear_forward(*ours, at::randn({3, 23})), c10::Error);  // at::linear's shape error
    EXPECT_LT(max_diff(linear_forward(*ours, x), expected.detach()), 1e-5);
    EXPECT_EQ(linear_forward(*ours, at::randn({0, 24})).size(0), 0);
    EXPECT_LT(max_diff(linear_forward(x.to(at::kDouble), ours->weight.to(at::kDouble), std::nullopt),
                       at::linear(x, ours->weight)),
              1e-5);
  }
}

// The gradient cases a trainer meets: no bias, a frozen input (the first layer's hidden
// states) or frozen weights, 2-D and non-contiguous inputs, a head wider than its input
// (64 rows, 4 in, 300 out: dW^T is computed then) - each against at::linear's autograd; and oneDNN's node is the
// one that ran, wherever LibTorch has oneDNN.
TEST(OnednnLinear, GradientsMatchAtLinearInEveryCase) {
  at::manual_seed(6);
  struct Case {
    int64_t rows, in, out;
    bool bias, x_grad, w_grad, transposed_x;
  };
  const Case cases[] = {{10, 24, 40, false, true, true, false}, {10, 24, 40, true, false, true, false},
                        {10, 24, 40, true, true, false, false}, {64, 4, 300, false, true, true, false},
                        {9, 32, 20, true, true, true, true}};
  for (const Case& c : cases) {
    const at::Tensor w0 = at::randn({c.out, c.in}), b0 = at::randn({c.out});
    at::Tensor x0 = c.transposed_x ? at::randn({c.in, c.rows}).t() : at::randn({c.rows, c.in});
    at::Tensor up = at::randn({c.rows, c.out});
    auto run = [&](bool ours) {
      at::Tensor x = x0.clone().requires_grad_(c.x_grad), w = w0.clone().requires_grad_(c.w_grad);
      at::Tensor b = b0.clone().requires_grad_(c.w_grad);
      if (c.transposed_x) x = x0.t().clone().t().requires_grad_(c.x_grad);  // keep the strides
      const std::optional<at::Tensor> bias = c.bias ? std::optional(b) : std::nullopt;
      at::Tensor y = ours ? linear_forward(x, w, bias) : at::linear(x, w, bias);
      if (ours && at::hasMKLDNN()) {
        // y's own node is the view back to x's shape; the product's is the one below it.
        const auto& below = y.grad_fn()->next_edges();
        const std::string name = below.empty() ? y.grad_fn()->name() : below[0].function->name();
        EXPECT_NE(name.find("OnednnLinearFunction"), std::string::npos) << name;
      }
      (y * up).sum().backward();
      return std::vector<at::Tensor>{y.detach(), c.x_grad ? x.grad() : at::Tensor(), c.w_grad ? w.grad() : at::Tensor(),
                                     c.bias && c.w_grad ? b.grad() : at::Tensor()};
    };
    const auto a = run(true), e = run(false);
    for (size_t i = 0; i < a.size(); ++i) {
      ASSERT_EQ(a[i].defined(), e[i].defined()) << i;
      if (a[i].defined()) {
        EXPECT_LT(max_diff(a[i], e[i]), 1e-4) << "case " << c.rows << "x" << c.in << "x" << c.out << " output " << i;
      }
    }
  }
}

// Packed or not, fused or not, FusedLinear gives the parts' outputs side by side.
TEST(FusedLinear, EveryLayoutGivesThePartsSideBySide) {
  at::manual_seed(5);
  std::vector<torch::nn::Linear> parts;
  for (int64_t out : {48, 16, 33}) parts.emplace_back(torch::nn::LinearOptions(20, out).bias(true));
  std::vector<const torch::nn::LinearImpl*> raw;
  for (const auto& p : parts) raw.push_back(p.get());
  for (const auto dtype : {at::kFloat, at::kDouble}) {
    for (auto& p : parts) p->to(dtype);
    at::Tensor x = at::randn({11, 20}, dtype);
    std::vector<at::Tensor> outs;
    for (const auto& p : parts) outs.push_back(at::linear(x, p->weight, p->bias));
    const at::Tensor expected = at::cat(outs, 1).detach();
    at::NoGradGuard no_grad;
    for (const bool fuse : {false, true})
      for (const int64_t pack_rows : {0, 11}) {
        const FusedLinear f(raw, fuse, pack_rows);
        EXPECT_EQ(f.packed(), pack_rows > 0 && dtype == at::kFloat && (PanelWeight::supported(x) ||
                                                                      onednn_pack_weight(parts[0]->weight, 1).defined()));
        EXPECT_LT(max_diff(f.forward(x), expected), 1e-5) << dtype << " fuse " << fuse << " pack " << pack_rows;
      }
  }
}

}  // namespace
