// The first steps every recipe takes, and the housekeeping after each of its steps.
// Recipes still own their loops (torchtune style); these are free functions they call.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "data/chat_template.h"
#include "data/tokenizer.h"
#include "trainer/checkpoint_dir.h"
#include "trainer/progress.h"
#include "trainer/recipe_sections.h"
#include "trainer/run_state.h"
#include "trainer/setup.h"

namespace fw::trainer {

struct RecipeStart {
  at::Device device;
  std::optional<CheckpointInfo> resume;  // the checkpoint to continue from, if any
  data::TemplateKind chat_template;
  data::Tokenizer tok;
  std::function<void(const std::string& dir)> write_tokenizer;  // into a saved model folder
};

RuntimeOptions runtime_options(const RunSection& run);

// Runtime (device, threads, seed, determinism, interrupt handler), the run folder with
// its config.yaml, the resume decision, the chat template and the tokenizer (trained on
// the texts of `data_files` when the recipe asks for one).
RecipeStart start_recipe(const RuntimeOptions& runtime, const std::string& output_dir, const std::string& config_yaml,
                         const std::string& resume_setting, const ModelSection& model, const TokenizerSection& tokenizer,
                         const std::vector<std::string>& data_files);

// A step whose loss or gradient was not finite: under on_nan "stop" saves the last good
// state and throws fw::Error (Runtime) naming the step and the checkpoint; under "skip"
// warns and counts it in state.skipped_steps.
void handle_non_finite_step(const std::string& on_nan, double loss, RunState& state, Progress& progress,
                            const std::function<std::string(const RunState&)>& save, const std::string& hint);

// After a completed step: checkpoints every `every_steps` (not at the last step, which
// the recipe saves itself) and, after SIGINT/SIGTERM, checkpoints and returns true (stop).
bool checkpoint_or_stop(const RunState& state, int64_t total_steps, int64_t every_steps, Progress& progress,
                        const std::function<std::string(const RunState&)>& save);

}  // namespace fw::trainer
