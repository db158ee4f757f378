// `flywheel ppo` as a user runs it, on a tiny policy (flywheel sft) and reward model
// (flywheel rm) made here: SIGKILL during a PPO step + rerun ends with the same policy,
// value model and KL coefficient as an uninterrupted run; metrics carry TRL's names;
// bad recipes fail before any work with the key named.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "data/synth/task_io.h"
#include "data/synth/tasks.h"
#include "tests/integration/cli_run.h"

namespace {
namespace fs = std::filesystem;
using fw::testing::folder_weights;
using fw::testing::max_weight_diff;
using fw::testing::read_text;
using fw::testing::run_flywheel;
std::string tmp(const std::string& name) { return fw::testing::scratch(name); }

using fw::testing::kTinyModel;

// Synthetic tasks as SFT, preference and prompt JSONL; a policy (20 SFT steps from
// scratch) and a reward model (6 steps from it). Made once per test process.
struct Fixture {
  std::string prompts, policy, reward_model;
};
const Fixture& fixture() {
  static const Fixture f = [] {
    fw::synth::GenerateOptions o;
    o.n = 200;
    o.seed = 6;
    o.max_difficulty = 1;
    const auto tasks = fw::synth::generate_tasks(o);
    Fixture x{tmp("ppo_prompts.jsonl"), tmp("ppo_policy_run") + "/final", tmp("ppo_rm_run") + "/final"};
    fw::synth::write_prompt_jsonl(x.prompts, tasks);
    fw::synth::write_sft_jsonl(tmp("ppo_sft.jsonl"), tasks);
    fw::synth::write_preference_jsonl(tmp("ppo_pref.jsonl"), tasks, 6);
    std::ofstream(tmp("ppo_policy.yaml")) << "output_dir: " << tmp("ppo_policy_run") << "\nseed: 1\nthreads: 1\n"
                                          << kTinyModel << "tokenizer: {train_vocab_size: 400}\n"
                                          << "data: {train: [" << tmp("ppo_sft.jsonl") << "], max_seq_len: 128}\n"
                                          << "optim: {lr: 0.003}\ntrain: {max_steps: 20, micro_batch_size: 8}\n";
    std::ofstream(tmp("ppo_rm.yaml")) << "output_dir: " << tmp("ppo_rm_run") << "\nseed: 1\nthreads: 1\n"
                                      << "model: {path: " << x.policy << "}\n"
                                      << "data: {train: [" << tmp("ppo_pref.jsonl") << "], max_seq_len: 128}\n"
                                      << "optim: {lr: 0.001}\ntrain: {max_steps: 6, micro_batch_size: 8}\n";
    fs::remove_all(tmp("ppo_policy_run"));
    fs::remove_all(tmp("ppo_rm_run"));
    EXPECT_EQ(run_flywheel("sft " + tmp("ppo_policy.yaml"), tmp("ppo_policy.log")), 0) << read_text(tmp("ppo_policy.log"));
    EXPECT_EQ(run_flywheel("rm " + tmp("ppo_rm.yaml"), tmp("ppo_rm.log")), 0) << read_text(tmp("ppo_rm.log"));
    return x;
  }();
  return f;
}

// A deterministic PPO recipe: 6 steps of 8 prompts, 2 mini-batches, adaptive KL (so the
// controller's state must survive a resume), a checkpoint every 2 steps.
std::string write_recipe(const std::string& name, const std::string& extra = "") {
  const Fixture& f = fixture();
  const std::string recipe = tmp(name + ".yaml");
  std::ofstream(recipe) << "output_dir: " << tmp(name + "_run") << "\nseed: 3\ndeterministic: true\nthreads: 1\n"
                        << "model: {path: " << f.policy << "}\n"
                        << "data: {train: [" << f.prompts << "], max_prompt_len: 96}\n"
                        << "ppo:\n  reward_model_path: " << f.reward_model << "\n"
                        << "  batch_size: 8\n  num_mini_batches: 2\n  ppo_epochs: 2\n  max_new_tokens: 12\n"
                        << "  adaptive_kl: true\n  kl_target: 0.01\n  kl_horizon: 100\n"
                        << "optim: {lr: 0.0005}\n"
                        << "train: {max_steps: 6, micro_batch_size: 2}\n"
                        << "checkpoint: {every_steps: 2, keep_last: 2}\n"
                        << extra;
  fs::remove_all(tmp(name + "_run"));
  return recipe;
}

std::vector<nlohmann::json> step_metrics(const std::string& run_dir) {
  std::vector<nlohmann::json> out;
  std::ifstream in(run_dir + "/metrics.jsonl");
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line);
    if (j.contains("objective/scores")) out.push_back(j);
  }
  return out;
}

double kl_coef_in(const std::string& checkpoint) {
  return nlohmann::json::parse(read_text(checkpoint + "/trainer_state/ppo.json")).at("kl_coef").get<double>();
}

TEST(PpoRecipe, SigkillDuringAStepThenResumeEqualsAnUninterruptedRun) {
  const std::string straight = write_recipe("ppo_straight");
  ASSERT_EQ(run_flywheel("ppo " + straight, tmp("ppo_straight.log")), 0) << read_text(tmp("ppo_straight.log"));
  const std::string killed = write_recipe("ppo_killed");
  // Killed as soon as step 2's checkpoint lands, i.e. inside step 3 (generation or update).
  ASSERT_TRUE(fw::testing::kill_when_exists({"ppo", killed}, tmp("ppo_killed_run") + "/checkpoint-00000002"))
      << "the run ended before it could be killed";
  ASSERT_EQ(run_flywheel("ppo " + killed, tmp("ppo_killed.log")), 0) << read_text(tmp("ppo_killed.log"));
  EXPECT_NE(read_text(tmp("ppo_killed.log")).find("resumed from"), std::string::npos);

  const std::string a = tmp("ppo_straight_run"), b = tmp("ppo_killed_run");
  EXPECT_EQ(max_weight_diff(folder_weights(a + "/final"), folder_weights(b + "/final")), 0.0);
  EXPECT_EQ(max_weight_diff(folder_weights(a + "/checkpoint-00000006/value_model"),
                            folder_weights(b + "/checkpoint-00000006/value_model")),
            0.0);
  // The adaptive controller moved the coefficient, and the resumed run carried it on.
  EXPECT_NE(kl_coef_in(a + "/checkpoint-00000006"), 0.05);
  EXPECT_EQ(kl_coef_in(a + "/checkpoint-00000006"), kl_coef_in(b + "/checkpoint-00000006"));
  const auto ma = step_metrics(a), mb = step_metrics(b);
  ASSERT_EQ(ma.size(), 6u);
  ASSERT_EQ(mb.size(), 6u);
  for (size_t i = 0; i < ma.size(); ++i)
    for (const char* key : {"objective/scores", "objective/kl", "loss/policy_avg", "objective/kl_coef"})
      EXPECT_EQ(ma[i][key], mb[i][key]) << "step " << i + 1 << " " << key;
}

TEST(PpoRecipe, LogsTrlMetricsAndExportsALoadablePolicy) {
  const std::string recipe = write_recipe("ppo_metrics", "eval: {prompts: " + fixture().prompts + ", max_prompts: 8}\n");
  ASSERT_EQ(run_flywheel("ppo " + recipe + " train.max_steps=2", tmp("ppo_metrics.log")), 0)
      << read_text(tmp("ppo_metrics.log"));
  const auto m = step_metrics(tmp("ppo_metrics_run"));
  ASSERT_EQ(m.size(), 2u);
  for (const char* key :
       {"objective/kl", "objective/entropy", "objective/non_score_reward", "objective/rlhf_reward", "objective/scores",
        "policy/approxkl_avg", "policy/clipfrac_avg", "loss/policy_avg", "loss/value_avg", "val/clipfrac_avg",
        "policy/entropy_avg", "val/ratio", "val/ratio_var", "val/num_eos_tokens", "lr", "episode", "timing/generate",
        "timing/score", "timing/train", "generation/tokens_per_second"})
    EXPECT_TRUE(m[0].contains(key)) << key;
  EXPECT_EQ(m[1]["episode"], 16);
  EXPECT_EQ(m[0]["objective/kl"], 0.0);  // the first rollouts come from the reference itself
  const std::string log = read_text(tmp("ppo_metrics.log"));
  EXPECT_NE(log.find("eval: accuracy"), std::string::npos) << log;
  // The exported policy generates.
  ASSERT_EQ(run_flywheel("generate --model " + tmp("ppo_metrics_run") + "/final --prompt 'What is 2 + 3?' "
                         "--max-new-tokens 4"),
            0);
}

TEST(PpoRecipe, BadRecipesFailBeforeAnyWorkNamingTheKey) {
  struct Case {
    const char* overrides;
    const char* expected;
  };
  const std::string not_a_reward_model = fixture().policy;
  const Case cases[] = {
      {"train.grad_accum=2", "train.grad_accum"},
      {"ppo.num_mini_batches=3", "ppo.num_mini_batches"},
      {"ppo.kl_estimator=k2", "ppo.kl_estimator"},
      {"ppo.temperature=0", "ppo.temperature"},
      {"data.train=[/nonexistent/prompts.jsonl]", "/nonexistent/prompts.jsonl"},
  };
  for (const Case& c : cases) {
    const std::string recipe = write_recipe("ppo_bad");
    const std::string log = tmp("ppo_bad.log");
    EXPECT_EQ(run_flywheel("ppo " + recipe + " " + c.overrides, log), 2) << c.overrides << ": " << read_text(log);
    EXPECT_NE(read_text(log).find(c.expected), std::string::npos) << c.overrides << ": " << read_text(log);
  }
  const std::string recipe = write_recipe("ppo_bad");
  const std::string log = tmp("ppo_bad.log");
  EXPECT_EQ(run_flywheel("ppo " + recipe + " ppo.reward_model_path=" + not_a_reward_model, log), 2) << read_text(log);
  EXPECT_NE(read_text(log).find("is not a reward model"), std::string::npos) << read_text(log);
}

TEST(PpoRecipe, NonFiniteRolloutsStopWithTheLastGoodStateOrAreSkipped) {
  const std::string recipe = write_recipe("ppo_nan");
  const std::string log = tmp("ppo_nan.log");
  // Step 3's reward-model scores are made NaN by the test hook.
  EXPECT_EQ(run_flywheel("ppo " + recipe, log), 0);  // without the hook: fine
  fs::remove_all(tmp("ppo_nan_run"));
  ASSERT_EQ(std::system(("FLYWHEEL_TEST_NAN_AT_STEP=3 " + fw::testing::flywheel_bin() + " ppo " + recipe + " > " + log +
                         " 2>&1").c_str()) >> 8,
            1)
      << read_text(log);
  EXPECT_NE(read_text(log).find("at step 3; stopped with the last good state saved in"), std::string::npos)
      << read_text(log);
  EXPECT_TRUE(fs::exists(tmp("ppo_nan_run") + "/checkpoint-00000002/trainer_state/manifest.json"));
  EXPECT_FALSE(fs::exists(tmp("ppo_nan_run") + "/final"));
  // Under on_nan: skip that step is dropped and the run finishes.
  ASSERT_EQ(std::system(("FLYWHEEL_TEST_NAN_AT_STEP=3 " + fw::testing::flywheel_bin() + " ppo " + recipe +
                         " train.on_nan=skip output_dir=" + tmp("ppo_nan_skip_run") + " > " + log + " 2>&1").c_str()) >>
                8,
            0)
      << read_text(log);
  EXPECT_EQ(step_metrics(tmp("ppo_nan_skip_run")).size(), 5u);
  EXPECT_TRUE(fs::exists(tmp("ppo_nan_skip_run") + "/final/model.safetensors"));
}

}  // namespace
