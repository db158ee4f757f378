// The first steps every recipe takes, and the housekeeping after each of its steps.
// Recipes still own their loops (torchtune style); these are free functions they call.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "data/chat_template.h"
#include "data/tokenizer.h"
#include "dist/env.h"
#include "dist/process_group.h"
#include "trainer/checkpoint_dir.h"
#include "trainer/progress.h"
#include "trainer/recipe_sections.h"
#include "trainer/run_fingerprint.h"
#include "trainer/run_state.h"
#include "trainer/setup.h"

namespace fw::trainer {

struct RecipeStart {
  at::Device device;
  dist::DistEnv env;                        // where this rank sits (rank 0 of 1 by default)
  std::shared_ptr<dist::ProcessGroup> pg;   // its process group (a world of one by default)
  std::optional<CheckpointInfo> resume;  // the checkpoint to continue from, if any
  data::TemplateKind chat_template;
  data::Tokenizer tok;
  std::function<void(const std::string& dir)> write_tokenizer;  // into a saved model folder
};

RuntimeOptions runtime_options(const RunSection& run);

// The distributed environment (dist/env.h) and process group, the runtime (device,
// threads, seed, determinism, interrupt handler), the run folder with its fingerprint and
// config.yaml (trainer/run_fingerprint.h: a folder started from another recipe is refused,
// on every rank, before anything is written), the resume decision, the chat template and
// the tokenizer (trained on the texts of `data_files` when the recipe asks for one). In a
// data-parallel run rank 0 writes the folder, decides the resume checkpoint and trains the
// tokenizer; the others follow it.
RecipeStart start_recipe(const RunSection& run, const RunIdentity& identity, const std::string& resume_setting,
                         const ModelSection& model, const TokenizerSection& tokenizer,
                         const std::vector<std::string>& data_files);

// The keys whose content every recipe fingerprints: the data it trains on (data.train),
// the model and the tokenizer it starts from (model.path, tokenizer.path). Recipes add
// their own reference and reward models.
std::vector<ContentKey> common_content_keys(const ModelSection& model, const TokenizerSection& tokenizer,
                                            const std::vector<std::string>& train_files);

// Writes the trained model into OUTPUT_DIR/final through write_model (rank 0 only) and
// returns that path on every rank.
std::string export_final(const std::string& output_dir, dist::ProcessGroup& pg,
                         const std::function<void(const std::string& dir)>& write_model);

// A step whose loss or gradient was not finite: under on_nan "stop" saves the last good
// state and throws fw::Error (Runtime) naming the step and the checkpoint; under "skip"
// warns and counts it in state.skipped_steps.
void handle_non_finite_step(const std::string& on_nan, double loss, RunState& state, Progress& progress,
                            const std::function<std::string(const RunState&)>& save, const std::string& hint);

// After a completed step: checkpoints every `every_steps` (not at the last step, which
// the recipe saves itself) and, after SIGINT/SIGTERM on any rank, checkpoints and returns
// true (stop) on every rank.
bool checkpoint_or_stop(const RunState& state, int64_t total_steps, int64_t every_steps, Progress& progress,
                        const std::function<std::string(const RunState&)>& save, dist::ProcessGroup& pg);

}  // namespace fw::trainer
