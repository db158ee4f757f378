// `flywheel dpo` and `flywheel rm` as a user runs them: SIGKILL + rerun equals an
// uninterrupted run; precomputed and on-the-fly reference log-probs agree; a stale cache
// is rebuilt; the reward model loads in transformers with the same scores.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/integration/cli_run.h"
#include "tests/support/test_tmp.h"
#include "data/synth/task_io.h"
#include "data/synth/tasks.h"
#include "model/checkpoint.h"
#include "model/safetensors_io.h"

namespace {
namespace fs = std::filesystem;

using fw::testing::folder_weights;
using fw::testing::kill_when_exists;
using fw::testing::max_weight_diff;
using fw::testing::read_text;
using fw::testing::run_flywheel;
std::string tmp(const std::string& name) { return fw::testing::scratch(name); }

std::string preference_data() {
  static std::string path = [] {
    fw::synth::GenerateOptions o;
    o.n = 160;
    o.seed = 4;
    o.max_difficulty = 1;
    const std::string p = tmp("pref_data.jsonl");
    fw::synth::write_preference_jsonl(p, fw::synth::generate_tasks(o), 4);
    return p;
  }();
  return path;
}

// A deterministic from-scratch recipe for `kind` (dpo | rm).
std::string write_recipe(const std::string& name, const std::string& kind, const std::string& extra = "") {
  const std::string recipe = tmp(name + ".yaml");
  std::ofstream(recipe) << "output_dir: " << tmp(name + "_run") << "\n"
                        << "seed: 5\ndeterministic: true\nthreads: 1\n"
                        << "model:\n  chat_template: plain\n  from_scratch: {hidden_size: 32, intermediate_size: 64, "
                           "num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2}\n"
                        << "tokenizer: {train_vocab_size: 400}\n"
                        << "data: {train: [" << preference_data() << "], max_seq_len: 128}\n"
                        << "optim: {lr: 0.002}\n"
                        << "train: {max_steps: 12, micro_batch_size: 4, grad_accum: 2}\n"
                        << "checkpoint: {every_steps: 4, keep_last: 2}\n"
                        << extra;
  fs::remove_all(tmp(name + "_run"));
  return recipe;
}

class PreferenceResume : public ::testing::TestWithParam<std::string> {};

TEST_P(PreferenceResume, SigkillThenResumeEqualsUninterruptedRun) {
  const std::string kind = GetParam();
  const std::string straight = write_recipe(kind + "_straight", kind);
  ASSERT_EQ(run_flywheel(kind + " " + straight), 0);
  const std::string killed = write_recipe(kind + "_killed", kind);
  ASSERT_TRUE(kill_when_exists({kind, killed}, tmp(kind + "_killed_run") + "/checkpoint-00000004"))
      << "the run ended before it could be killed";
  ASSERT_EQ(run_flywheel(kind + " " + killed), 0);
  EXPECT_EQ(max_weight_diff(folder_weights(tmp(kind + "_straight_run") + "/final"),
                            folder_weights(tmp(kind + "_killed_run") + "/final")),
            0.0);
}

INSTANTIATE_TEST_SUITE_P(Recipes, PreferenceResume, ::testing::Values("dpo", "rm"));

double first_loss(const std::string& run_dir) {
  std::ifstream in(run_dir + "/metrics.jsonl");
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line);
    if (j.contains("loss")) return j["loss"].get<double>();
  }
  return NAN;
}

TEST(Dpo, PrecomputedAndOnTheFlyReferenceAgreeAndStaleCachesAreRebuilt) {
  const std::string cache = preference_data() + ".ref_logps.safetensors";
  fs::remove(cache);
  const std::string on_the_fly = write_recipe("dpo_fly", "dpo", "dpo: {precompute_ref_logps: false}\n");
  ASSERT_EQ(run_flywheel("dpo " + on_the_fly + " train.max_steps=2"), 0);
  const std::string pre = write_recipe("dpo_pre", "dpo", "dpo: {precompute_ref_logps: true}\n");
  const std::string log = tmp("dpo_pre.log");
  ASSERT_EQ(run_flywheel("dpo " + pre + " train.max_steps=2", log), 0);
  EXPECT_NE(read_text(log).find("cached reference log-probs"), std::string::npos) << read_text(log);
  EXPECT_TRUE(fs::exists(cache));
  EXPECT_NEAR(first_loss(tmp("dpo_fly_run")), first_loss(tmp("dpo_pre_run")), 1e-6);

  // Same model and data: reused.
  ASSERT_EQ(run_flywheel("dpo " + pre + " train.max_steps=2 checkpoint.resume=never output_dir=" + tmp("dpo_pre_run"), log), 0);
  EXPECT_NE(read_text(log).find("reusing reference log-probs"), std::string::npos) << read_text(log);
  // A different reference model: the cache is stale and rebuilt.
  ASSERT_EQ(run_flywheel("dpo " + pre + " train.max_steps=2 checkpoint.resume=never dpo.reference_path=" +
                             tmp("dpo_fly_run") + "/final output_dir=" + tmp("dpo_pre2_run"), log), 0);
  EXPECT_NE(read_text(log).find("is stale"), std::string::npos) << read_text(log);
}

TEST(Rm, RewardModelLoadsInTransformersWithTheSameScores) {
  const std::string recipe = write_recipe("rm_parity", "rm");
  ASSERT_EQ(run_flywheel("rm " + recipe + " train.max_steps=3"), 0);
  const std::string dir = tmp("rm_parity_run") + "/final";
  auto rm = fw::model::load_score_model(dir);
  ASSERT_TRUE(rm->config().is_sequence_classifier());
  // No padding token inside the rows, so transformers pools the last token, as we do.
  const int64_t pad = rm->config().pad_token_id.value_or(-1);
  at::Tensor ids = at::randint(4, rm->config().vocab_size, {3, 10}, at::kLong);
  ASSERT_FALSE((ids == pad).any().item<bool>());
  fw::model::save_safetensors(dir + "/ids.safetensors", {{"input_ids", ids}});
  const std::string cmd = std::string(FW_PYTHON) + " " + FW_SOURCE_DIR + "/tests/parity/hf_reference.py logits " + dir +
                          " " + dir + "/ids.safetensors " + dir + "/hf_scores.safetensors";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  at::NoGradGuard g;
  at::Tensor ours = rm->score_last(ids, at::full({3}, 10, at::kLong));
  at::Tensor theirs = fw::model::load_safetensors(dir + "/hf_scores.safetensors").at(0).second.view({3});
  EXPECT_LT((ours - theirs).abs().max().item<double>(), 1e-4);

  // `flywheel score` on preference pairs writes one line per pair.
  const std::string out = tmp("rm_scores.jsonl");
  ASSERT_EQ(run_flywheel("score --model " + dir + " --data " + preference_data() + " --out " + out), 0);
  std::ifstream in(out);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line);
    EXPECT_TRUE(j.contains("chosen_score") && j.contains("rejected_score"));
    ++n;
  }
  EXPECT_EQ(n, 160);

  // --chat-template-kwargs reaches a Jinja template (a file here) and changes the scores; a
  // built-in template refuses it.
  const std::string tmpl = tmp("rm_kwargs.jinja");
  std::ofstream(tmpl) << "{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}{% if tail is defined %}{{ tail }}{% endif %}";
  auto first_chosen_score = [&](const std::string& extra) {
    const std::string o = tmp("rm_scores_kwargs.jsonl");
    EXPECT_EQ(run_flywheel("score --model " + dir + " --data " + preference_data() + " --out " + o + " --template " + tmpl + extra), 0);
    std::ifstream f(o);
    std::string first;
    std::getline(f, first);
    return nlohmann::json::parse(first)["chosen_score"].get<double>();
  };
  EXPECT_NE(first_chosen_score(""), first_chosen_score(" --chat-template-kwargs '{\"tail\": \"and then some more words\"}'"));
  EXPECT_EQ(run_flywheel("score --model " + dir + " --data " + preference_data() + " --out " + out +
                         " --template plain --chat-template-kwargs '{\"tail\": 1}'"),
            2);
}

}  // namespace
