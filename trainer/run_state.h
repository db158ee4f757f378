// What a recipe saves besides the model, and how: the step, the data cursor, token
// counts, optimizer and RNG state, and the resolved config, written into
// checkpoint-N/trainer_state/ through checkpoint_dir (atomic, hashed). Every recipe
// (SFT, DPO, RM) checkpoints and resumes through these two functions.
#pragma once

#include <torch/optim/optimizer.h>

#include <functional>
#include <string>

#include "data/batching.h"

namespace fw::trainer {

struct RunState {
  int64_t step = 0;            // optimizer steps completed
  data::DataCursor cursor;     // the next micro-batch
  int64_t tokens_seen = 0;     // real tokens processed (TRL's num_tokens)
  int64_t skipped_steps = 0;   // non-finite steps dropped under on_nan: skip
};

// Saves OUTPUT_DIR/checkpoint-<step>: write_model(dir) writes the model files at the
// top of the folder; the state, optimizer, RNG, world size and config go into
// trainer_state/. Only rank 0 writes (every rank holds the same state); every rank gets
// the path.
std::string save_run_checkpoint(const std::string& output_dir, const RunState& state, torch::optim::Optimizer& optimizer,
                                const std::function<void(const std::string& dir)>& write_model,
                                const std::string& config_yaml, int keep_last);

// Restores optimizer and RNG from a checkpoint folder and returns its state. A checkpoint
// of a run with another number of ranks is an fw::Error naming both.
RunState load_run_state(const std::string& checkpoint_dir, torch::optim::Optimizer& optimizer);

}  // namespace fw::trainer
