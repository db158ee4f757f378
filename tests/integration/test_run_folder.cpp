// Resume only what was started (issue 18): `flywheel sft|dpo|rm|ppo` rerun into a run
// folder under a changed recipe is refused (exit 2) with the differing keys named, and the
// folder's config.yaml is left as it was; a rerun changing only max_steps continues;
// `--restart` moves the old run aside. A tokenizer left by a run that failed on bad data is
// not reused under other data or another vocabulary size. Bad data files exit 2 naming the
// file.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "data/synth/task_io.h"
#include "data/synth/tasks.h"
#include "tests/integration/cli_run.h"

namespace {
namespace fs = std::filesystem;
using fw::testing::read_text;
using fw::testing::run_flywheel;
std::string tmp(const std::string& name) { return fw::testing::scratch(name); }

using fw::testing::kTinyModel;

// Synthetic tasks as SFT, preference and prompt JSONL, made once per test process.
struct Data {
  std::string sft, pref, prompts;
};
const Data& data() {
  static const Data d = [] {
    fw::synth::GenerateOptions o;
    o.n = 120;
    o.seed = 8;
    o.max_difficulty = 1;
    const auto tasks = fw::synth::generate_tasks(o);
    Data x{tmp("rf_sft.jsonl"), tmp("rf_pref.jsonl"), tmp("rf_prompts.jsonl")};
    fw::synth::write_sft_jsonl(x.sft, tasks);
    fw::synth::write_preference_jsonl(x.pref, tasks, 8);
    fw::synth::write_prompt_jsonl(x.prompts, tasks);
    return x;
  }();
  return d;
}

// A tiny from-scratch recipe for sft | dpo | rm (`name`_run, removed first): 4 steps.
std::string scratch_recipe(const std::string& name, const std::string& kind, const std::string& data_file,
                           const std::string& extra = "") {
  const std::string recipe = tmp(name + ".yaml");
  std::ofstream(recipe) << "output_dir: " << tmp(name + "_run") << "\nseed: 5\nthreads: 1\n"
                        << kTinyModel << "tokenizer: {train_vocab_size: 400}\n"
                        << "data: {train: [" << data_file << "], max_seq_len: 128}\n"
                        << "optim: {lr: 0.002}\n"
                        << "train: {max_steps: 4, micro_batch_size: 4}\n"
                        << "checkpoint: {every_steps: 2, keep_last: 2}\n"
                        << extra;
  fs::remove_all(tmp(name + "_run"));
  return recipe;
}

int flywheel(const std::string& kind, const std::string& recipe, const std::string& args, const std::string& log) {
  return run_flywheel(kind + " " + recipe + " " + args, tmp(log));
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// The folders next to `run` that --restart moved it to.
std::vector<std::string> moved_aside(const std::string& run) {
  std::vector<std::string> out;
  const std::string prefix = fs::path(run).filename().string() + ".old-";
  for (const auto& e : fs::directory_iterator(fs::path(run).parent_path()))
    if (e.path().filename().string().rfind(prefix, 0) == 0) out.push_back(e.path().string());
  return out;
}

int hidden_size_of(const std::string& model_dir) {
  return nlohmann::json::parse(read_text(model_dir + "/config.json")).at("hidden_size").get<int>();
}

// The issue's scenario: a rerun of `flywheel sft` with another width and vocabulary.
TEST(TrainerRerun, SftRefusesAChangedRecipeContinuesAfterMaxStepsAndRestartsOnRequest) {
  const std::string recipe = scratch_recipe("rf_sft", "sft", data().sft);
  const std::string run = tmp("rf_sft_run");
  ASSERT_EQ(flywheel("sft", recipe, "", "rf_sft.log"), 0) << read_text(tmp("rf_sft.log"));
  ASSERT_TRUE(fs::exists(run + "/fingerprint.json"));
  const std::string config = read_text(run + "/config.yaml");

  EXPECT_EQ(flywheel("sft", recipe, "model.from_scratch.hidden_size=64 tokenizer.train_vocab_size=450", "rf_sft2.log"), 2);
  const std::string log = read_text(tmp("rf_sft2.log"));
  EXPECT_TRUE(contains(log, "model.from_scratch.hidden_size: 32 -> 64")) << log;
  EXPECT_TRUE(contains(log, "tokenizer.train_vocab_size: 400 -> 450")) << log;
  EXPECT_TRUE(contains(log, "--restart")) << log;
  EXPECT_EQ(read_text(run + "/config.yaml"), config);  // still what the folder holds
  EXPECT_EQ(hidden_size_of(run + "/final"), 32);

  // Only max_steps: it continues from step 4 to 6, and config.yaml says 6.
  ASSERT_EQ(flywheel("sft", recipe, "train.max_steps=6", "rf_sft3.log"), 0) << read_text(tmp("rf_sft3.log"));
  EXPECT_TRUE(contains(read_text(tmp("rf_sft3.log")), "resumed from")) << read_text(tmp("rf_sft3.log"));
  EXPECT_TRUE(fs::exists(run + "/checkpoint-00000006"));
  EXPECT_TRUE(contains(read_text(run + "/config.yaml"), "max_steps: 6"));

  // --restart: the old run is moved aside whole, the new one starts from scratch.
  ASSERT_EQ(flywheel("sft", recipe, "--restart model.from_scratch.hidden_size=64", "rf_sft4.log"), 0)
      << read_text(tmp("rf_sft4.log"));
  const auto old = moved_aside(run);
  ASSERT_EQ(old.size(), 1u);
  EXPECT_TRUE(contains(read_text(tmp("rf_sft4.log")), "moved the earlier run")) << read_text(tmp("rf_sft4.log"));
  EXPECT_TRUE(contains(read_text(tmp("rf_sft4.log")), old[0])) << read_text(tmp("rf_sft4.log"));
  EXPECT_TRUE(fs::exists(old[0] + "/checkpoint-00000006"));
  EXPECT_EQ(hidden_size_of(old[0] + "/final"), 32);
  EXPECT_EQ(hidden_size_of(run + "/final"), 64);
  EXPECT_FALSE(fs::exists(run + "/checkpoint-00000006"));
  EXPECT_FALSE(contains(read_text(tmp("rf_sft4.log")), "resumed from")) << read_text(tmp("rf_sft4.log"));
}

// A run that failed on bad data after training its tokenizer: neither another vocabulary
// size nor the repaired data may reuse that tokenizer.
TEST(TrainerRerun, ATokenizerLeftByAFailedRunIsNotReused) {
  const std::string bad = tmp("rf_tok_data.jsonl");
  fs::copy_file(data().sft, bad, fs::copy_options::overwrite_existing);
  std::ofstream(bad, std::ios::app) << R"({"messages": [{"role": "user", "content": "x"}, {"role": "bot", "content": "y"}]})"
                                    << "\n";
  const std::string recipe = scratch_recipe("rf_tok", "sft", bad);
  const std::string run = tmp("rf_tok_run");
  EXPECT_EQ(flywheel("sft", recipe, "", "rf_tok.log"), 2) << read_text(tmp("rf_tok.log"));
  EXPECT_TRUE(contains(read_text(tmp("rf_tok.log")), "messages[1].role")) << read_text(tmp("rf_tok.log"));
  EXPECT_FALSE(contains(read_text(tmp("rf_tok.log")), "messages.messages")) << read_text(tmp("rf_tok.log"));
  ASSERT_TRUE(fs::exists(run + "/tokenizer/tokenizer.model"));

  EXPECT_EQ(flywheel("sft", recipe, "tokenizer.train_vocab_size=450", "rf_tok2.log"), 2);
  EXPECT_TRUE(contains(read_text(tmp("rf_tok2.log")), "tokenizer.train_vocab_size: 400 -> 450"))
      << read_text(tmp("rf_tok2.log"));

  fs::copy_file(data().sft, bad, fs::copy_options::overwrite_existing);  // the data repaired
  EXPECT_EQ(flywheel("sft", recipe, "", "rf_tok3.log"), 2);
  EXPECT_TRUE(contains(read_text(tmp("rf_tok3.log")), "data.train[0]: sha256:")) << read_text(tmp("rf_tok3.log"));

  ASSERT_EQ(flywheel("sft", recipe, "--restart", "rf_tok4.log"), 0) << read_text(tmp("rf_tok4.log"));
  EXPECT_TRUE(contains(read_text(tmp("rf_tok4.log")), "training a")) << read_text(tmp("rf_tok4.log"));
  EXPECT_TRUE(fs::exists(run + "/final/model.safetensors"));
}

struct PreferenceCase {
  std::string kind, changed_key, override_text;
};

void PrintTo(const PreferenceCase& c, std::ostream* os) { *os << c.kind; }

class PreferenceRerun : public ::testing::TestWithParam<PreferenceCase> {};

TEST_P(PreferenceRerun, RefusesAChangedRecipeAndContinuesAfterMaxSteps) {
  const PreferenceCase& c = GetParam();
  const std::string name = "rf_" + c.kind;
  const std::string recipe = scratch_recipe(name, c.kind, data().pref);
  const std::string run = tmp(name + "_run");
  ASSERT_EQ(flywheel(c.kind, recipe, "", name + ".log"), 0) << read_text(tmp(name + ".log"));
  const std::string config = read_text(run + "/config.yaml");

  EXPECT_EQ(flywheel(c.kind, recipe, c.override_text + " optim.lr=0.001 train.max_steps=5", name + "2.log"), 2);
  const std::string log = read_text(tmp(name + "2.log"));
  EXPECT_TRUE(contains(log, c.changed_key + ": ")) << log;
  EXPECT_TRUE(contains(log, "optim.lr: 0.002 -> 0.001")) << log;
  EXPECT_FALSE(contains(log, "train.max_steps: ")) << log;
  EXPECT_EQ(read_text(run + "/config.yaml"), config);
  EXPECT_FALSE(fs::exists(run + "/checkpoint-00000005"));

  ASSERT_EQ(flywheel(c.kind, recipe, "train.max_steps=5", name + "3.log"), 0) << read_text(tmp(name + "3.log"));
  EXPECT_TRUE(fs::exists(run + "/checkpoint-00000005"));
  EXPECT_TRUE(contains(read_text(run + "/config.yaml"), "max_steps: 5"));

  ASSERT_EQ(flywheel(c.kind, recipe, "--restart " + c.override_text, name + "4.log"), 0)
      << read_text(tmp(name + "4.log"));
  ASSERT_EQ(moved_aside(run).size(), 1u);
  EXPECT_TRUE(fs::exists(moved_aside(run)[0] + "/checkpoint-00000005"));
  EXPECT_TRUE(contains(read_text(run + "/config.yaml"), c.override_text.substr(c.override_text.find('=') + 1)));
}

INSTANTIATE_TEST_SUITE_P(Recipes, PreferenceRerun,
                         ::testing::Values(PreferenceCase{"dpo", "dpo.beta", "dpo.beta=0.25"},
                                           PreferenceCase{"rm", "rm.center_rewards_coefficient",
                                                          "rm.center_rewards_coefficient=0.125"}),
                         [](const auto& info) { return info.param.kind; });

TEST(TrainerRerun, PpoRefusesAChangedRecipeOrRewardModel) {
  // A policy (4 SFT steps) and a reward model (2 RM steps from it).
  const std::string policy = tmp("rf_policy_run") + "/final", reward = tmp("rf_reward_run") + "/final";
  ASSERT_EQ(flywheel("sft", scratch_recipe("rf_policy", "sft", data().sft), "", "rf_policy.log"), 0)
      << read_text(tmp("rf_policy.log"));
  const std::string rm_recipe = tmp("rf_reward.yaml");
  std::ofstream(rm_recipe) << "output_dir: " << tmp("rf_reward_run") << "\nseed: 1\nthreads: 1\n"
                           << "model: {path: " << policy << "}\n"
                           << "data: {train: [" << data().pref << "], max_seq_len: 128}\n"
                           << "train: {max_steps: 2, micro_batch_size: 4}\n";
  fs::remove_all(tmp("rf_reward_run"));
  ASSERT_EQ(flywheel("rm", rm_recipe, "", "rf_reward.log"), 0) << read_text(tmp("rf_reward.log"));

  const std::string recipe = tmp("rf_ppo.yaml");
  std::ofstream(recipe) << "output_dir: " << tmp("rf_ppo_run") << "\nseed: 3\nthreads: 1\n"
                        << "model: {path: " << policy << "}\n"
                        << "data: {train: [" << data().prompts << "], max_prompt_len: 96}\n"
                        << "ppo:\n  reward_model_path: " << reward << "\n"
                        << "  batch_size: 4\n  num_mini_batches: 1\n  ppo_epochs: 1\n  max_new_tokens: 6\n"
                        << "train: {max_steps: 1, micro_batch_size: 2}\n";
  const std::string run = tmp("rf_ppo_run");
  fs::remove_all(run);
  ASSERT_EQ(flywheel("ppo", recipe, "", "rf_ppo.log"), 0) << read_text(tmp("rf_ppo.log"));
  const std::string config = read_text(run + "/config.yaml");

  EXPECT_EQ(flywheel("ppo", recipe, "ppo.kl_coef=0.25", "rf_ppo2.log"), 2);
  EXPECT_TRUE(contains(read_text(tmp("rf_ppo2.log")), "ppo.kl_coef: 0.05 -> 0.25")) << read_text(tmp("rf_ppo2.log"));
  // Another reward model (here: a folder with other weights) is another run ...
  EXPECT_EQ(flywheel("ppo", recipe, "ppo.reward_model_path=" + policy, "rf_ppo3.log"), 2);
  EXPECT_TRUE(contains(read_text(tmp("rf_ppo3.log")), "ppo.reward_model_path: sha256:")) << read_text(tmp("rf_ppo3.log"));
  EXPECT_EQ(read_text(run + "/config.yaml"), config);
  // ... the same one moved elsewhere is not, and max_steps may grow.
  const std::string copy = tmp("rf_reward_copy");
  fs::remove_all(copy);
  fs::copy(reward, copy);
  ASSERT_EQ(flywheel("ppo", recipe, "ppo.reward_model_path=" + copy + " train.max_steps=2", "rf_ppo4.log"), 0)
      << read_text(tmp("rf_ppo4.log"));
  EXPECT_TRUE(fs::exists(run + "/checkpoint-00000002"));
}

// README: exit 2 for bad input, the message naming the file.
TEST(TrainerRerun, MissingAndEmptyDataFilesExitTwoNamingTheFile) {
  const std::string missing = tmp("rf_no_such.jsonl");
  EXPECT_EQ(flywheel("sft", scratch_recipe("rf_missing", "sft", missing), "", "rf_missing.log"), 2);
  EXPECT_TRUE(contains(read_text(tmp("rf_missing.log")), "data.train[0]: no such file or folder: " + missing))
      << read_text(tmp("rf_missing.log"));

  const std::string eval_missing = tmp("rf_no_such_eval.jsonl");
  EXPECT_EQ(flywheel("dpo", scratch_recipe("rf_missing_eval", "dpo", data().pref, ""),
                     "data.eval=[" + eval_missing + "]", "rf_missing_eval.log"),
            2);
  EXPECT_TRUE(contains(read_text(tmp("rf_missing_eval.log")), eval_missing + ": no such file"))
      << read_text(tmp("rf_missing_eval.log"));

  const std::string empty = tmp("rf_empty.jsonl");
  std::ofstream(empty).close();
  EXPECT_EQ(flywheel("sft", scratch_recipe("rf_empty", "sft", empty), "", "rf_empty.log"), 2);
  const std::string log = read_text(tmp("rf_empty.log"));
  EXPECT_TRUE(contains(log, empty)) << log;
  EXPECT_FALSE(contains(log, "input_files")) << log;
}

}  // namespace
