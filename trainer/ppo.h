// `flywheel ppo`: PPO of a causal LM against a frozen reward model, with a value model
// (from the reward model by default, as TRL) and a frozen reference for the KL penalty.
#pragma once

#include <optional>
#include <string>

#include "trainer/eval_generation.h"
#include "trainer/ppo_recipe.h"
#include "trainer/trainer_hooks.h"

namespace fw::trainer {

struct PpoResult {
  std::string final_dir;  // OUTPUT_DIR/final: the policy in HF layout with its tokenizer
  int64_t steps = 0;      // PPO steps completed (in total, across resumes)
  double last_score = 0;  // objective/scores of the last step
  double last_kl = 0;     // objective/kl of the last step
  std::optional<double> eval_accuracy;  // when eval.prompts is set
  bool interrupted = false;
};

// hooks.judge (optional, rank 0): also scores the eval.prompts responses at each evaluation
// (eval/judge_score), beside the verifier and the reward model, so that reward hacking
// shows as the reward model's score rising while the judge's does not.
PpoResult run_ppo(const PpoRecipe& recipe, const std::string& resolved_config_yaml, const TrainerHooks& hooks = {});

}  // namespace fw::trainer
