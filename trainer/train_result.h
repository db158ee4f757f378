// What a run of any recipe returns; each recipe's result adds its own last figures.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace fw::trainer {

struct TrainResult {
  std::string final_dir;  // OUTPUT_DIR/final: the model in HF layout with its tokenizer
  int64_t steps = 0;      // optimizer (PPO: rollout) steps completed, in total across resumes
  bool interrupted = false;             // stopped by SIGINT/SIGTERM after checkpointing
  std::optional<double> eval_accuracy;  // the final evaluation's accuracy, when there is one
};

}  // namespace fw::trainer
