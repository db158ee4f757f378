// `flywheel ppo`: PPO of a causal LM against a frozen reward model, with a value model
// (from the reward model by default, as TRL) and a frozen reference for the KL penalty.
#pragma once

#include <optional>
#include <string>

#include "trainer/eval_generation.h"
#include "trainer/ppo_recipe.h"
#include "trainer/train_result.h"
#include "trainer/trainer_hooks.h"

namespace fw::trainer {

struct PpoResult : TrainResult {  // final_dir: the policy; eval_accuracy: on eval.prompts, when set
  double last_score = 0;  // objective/scores of the last step
  double last_kl = 0;     // objective/kl of the last step
};

// hooks.judge (optional, rank 0): also scores the eval.prompts responses at each evaluation
// (eval/judge_score), beside the verifier and the reward model, so that reward hacking
// shows as the reward model's score rising while the judge's does not.
PpoResult run_ppo(const PpoRecipe& recipe, const std::string& resolved_config_yaml, const TrainerHooks& hooks = {});

}  // namespace fw::trainer
