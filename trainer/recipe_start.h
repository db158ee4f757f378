// The first steps every recipe takes (through its TrainingSession, trainer/training_session.h).
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
#include "trainer/recipe_sections.h"
#include "trainer/run_fingerprint.h"
#include "trainer/setup.h"

namespace fw::trainer {

struct RecipeStart {
  at::Device device;
  dist::DistEnv env;                        // where this rank sits (rank 0 of 1 by default)
  std::shared_ptr<dist::ProcessGroup> pg;   // its process group (a world of one by default)
  std::optional<CheckpointInfo> resume;  // the checkpoint to continue from, if any
  data::ChatTemplate chat_template;
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

}  // namespace fw::trainer
