// Preference collation: chosen rows then rejected rows, right padding, labels exactly on
// the completion tokens.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cmath>

#include "core/error.h"
#include "data/collate.h"
#include "losses/logprobs.h"
#include "tests/unit/data/tokenizer_fixture.h"

namespace {
using namespace fw::data;
using fw::data::testing::shared_tokenizer;

std::vector<int32_t> row_of(const at::Tensor& t, int64_t r) {
  at::Tensor row = t[r].contiguous();
  std::vector<int32_t> out;
  for (int64_t k = 0; k < row.numel(); ++k) out.push_back(static_cast<int32_t>(row[k].item<int64_t>()));
  return out;
}

// 0: a conversation (plain template) with a long prompt; 1: text with a short prompt and
// a longer rejected completion.
std::vector<PreferenceExample> examples() {
  const auto& tok = shared_tokenizer();
  std::vector<Message> prompt = {{"system", "Please be brief."}, {"user", "Say hello."}};
  std::vector<Message> full = prompt;
  full.push_back({"assistant", "Hello!"});
  PreferenceExample a;
  a.prompt_ids = encode_chat(tok, TemplateKind::Plain, prompt, /*add_generation_prompt=*/true).ids;
  std::vector<int32_t> ids = encode_chat(tok, TemplateKind::Plain, full).ids;
  a.chosen_ids.assign(ids.begin() + static_cast<long>(a.prompt_ids.size()), ids.end());
  a.rejected_ids = tok.encode_continuation(" No.");
  a.rejected_ids.push_back(tok.eos_id());
  a.margin = 1.5;
  PreferenceExample b;
  b.prompt_ids = tok.encode("What is 2 + 2?", /*add_bos=*/true);
  b.chosen_ids = tok.encode_continuation(" 4.");
  b.chosen_ids.push_back(tok.eos_id());
  b.rejected_ids = tok.encode_continuation(" The answer is a large green number, 5.");
  b.rejected_ids.push_back(tok.eos_id());
  return {a, b};
}

TEST(CollatePreference, LayoutPaddingAndLabels) {
  const auto& tok = shared_tokenizer();
  auto exs = examples();
  const int64_t pad = tok.pad_id();
  // Micro-batch: example 1 first, then example 0.
  auto batch = collate_preference(exs, {{1}, {0}}, pad);
  const int64_t B = 2;
  ASSERT_EQ(batch.input_ids.size(0), 2 * B);
  int64_t T = 0;
  for (const auto& e : exs) {
    const size_t longer = std::max(e.chosen_ids.size(), e.rejected_ids.size());
    T = std::max(T, static_cast<int64_t>(e.prompt_ids.size() + longer));
  }
  ASSERT_EQ(batch.input_ids.size(1), T);
  ASSERT_EQ(batch.labels.sizes(), batch.input_ids.sizes());
  EXPECT_TRUE(at::equal(batch.margin, at::tensor({0.0f, 1.5f})));

  int64_t tokens = 0, labelled = 0;
  const std::vector<int64_t> order = {1, 0};
  for (int64_t r = 0; r < 2 * B; ++r) {
    SCOPED_TRACE("row " + std::to_string(r));
    const PreferenceExample& ex = exs[order[r % B]];
    const auto& completion = r < B ? ex.chosen_ids : ex.rejected_ids;
    const int64_t p = static_cast<int64_t>(ex.prompt_ids.size());
    const int64_t n = p + static_cast<int64_t>(completion.size());
    EXPECT_EQ(batch.lengths[r].item<int64_t>(), n);
    auto ids = row_of(batch.input_ids, r);
    auto labels = row_of(batch.labels, r);
    std::vector<int32_t> seq = ex.prompt_ids;
    seq.insert(seq.end(), completion.begin(), completion.end());
    EXPECT_EQ(std::vector<int32_t>(ids.begin(), ids.begin() + n), seq);
    for (int64_t t = n; t < T; ++t) {
      EXPECT_EQ(ids[t], pad) << t;
      EXPECT_EQ(labels[t], -100) << t;
    }
    // Prompt positions (those predicting a prompt token) are -100; the last prompt token
    // predicts the first completion token.
    for (int64_t t = 0; t + 1 < p; ++t) EXPECT_EQ(labels[t], -100) << t;
    EXPECT_EQ(labels[p - 1], completion[0]);
    EXPECT_EQ(labels[n - 1], -100);  // the last token predicts nothing
    // Labelled tokens, in order, are exactly the completion; each is the next input token.
    std::vector<int32_t> trained;
    for (int64_t t = 0; t < T; ++t)
      if (labels[t] != -100) {
        EXPECT_EQ(labels[t], ids[t + 1]) << t;
        trained.push_back(labels[t]);
      }
    EXPECT_EQ(trained, completion);
    EXPECT_EQ(tok.decode(trained), tok.decode(completion));
    tokens += n;
    labelled += static_cast<int64_t>(completion.size());
  }
  EXPECT_EQ(batch.num_tokens, tokens);
  EXPECT_EQ(batch.num_completion, labelled);
  // Decoded: row 0 is example 1's chosen completion, row B its rejected one.
  auto decoded_completion = [&](int64_t r) {
    std::vector<int32_t> trained;
    for (int32_t l : row_of(batch.labels, r))
      if (l != -100) trained.push_back(l);
    return tok.decode(trained);
  };
  EXPECT_EQ(decoded_completion(0), "4.");
  EXPECT_EQ(decoded_completion(B), "The answer is a large green number, 5.");
  EXPECT_EQ(decoded_completion(1), "Hello!");
  EXPECT_EQ(decoded_completion(B + 1), "No.");
}

// With uniform logits every labelled token has log-prob -ln V, so sequence_logps of the
// batch is -(completion length) ln V: chosen first, rejected last.
TEST(CollatePreference, SequenceLogpsScoreTheCompletions) {
  auto exs = examples();
  auto batch = collate_preference(exs, {{0}, {1}}, shared_tokenizer().pad_id());
  const int64_t V = 11;
  at::Tensor labels = batch.labels.clamp_max(V - 1).masked_fill(batch.labels == -100, -100);
  at::Tensor s = fw::losses::sequence_logps(at::zeros({4, batch.input_ids.size(1), V}), labels);
  const std::vector<size_t> n = {exs[0].chosen_ids.size(), exs[1].chosen_ids.size(), exs[0].rejected_ids.size(),
                                 exs[1].rejected_ids.size()};
  for (int64_t r = 0; r < 4; ++r)
    EXPECT_NEAR(s[r].item<double>(), -static_cast<double>(n[r]) * std::log(static_cast<double>(V)), 1e-4) << r;
}

TEST(CollatePreference, RejectsPackedRows) {
  auto exs = examples();
  EXPECT_THROW(collate_preference(exs, {{0, 1}}, 0), fw::Error);
  EXPECT_THROW(collate_preference(exs, {}, 0), fw::Error);
  EXPECT_THROW(collate_preference(exs, {{5}}, 0), fw::Error);
}

}  // namespace
