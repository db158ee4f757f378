// The LM head only where labels are set (trainer/labelled_logits.h): SFT's loss, DPO's
// sequence log-probs and every gradient must equal the head-everywhere computation.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include "losses/sft.h"
#include "tests/unit/model/tiny_models.h"
#include "losses/logprobs.h"
#include "trainer/labelled_logits.h"
#include "trainer/sft_step.h"

namespace {
using namespace fw;

TEST(SftStep, HeadOnTrainablePositionsEqualsHeadEverywhere) {
  for (bool tied : {false, true}) {
    auto c = fw::testing::tiny_config();
    c.tie_word_embeddings = tied;
    auto lm = fw::testing::tiny_lm(c, 5);
    data::SftBatch b;
    at::manual_seed(9);
    b.input_ids = at::randint(c.vocab_size, {3, 12}, at::kLong);
    b.labels = at::where(at::rand({3, 12}) < 0.4, at::randint(c.vocab_size, {3, 12}, at::kLong),
                         at::full({3, 12}, losses::kIgnoreIndex, at::kLong));
    b.position_ids = at::arange(12, at::kLong).unsqueeze(0).expand({3, 12}).contiguous();
    const int64_t n = (b.labels != losses::kIgnoreIndex).sum().item<int64_t>();
    ASSERT_GT(n, 3);
    ASSERT_LT(n, 30);

    losses::SftLoss selected = trainer::sft_micro_batch_loss(lm, b, at::kCPU, trainer::ComputeDtype::Float32);
    selected.loss_sum.backward();
    std::vector<at::Tensor> grads;
    for (auto& p : lm->parameters()) {
      grads.push_back(p.grad().clone());
      p.mutable_grad() = at::Tensor();
    }
    losses::SftLoss full = losses::sft_loss_sum(lm->forward(b.input_ids, {.position_ids = b.position_ids}), b.labels);
    full.loss_sum.backward();

    EXPECT_EQ(selected.num_tokens, n);
    EXPECT_EQ(full.num_tokens, n);
    EXPECT_NEAR(selected.loss_sum.item<double>(), full.loss_sum.item<double>(), 1e-5) << "tied " << tied;
    auto params = lm->parameters();
    for (size_t i = 0; i < params.size(); ++i)
      EXPECT_LT((params[i].grad() - grads[i]).abs().max().item<double>(), 1e-6) << "tied " << tied << " param " << i;
  }
}

TEST(LabelledLogits, SequenceLogpsEqualTheFullLogitsOnes) {
  auto c = fw::testing::tiny_config();
  auto lm = fw::testing::tiny_lm(c, 2);
  at::manual_seed(4);
  const at::Tensor ids = at::randint(c.vocab_size, {4, 10}, at::kLong);
  at::Tensor labels = at::randint(c.vocab_size, {4, 10}, at::kLong);
  labels.narrow(1, 0, 4).fill_(losses::kIgnoreIndex);  // the prompt
  labels[2].narrow(0, 7, 3).fill_(losses::kIgnoreIndex);  // a shorter row: padding
  labels[3].fill_(losses::kIgnoreIndex);  // a row with nothing scored sums to 0

  const at::Tensor selected = trainer::labelled_sequence_logps(trainer::labelled_logits(lm, ids, labels, {}, at::kCPU, trainer::ComputeDtype::Float32));
  selected.sum().backward();
  std::vector<at::Tensor> grads;
  for (auto& p : lm->parameters()) {
    grads.push_back(p.grad().clone());
    p.mutable_grad() = at::Tensor();
  }
  const at::Tensor full = losses::sequence_logps(lm->forward(ids), labels);
  full.sum().backward();

  ASSERT_EQ(selected.sizes(), full.sizes());
  EXPECT_LT((selected - full).abs().max().item<double>(), 1e-5) << selected << full;
  EXPECT_EQ(selected[3].item<double>(), 0.0);
  // Equal to float32 rounding: the products have other row counts (labelled positions
  // only), and oneDNN blocks a product by its row count.
  auto params = lm->parameters();
  for (size_t i = 0; i < params.size(); ++i)
    EXPECT_LT((params[i].grad() - grads[i]).abs().max().item<double>(), 1e-5) << "param " << i;
}

}  // namespace
