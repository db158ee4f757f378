// `flywheel dpo`: direct preference optimisation against a frozen reference.
#pragma once

#include <optional>
#include <string>

#include "trainer/preference_recipe.h"
#include "trainer/trainer_hooks.h"

namespace fw::trainer {

struct DpoResult {
  std::string final_dir;
  int64_t steps = 0;
  double last_loss = 0;
  std::optional<double> eval_accuracy;  // rewards/accuracies on data.eval
  bool interrupted = false;
};

DpoResult run_dpo(const DpoRecipe& recipe, const std::string& resolved_config_yaml, const TrainerHooks& hooks = {});

}  // namespace fw::trainer
