// `flywheel dpo`: direct preference optimisation against a frozen reference.
#pragma once

#include <optional>
#include <string>

#include "trainer/preference_recipe.h"
#include "trainer/train_result.h"
#include "trainer/trainer_hooks.h"

namespace fw::trainer {

struct DpoResult : TrainResult {  // eval_accuracy: rewards/accuracies on data.eval
  double last_loss = 0;
};

DpoResult run_dpo(const DpoRecipe& recipe, const std::string& resolved_config_yaml, const TrainerHooks& hooks = {});

}  // namespace fw::trainer
