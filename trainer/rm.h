// `flywheel rm`: a reward model (backbone + scalar head) from preference pairs.
#pragma once

#include <optional>
#include <string>

#include "trainer/preference_recipe.h"
#include "trainer/train_result.h"
#include "trainer/trainer_hooks.h"

namespace fw::trainer {

// final_dir: a LlamaForSequenceClassification folder; eval_accuracy: the share of held-out
// pairs scored chosen > rejected.
struct RmResult : TrainResult {
  double last_loss = 0;
};

RmResult run_rm(const RmRecipe& recipe, const std::string& resolved_config_yaml, const TrainerHooks& hooks = {});

}  // namespace fw::trainer
