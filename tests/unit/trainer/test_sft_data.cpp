// SFT data: formats, counted skips and errors, and the two loss properties the recipe
// relies on — prompt tokens contribute nothing, and packing does not change the loss.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <fstream>

#include "tests/support/test_tmp.h"
#include "core/error.h"
#include "data/collate.h"
#include "data/sft_dataset.h"
#include "losses/sft.h"
#include "model/llama.h"
#include "sft_fixtures.h"

namespace {
using namespace fw;

data::Tokenizer tiny_tokenizer() {
  static std::string path = [] {
    const std::string dir = fw::testing::fresh_dir("sft_tok");
    data::TrainOptions t;
    for (int i = 0; i < 300; ++i)
      t.sentences.push_back("What is " + std::to_string(i) + " plus " + std::to_string(i % 7) + "? The answer is " +
                            std::to_string(i + i % 7) + ". Answer briefly. hello world");
    t.vocab_size = 300;
    t.model_path = dir + "/tokenizer.model";
    data::Tokenizer::train(t);
    return t.model_path;
  }();
  return data::Tokenizer::load(path);
}

std::string write(const std::string& name, const std::string& text) {
  std::string path = fw::testing::tmp_dir() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

TEST(SftData, ReadsTrlFormatsAndMasksOnlyReplies) {
  auto tok = tiny_tokenizer();
  auto path = write("sft_formats.jsonl",
                    R"({"messages": [{"role": "user", "content": "What is 1 plus 2?"}, {"role": "assistant", "content": "The answer is 3."}]})"
                    "\n"
                    R"({"prompt": "What is 4 plus 4?", "completion": " The answer is 8."})"
                    "\n"
                    R"({"prompt": [{"role": "user", "content": "hello"}], "completion": [{"role": "assistant", "content": "world"}]})"
                    "\n");
  auto ds = data::load_sft_jsonl({path}, tok, {});
  ASSERT_EQ(ds.examples.size(), 3u);
  for (const auto& ex : ds.examples) {
    std::vector<int32_t> trained;
    for (size_t i = 0; i < ex.ids.size(); ++i)
      if (ex.train_mask[i]) trained.push_back(ex.ids[i]);
    std::string text = tok.decode(trained);
    EXPECT_TRUE(text.find("answer") != std::string::npos || text.find("world") != std::string::npos) << text;
    EXPECT_EQ(text.find("What"), std::string::npos) << text;
  }
  EXPECT_EQ(ds.stats.kept, 3);
}

TEST(SftData, CountsSkipsAndNamesBadLines) {
  auto tok = tiny_tokenizer();
  auto path = write("sft_skips.jsonl",
                    R"({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "  "}]})"
                    "\n"
                    R"({"messages": [{"role": "user", "content": "What is 1 plus 2? What is 1 plus 2? What is 1 plus 2? What is 1 plus 2?"}, {"role": "assistant", "content": "The answer is 3."}]})"
                    "\n"
                    R"({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "The answer is 3."}]})"
                    "\n");
  data::SftDataOptions opts;
  auto all = data::load_sft_jsonl({path}, tok, opts);  // no limit: lengths of the long and short one
  ASSERT_EQ(all.examples.size(), 2u);
  const size_t long_len = all.examples[0].ids.size(), short_len = all.examples[1].ids.size();
  ASSERT_GT(long_len, short_len + 10);
  opts.max_seq_len = static_cast<int64_t>(short_len + 2);
  auto ds = data::load_sft_jsonl({path}, tok, opts);
  EXPECT_EQ(ds.stats.read, 3);
  EXPECT_EQ(ds.stats.kept, 1);
  EXPECT_EQ(ds.stats.dropped_empty_reply, 1);
  EXPECT_EQ(ds.stats.dropped_too_long, 1);
  opts.truncation = data::Truncation::Right;  // keeps the prompt start: no reply left
  ds = data::load_sft_jsonl({path}, tok, opts);
  EXPECT_EQ(ds.stats.dropped_no_target, 1);
  opts.truncation = data::Truncation::Left;  // keeps the reply
  ds = data::load_sft_jsonl({path}, tok, opts);
  EXPECT_EQ(ds.stats.kept, 2);
  EXPECT_EQ(ds.stats.truncated, 1);

  // `key`: the key path the error names exactly ("" = none checked): the record's own
  // field, not the internal "messages.messages[1].role".
  struct Bad { const char* text; const char* expect; const char* key; };
  for (const Bad& b : {Bad{"{\"messages\": [}\n", ":1: invalid JSON", ""},
                       Bad{"{\"text\": \"x\"}\n", ":1: missing field", ""},
                       Bad{"{}\n{\"messages\": [{\"role\": \"robot\", \"content\": \"x\"}]}\n", ":1: missing field", ""},
                       Bad{"{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}, {\"role\": \"bot\", \"content\": \"y\"}]}\n", "messages[1].role", "messages[1].role"},
                       Bad{"{\"messages\": {\"role\": \"user\"}}\n", "expected a list of messages", "messages"},
                       Bad{"{\"prompt\": [{\"role\": \"user\", \"content\": \"x\"}], \"completion\": [{\"role\": \"bot\", \"content\": \"y\"}]}\n", "completion[0].role", "completion[0].role"},
                       Bad{"{\"prompt\": \"x\", \"completion\": 3}\n", "both be strings", ""}}) {
    auto p = write("sft_bad.jsonl", b.text);
    try {
      data::load_sft_jsonl({p}, tok, {});
      ADD_FAILURE() << "accepted: " << b.text;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(b.expect), std::string::npos) << e.what();
      EXPECT_EQ(e.context().file, p);
      if (*b.key) EXPECT_EQ(e.context().key, b.key) << e.what();
      EXPECT_EQ(e.kind(), ErrorKind::InvalidInput) << e.what();
    }
  }
}

// A data file that is not there is bad input (exit 2), named, not a runtime failure.
TEST(SftData, AMissingFileIsAnInputErrorNamingIt) {
  auto tok = tiny_tokenizer();
  const std::string missing = fw::testing::tmp_dir() + "/no_such_sft.jsonl";
  try {
    data::load_sft_jsonl({missing}, tok, {});
    ADD_FAILURE() << "a missing file was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidInput) << e.what();
    EXPECT_EQ(e.context().file, missing);
    EXPECT_NE(std::string(e.what()).find("no such file"), std::string::npos) << e.what();
  }
}

model::LlamaForCausalLM tiny_model(int64_t vocab) {
  model::LlamaConfig c;
  c.vocab_size = vocab;
  c.hidden_size = 32;
  c.intermediate_size = 48;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 8;
  at::manual_seed(3);
  model::LlamaForCausalLM lm(c);
  model::init_weights(*lm, 0.2);
  return lm;
}

double batch_loss(model::LlamaForCausalLM& lm, const data::SftBatch& b) {
  model::ForwardOptions fo{.position_ids = b.position_ids};
  if (b.segment_ids.defined()) fo.segment_ids = b.segment_ids;
  auto l = losses::sft_loss_sum(lm->forward(b.input_ids, fo), b.labels);
  EXPECT_EQ(l.num_tokens, b.num_trainable);
  return l.loss_sum.item<double>() / static_cast<double>(l.num_tokens);
}

TEST(SftData, PackedAndUnpackedGiveTheSameLoss) {
  auto tok = tiny_tokenizer();
  auto path = fw::testing::write_addition_sft(fw::testing::tmp_dir() + "/sft_pack.jsonl", 10);
  auto ds = data::load_sft_jsonl({path}, tok, {});
  auto lm = tiny_model(tok.vocab_size());
  at::NoGradGuard g;
  data::MicroBatch unpacked, packed(2);
  for (int64_t i = 0; i < 10; ++i) {
    unpacked.push_back({i});
    packed[i % 2].push_back(i);  // two rows of five examples each
  }
  const double a = batch_loss(lm, data::collate_sft(ds.examples, unpacked, false, tok.pad_or_eos_id()));
  const double b = batch_loss(lm, data::collate_sft(ds.examples, packed, true, tok.pad_or_eos_id()));
  EXPECT_NEAR(a, b, 1e-5);
}

TEST(SftData, PromptPositionsContributeNothing) {
  auto tok = tiny_tokenizer();
  auto path = fw::testing::write_addition_sft(fw::testing::tmp_dir() + "/sft_prompt.jsonl", 4);
  auto ds = data::load_sft_jsonl({path}, tok, {});
  auto b = data::collate_sft(ds.examples, {{0, 1}, {2}, {3}}, true, tok.pad_or_eos_id());
  auto lm = tiny_model(tok.vocab_size());
  at::Tensor logits = lm->forward(b.input_ids, {.position_ids = b.position_ids, .segment_ids = b.segment_ids})
                          .detach().requires_grad_(true);
  auto l = losses::sft_loss_sum(logits, b.labels);
  l.loss_sum.backward();
  at::Tensor untrained = (b.labels == losses::kIgnoreIndex);
  EXPECT_EQ(logits.grad().index({untrained}).abs().max().item<double>(), 0.0);
  EXPECT_GT(logits.grad().index({untrained.logical_not()}).abs().max().item<double>(), 0.0);
  // Perturbing the prompt (and padding) positions' logits leaves the loss unchanged.
  at::Tensor noise = at::randn_like(logits) * untrained.unsqueeze(-1).to(at::kFloat) * 10;
  auto perturbed = losses::sft_loss_sum(logits.detach() + noise, b.labels);
  EXPECT_DOUBLE_EQ(perturbed.loss_sum.item<double>(), l.loss_sum.item<double>());
}

}  // namespace
