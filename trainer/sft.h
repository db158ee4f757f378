// `flywheel sft`: supervised fine-tuning of a Llama-family model on chat JSONL.
#pragma once

#include <optional>
#include <string>

#include "trainer/sft_recipe.h"
#include "trainer/trainer_hooks.h"

namespace fw::trainer {

struct SftResult {
  std::string final_dir;       // OUTPUT_DIR/final: the model in HF layout with its tokenizer
  int64_t steps = 0;           // optimizer steps completed (in total, across resumes)
  double last_loss = 0;
  std::optional<double> eval_accuracy;  // when eval.prompts is set
  bool interrupted = false;    // stopped by SIGINT/SIGTERM after checkpointing
};

// `resolved_config_yaml` is the recipe as YAML (written into the run folder and each
// checkpoint). Throws fw::Error for bad input or a NaN loss under on_nan: stop.
SftResult run_sft(const SftRecipe& recipe, const std::string& resolved_config_yaml, const TrainerHooks& hooks = {});

}  // namespace fw::trainer
