// `flywheel sft`: supervised fine-tuning of a Llama-family model on chat JSONL.
#pragma once

#include <optional>
#include <string>

#include "trainer/sft_recipe.h"
#include "trainer/train_result.h"
#include "trainer/trainer_hooks.h"

namespace fw::trainer {

struct SftResult : TrainResult {  // eval_accuracy: on eval.prompts, when set
  double last_loss = 0;
};

// `resolved_config_yaml` is the recipe as YAML (written into the run folder and each
// checkpoint). Throws fw::Error for bad input or a NaN loss under on_nan: stop.
SftResult run_sft(const SftRecipe& recipe, const std::string& resolved_config_yaml, const TrainerHooks& hooks = {});

}  // namespace fw::trainer
