// Parity with Hugging Face transformers: logits, padded batches and greedy generation of
// models built by transformers (hf_reference.py), and checkpoints written by flywheel
// loaded back in transformers.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cstdlib>
#include <filesystem>

#include "tests/support/test_tmp.h"
#include "model/checkpoint.h"
#include "model/safetensors_io.h"
#include "rollout/generate.h"

namespace {
namespace fs = std::filesystem;
using fw::model::NamedTensors;

std::string parity_dir() {
  const char* d = std::getenv("FW_PARITY_DIR");
  return d ? d : std::string(FW_BINARY_DIR) + "/parity-ref";
}

at::Tensor get(const NamedTensors& ts, const std::string& name) {
  for (const auto& [n, t] : ts)
    if (n == name) return t;
  ADD_FAILURE() << "reference lacks " << name;
  return {};
}

double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kFloat) - b.to(at::kFloat)).abs().max().item<double>();
}

class HfParity : public ::testing::TestWithParam<std::string> {};

TEST_P(HfParity, LogitsMatchTransformers) {
  const std::string dir = parity_dir() + "/" + GetParam();
  auto ref = fw::model::load_safetensors(dir + "/reference.safetensors");
  auto lm = fw::model::load_causal_lm(dir, {.dtype = at::kFloat});
  lm->eval();
  at::NoGradGuard no_grad;
  at::Tensor logits = lm->forward(get(ref, "input_ids"));
  EXPECT_LT(max_abs_diff(logits, get(ref, "logits")), 1e-4) << GetParam();
}

TEST_P(HfParity, LeftPaddedBatchMatchesTransformers) {
  const std::string dir = parity_dir() + "/" + GetParam();
  auto ref = fw::model::load_safetensors(dir + "/reference.safetensors");
  auto lm = fw::model::load_causal_lm(dir);
  at::NoGradGuard no_grad;
  at::Tensor ids = get(ref, "padded_ids"), mask = get(ref, "padded_mask");
  at::Tensor positions = (mask.cumsum(1) - 1).clamp_min(0);
  at::Tensor logits = lm->forward(ids, {.position_ids = positions, .attention_mask = mask});
  at::Tensor valid = mask.to(at::kBool);
  EXPECT_LT(max_abs_diff(logits.index({valid}), get(ref, "padded_logits").index({valid})), 1e-4);
}

TEST_P(HfParity, GreedyGenerationIsTokenIdentical) {
  const std::string dir = parity_dir() + "/" + GetParam();
  auto ref = fw::model::load_safetensors(dir + "/reference.safetensors");
  auto lm = fw::model::load_causal_lm(dir);
  at::Tensor ids = get(ref, "padded_ids"), mask = get(ref, "padded_mask");
  std::vector<std::vector<int64_t>> prompts;
  for (int64_t b = 0; b < ids.size(0); ++b) {
    at::Tensor row = ids[b].index({mask[b].to(at::kBool)}).contiguous();
    prompts.emplace_back(row.data_ptr<int64_t>(), row.data_ptr<int64_t>() + row.numel());
  }
  auto gens = fw::rollout::generate(lm, prompts, {.max_new_tokens = 32});
  at::Tensor expected = get(ref, "gen_tokens");
  for (int64_t b = 0; b < ids.size(0); ++b) {
    ASSERT_EQ(gens[b].tokens.size(), 32u);
    at::Tensor row = expected[b].contiguous();
    std::vector<int64_t> want(row.data_ptr<int64_t>(), row.data_ptr<int64_t>() + 32);
    EXPECT_EQ(gens[b].tokens, want) << GetParam() << " sequence " << b;
  }
}

INSTANTIATE_TEST_SUITE_P(Models, HfParity,
                         ::testing::Values("llama_gqa", "llama_mqa_bias", "mistral", "mistral_window", "qwen2_bias", "qwen3_headdim",
                                           "llama_tied", "llama3_rope", "linear_rope_headdim"));

TEST(HfParitySharded, ShardedBf16CheckpointLoads) {
  const std::string dir = parity_dir() + "/llama_sharded_bf16";
  ASSERT_TRUE(fs::exists(dir + "/model.safetensors.index.json"));
  auto ref = fw::model::load_safetensors(dir + "/reference.safetensors");
  auto lm = fw::model::load_causal_lm(dir, {.dtype = at::kFloat});
  at::NoGradGuard no_grad;
  EXPECT_LT(max_abs_diff(lm->forward(get(ref, "input_ids")), get(ref, "logits")), 1e-4);
  auto native = fw::model::load_causal_lm(dir);  // the checkpoint's own dtype
  EXPECT_EQ(native->parameters().front().scalar_type(), at::kBFloat16);
}

// flywheel writes, transformers reads: same logits.
void check_transformers_reads(const std::string& dir, const at::Tensor& ours, const at::Tensor& ids) {
  const std::string ids_file = dir + "/ids.safetensors", out_file = dir + "/hf_logits.safetensors";
  fw::model::save_safetensors(ids_file, {{"input_ids", ids}});
  const std::string cmd = std::string(FW_PYTHON) + " " + FW_SOURCE_DIR + "/tests/parity/hf_reference.py logits " +
                          dir + " " + ids_file + " " + out_file;
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  auto theirs = fw::model::load_safetensors(out_file);
  EXPECT_LT(max_abs_diff(ours, theirs.at(0).second), 1e-4);
}

TEST(HfParityExport, FlywheelCheckpointLoadsInTransformers) {
  fw::model::LlamaConfig c;
  c.vocab_size = 101;
  c.hidden_size = 48;
  c.intermediate_size = 80;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 6;
  c.num_key_value_heads = 2;
  c.head_dim = 8;
  c.rope.theta = 50000;
  c.bos_token_id = 1;
  c.eos_token_ids = {2};
  at::manual_seed(5);
  fw::model::LlamaForCausalLM lm(c);
  fw::model::init_weights(*lm, 0.1);
  const std::string dir = fw::testing::tmp_dir() + "/export_causal";
  fw::model::save_causal_lm(lm, dir);
  at::Tensor ids = at::randint(3, 101, {2, 17}, at::kLong);
  at::NoGradGuard no_grad;
  check_transformers_reads(dir, lm->forward(ids), ids);
  // ...and our own loader reads back the identical model.
  auto again = fw::model::load_causal_lm(dir);
  EXPECT_EQ(max_abs_diff(again->forward(ids), lm->forward(ids)), 0.0);
}

TEST(HfParityExport, QwenWithTiedEmbeddingsRoundTrips) {
  fw::model::LlamaConfig c;
  c.architecture = "Qwen2ForCausalLM";
  c.model_type = "qwen2";
  c.qkv_bias = true;
  c.tie_word_embeddings = true;
  c.vocab_size = 64;
  c.hidden_size = 32;
  c.intermediate_size = 48;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 8;
  at::manual_seed(6);
  fw::model::LlamaForCausalLM lm(c);
  fw::model::init_weights(*lm, 0.1);
  const std::string dir = fw::testing::tmp_dir() + "/export_qwen";
  fw::model::save_causal_lm(lm, dir);
  at::Tensor ids = at::randint(0, 64, {1, 9}, at::kLong);
  at::NoGradGuard no_grad;
  check_transformers_reads(dir, lm->forward(ids), ids);
}

// Qwen3 as flywheel writes it (q/k norms with weights other than 1, head_dim != C / H):
// transformers reads the same model.
TEST(HfParityExport, Qwen3WithQkNormsRoundTrips) {
  fw::model::LlamaConfig c;
  c.architecture = "Qwen3ForCausalLM";
  c.model_type = "qwen3";
  c.qk_norm = true;
  c.vocab_size = 64;
  c.hidden_size = 32;
  c.intermediate_size = 48;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 16;
  at::manual_seed(9);
  fw::model::LlamaForCausalLM lm(c);
  fw::model::init_weights(*lm, 0.1);
  {
    at::NoGradGuard no_grad;
    for (auto& p : lm->named_parameters())
      if (p.key().find("_norm.weight") != std::string::npos) p.value().uniform_(0.5, 1.5);
  }
  const std::string dir = fw::testing::tmp_dir() + "/export_qwen3";
  fw::model::save_causal_lm(lm, dir);
  at::Tensor ids = at::randint(0, 64, {2, 9}, at::kLong);
  at::NoGradGuard no_grad;
  check_transformers_reads(dir, lm->forward(ids), ids);
  EXPECT_EQ(fw::model::load_causal_lm(dir)->config().qk_norm, true);
}

TEST(HfParityExport, ScoreModelLoadsAsSequenceClassifier) {
  fw::model::LlamaConfig c;
  c.architecture = "LlamaForSequenceClassification";
  c.vocab_size = 50;
  c.hidden_size = 32;
  c.intermediate_size = 48;
  c.num_hidden_layers = 1;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 4;
  c.head_dim = 8;
  c.pad_token_id = 0;
  at::manual_seed(8);
  fw::model::LlamaForScore rm(c);
  fw::model::init_weights(*rm, 0.1);
  const std::string dir = fw::testing::tmp_dir() + "/export_score";
  fw::model::save_score_model(rm, dir);
  // No padding in the batch, so transformers pools the last token: compare per-token
  // scores there.
  at::Tensor ids = at::randint(1, 50, {2, 7}, at::kLong);
  at::NoGradGuard no_grad;
  at::Tensor ours = rm->forward(ids).select(1, 6);  // [B,1]
  check_transformers_reads(dir, ours, ids);
}

}  // namespace
