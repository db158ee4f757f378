// `flywheel rm`: a reward model (backbone + scalar head) from preference pairs.
#pragma once

#include <optional>
#include <string>

#include "trainer/preference_recipe.h"
#include "trainer/trainer_hooks.h"

namespace fw::trainer {

struct RmResult {
  std::string final_dir;  // LlamaForSequenceClassification folder
  int64_t steps = 0;
  double last_loss = 0;
  std::optional<double> eval_accuracy;  // share of held-out pairs scored chosen > rejected
  bool interrupted = false;
};

RmResult run_rm(const RmRecipe& recipe, const std::string& resolved_config_yaml, const TrainerHooks& hooks = {});

}  // namespace fw::trainer
