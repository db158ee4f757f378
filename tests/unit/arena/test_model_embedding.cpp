// Model embeddings on tiny random models: unit rows, identical prompts give identical
// rows, a prompt's row does not depend on the batch (padding) it runs in, different
// prompts differ; the checkpoint-folder path end to end.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include <cmath>

#include "arena/model_embedding.h"
#include "core/error.h"
#include "tests/integration/tiny_checkpoint.h"
#include "tests/support/test_tmp.h"
#include "tests/unit/model/tiny_models.h"

namespace {
using namespace fw::arena;

double norm(const Embeddings& e, int64_t r) { return std::sqrt(static_cast<double>(dot(e.row(r), e.row(r), e.dim))); }

double max_diff(const Embeddings& a, int64_t ra, const Embeddings& b, int64_t rb) {
  double m = 0;
  for (int64_t d = 0; d < a.dim; ++d) m = std::max(m, static_cast<double>(std::abs(a.row(ra)[d] - b.row(rb)[d])));
  return m;
}

TEST(ModelEmbedding, UnitRowsIndependentOfBatchPadding) {
  auto lm = fw::testing::tiny_lm(fw::testing::tiny_config(), 3);
  lm->eval();
  const std::vector<int64_t> a = {5, 9, 2}, b = {7, 1, 4, 8, 3, 6, 2, 9, 11}, c = {5, 9, 3};
  const Embeddings alone = embed_token_ids(lm->model, {a}, 8);
  const Embeddings mixed = embed_token_ids(lm->model, {b, a, c, a}, 8);  // a padded to 9 tokens
  const Embeddings small = embed_token_ids(lm->model, {b, a, c, a}, 1);  // one per batch
  ASSERT_EQ(mixed.rows, 4);
  EXPECT_EQ(mixed.dim, fw::testing::tiny_config().hidden_size);
  for (int64_t r = 0; r < 4; ++r) EXPECT_NEAR(norm(mixed, r), 1.0, 1e-5);
  EXPECT_LT(max_diff(alone, 0, mixed, 1), 1e-5);
  EXPECT_LT(max_diff(mixed, 1, mixed, 3), 1e-6);  // identical prompts
  for (int64_t r = 0; r < 4; ++r) EXPECT_LT(max_diff(mixed, r, small, r), 1e-5);
  EXPECT_GT(max_diff(mixed, 1, mixed, 2), 1e-4);  // one token differs
  EXPECT_THROW(embed_token_ids(lm->model, {{}}, 2), fw::Error);
}

TEST(ModelEmbedding, CheckpointFolderEndToEnd) {
  const std::string dir = fw::testing::tmp_dir() + "/tiny";
  fw::testing::make_tiny_checkpoint(dir, 1);
  ModelEmbedder e(dir, {.batch_size = 2, .max_len = 64});
  using M = std::vector<fw::data::Message>;
  const std::vector<M> prompts = {{{"user", "what is 3 plus 4?"}},
                                  {{"user", "what is 3 plus 4?"}, {"assistant", "7"}, {"user", "plus 2?"}},
                                  {{"user", "what is 3 plus 4?"}}};
  const Embeddings out = e.embed(prompts);
  ASSERT_EQ(out.rows, 3);
  EXPECT_EQ(out.dim, e.dim());
  for (int64_t r = 0; r < 3; ++r) EXPECT_NEAR(norm(out, r), 1.0, 1e-5);
  EXPECT_LT(max_diff(out, 0, out, 2), 1e-5);
  EXPECT_GT(max_diff(out, 0, out, 1), 1e-4);
  // max_len keeps the end of a long prompt.
  ModelEmbedder cut(dir, {.max_len = 4});
  EXPECT_EQ(cut.encode(prompts[1]).size(), 4u);
  const auto full = e.encode(prompts[1]);
  const auto tail = cut.encode(prompts[1]);
  EXPECT_TRUE(std::equal(tail.begin(), tail.end(), full.end() - 4));
}

}  // namespace
