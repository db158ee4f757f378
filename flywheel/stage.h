// A training stage of an iteration (DESIGN.md §8): one implementation per kind
// (flywheel/stage_sft.cpp, stage_dpo.cpp, stage_rm_ppo.cpp), made by the registry
// (flywheel/stage_registry.h) for one slot of one iteration. The driver
// (flywheel/stage_runner.cpp) calls, in order:
//
//   plan()         every rank, once: the trainer recipes as they will run, the files and
//                  settings only this kind reads. The driver hashes the plan (with the
//                  slice, the target's identity and the arena) into the stage's inputs,
//                  and train() runs the very recipes the plan resolved.
//   build_data()   rank 0, after the battles on the slice: the stage's training data
//   train(a)       every rank (data parallel): attempt a (0, then the gate's retries);
//                  the model goes to output_model(a)
//   evaluate(...)  rank 0: the stage gate, the output against its input on the held-out
//                  prompts (flywheel/stage_gate.h); a kind may add checks of its own
//
// The loop, the battles, the manifest and the rank coordination are the driver's; a
// stage is only what its kind does. Trainers stay trainer/'s free-standing recipes.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/prompt_dataset.h"
#include "flywheel/run_context.h"
#include "flywheel/snapshot.h"
#include "flywheel/stage_data.h"
#include "flywheel/stage_gate.h"
#include "flywheel/trainer_stages.h"

namespace fw::flywheel {

// Where a stage runs: its iteration, its place in `stages`, its slice and folder.
struct StageSlot {
  int64_t iteration = 0;  // 1-based
  size_t position = 0;    // in the recipe's stages
  int64_t slice = 0;      // the slice D<slice> it battles and trains on
  std::string id;         // "i1.sft"
  std::string dir;        // OUTPUT_DIR/i1/sft
};

struct StageContext {
  RunContext& run;
  StageSlot slot;
  Snapshot target;  // the stage's input: the current target

  // What every trainer of the stage is given: its folder (train/), the target as its
  // start, the stage's seed, the run's determinism.
  StageCommon trainer_common() const;
  // Where attempt `attempt` leaves its model: <dir>/train/final, <dir>/train.retry<j>/final.
  std::string output_model(size_t attempt) const;
};

// A retry's folders: <part>.retry<j> (attempt 0: <part>).
std::string attempt_suffix(size_t attempt);

// The kind's part of the stage's inputs, resolved once.
struct StagePlan {
  std::string recipes;  // the resolved trainer recipes (YAML) and the sha256 of the files only this kind reads
  nlohmann::json settings = nlohmann::json::object();  // the run's keys only this kind reads
  std::vector<std::string> retries;      // the gate's retry settings: attempt j runs retries[j - 1]
  std::vector<std::string> own_folders;  // trainer folders besides train/ (kept across retries; rm_ppo: "rm")
};

struct Trained {
  enum Status { Done, Interrupted, Skipped } status = Done;
  std::string why;  // Skipped: why the stage leaves no snapshot
  // A trainer's outcome: Done, or Interrupted (SIGINT/SIGTERM; it checkpointed first).
  static Trained unless_interrupted(bool interrupted) { return {interrupted ? Interrupted : Done, {}}; }
};

class Stage {
 public:
  explicit Stage(StageContext context) : ctx_(std::move(context)) {}
  virtual ~Stage() = default;
  Stage(const Stage&) = delete;
  Stage& operator=(const Stage&) = delete;

  virtual StagePlan plan() = 0;
  virtual StageData build_data(const SliceBattles& battles) = 0;
  virtual Trained train(size_t attempt) = 0;
  // The stage gate: `output` battles the stage's input on `heldout` (in <dir>/gate<.retry j>).
  virtual GateCheck evaluate(const Snapshot& output, const std::vector<data::PromptRecord>& heldout, size_t attempt);

  const StageContext& context() const { return ctx_; }

 protected:
  StageContext ctx_;
};

}  // namespace fw::flywheel
