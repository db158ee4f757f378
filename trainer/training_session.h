// One training session: everything a recipe does around its own loop (DESIGN.md §8).
// The recipe keeps its numbered narrative and its loop (DESIGN.md §3: nothing here owns a
// loop); the session holds what every recipe shares:
//
//   TrainingSession s(r, identity, r.data.train, hooks.faults);  // 1-2. runtime, run
//                        // folder + fingerprint, resume decision, chat template, tokenizer
//   ... the recipe's data and models ...
//   s.start_training({module, write_checkpoint, write_export}, total_steps);  // 4. AdamW
//                        // from the optim section, schedule, resumed state, metrics.jsonl
//   s.set_evaluation(evaluate, every_steps);   // optional: at step 0, every N, at the end
//   s.begin();           // the step-0 evaluation of a fresh run, the progress line
//   while (!s.done()) {
//     s.begin_step();    // the step's clock
//     ... batch, loss, backward ...
//     UpdateResult u = s.update(loss, hint);  // clip, lr, AdamW; train.on_nan
//     if (s.end_step({next_cursor, tokens, u.applied, metrics, shown, epoch})) return s.stopped(result);
//   }
//   s.finish(result, "eval/accuracy", "final loss 0.12");  // final checkpoint, export, evaluation
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "data/chat_template.h"
#include "data/tokenizer.h"
#include "dist/data_parallel.h"
#include "dist/process_group.h"
#include "trainer/checkpoint_dir.h"
#include "trainer/metrics_log.h"
#include "trainer/progress.h"
#include "trainer/recipe_sections.h"
#include "trainer/recipe_start.h"
#include "trainer/run_fingerprint.h"
#include "trainer/run_state.h"
#include "trainer/schedule.h"
#include "trainer/train_result.h"
#include "trainer/trainer_hooks.h"
#include "trainer/update.h"

namespace torch::optim {
class Optimizer;
}

namespace fw::trainer {

using ModelWriter = std::function<void(const std::string& dir)>;

// The module the session trains and how it is written.
struct TrainedModule {
  torch::nn::Module& module;     // every trainable parameter (PPO: policy + value)
  ModelWriter write_checkpoint;  // a checkpoint's model files (and the recipe's extra state)
  ModelWriter write_export;      // final/'s files; empty = write_checkpoint
  dist::GradSyncOptions sync = {};
};

// What a step hands back to the session.
struct StepEnd {
  data::DataCursor next_cursor;  // where the next step's data starts
  int64_t tokens = 0;            // real tokens this step processed (all ranks)
  bool applied = true;           // false: a non-finite step dropped under on_nan: skip
  Metrics metrics;               // the recipe's part of metrics.jsonl's row (written when due,
                                 // for an applied step); the session adds epoch, num_tokens,
                                 // tokens_per_second and timing/step
  std::vector<std::pair<std::string, double>> shown;  // on the progress line
  double epoch = 0;              // epochs completed, fractional (StepStream::epoch_progress)
};

class TrainingSession {
 public:
  // 1-2. The runtime, the run folder (refused when another recipe made it), the resume
  // decision, the chat template and the tokenizer (trained on data_files if asked).
  TrainingSession(const TrainingSections& sections, const RunIdentity& identity, const std::vector<std::string>& data_files,
                  FaultInjection faults = {});
  ~TrainingSession();
  TrainingSession(const TrainingSession&) = delete;
  TrainingSession& operator=(const TrainingSession&) = delete;

  at::Device device() const { return start_.device; }
  dist::ProcessGroup& pg() const { return *start_.pg; }
  bool leader() const { return start_.pg->rank() == 0; }
  const std::optional<CheckpointInfo>& resume() const { return start_.resume; }
  const data::ChatTemplate& chat_template() const { return start_.chat_template; }
  const data::Tokenizer& tok() const { return start_.tok; }
  int64_t pad_id() const;
  void write_tokenizer(const std::string& dir) const { start_.write_tokenizer(dir); }

  // 4. Puts the module in train mode, broadcasts rank 0's weights, sums gradients over the
  // ranks, makes AdamW from the optim section and the schedule over total_steps, restores
  // the resumed checkpoint's state and opens metrics.jsonl.
  void start_training(TrainedModule trained, int64_t total_steps);

  // What the run evaluates (rank 0; returns {} on other ranks): at step 0 of a fresh run,
  // every `every_steps` (0 = never in between) and after the final checkpoint.
  void set_evaluation(std::function<Metrics()> evaluate, int64_t every_steps = 0);

  void begin();  // the step-0 evaluation of a fresh run, then the progress line
  bool done() const { return state_.step >= total_steps_; }
  void begin_step();
  double step_seconds() const;  // since begin_step()
  bool fault_due() const { return faults_.nan_at_step == state_.step + 1; }

  // The step's update: the gradient all-reduce, clipping (optim.grad_clip), the
  // scheduled lr, AdamW. `loss` is the global loss (the same on every rank). A NaN/Inf
  // loss or gradient applies nothing (applied = false) and goes to non_finite_step with
  // `nan_hint` (which throws under on_nan: stop).
  UpdateResult update(double loss, const std::string& nan_hint);
  double lr() const { return lr_at(state_.step, schedule_); }

  // train.on_nan, the one NaN policy of every recipe, for a step whose loss (or reward
  // scores, or gradients) were not finite. stop: the run stops with an fw::Error naming the
  // step; the last complete step is saved first when `model_unchanged` (nothing of this
  // step was applied), else the newest checkpoint holds it (PPO, after some of the step's
  // mini-batch updates). skip: a warning; a step whose model is unchanged is dropped (the
  // recipe ends it with applied = false) and counts in skipped_steps; a PPO step keeps its
  // finite updates.
  void non_finite_step(double loss, const std::string& hint, bool model_unchanged = true);

  // After each step: the cursor and counters advance; the metrics row is written every
  // log_every_steps and at the last step (applied steps only); the progress line; the
  // evaluation when due; the periodic checkpoint. Returns true when the run was
  // interrupted (SIGINT/SIGTERM on any rank), after checkpointing: return at once.
  bool end_step(const StepEnd& end);

  // After end_step() said stop: `r` marked interrupted at the step reached.
  template <class Result>
  Result stopped(Result r) const {
    r.interrupted = true;
    r.steps = state_.step;
    return r;
  }

  // 7. The final checkpoint, the exported model (r.final_dir = OUTPUT_DIR/final on every
  // rank) and the final evaluation (logged; r.eval_accuracy = its `accuracy_metric`, rank 0).
  // Logs "done: N steps, <summary>; model in DIR".
  void finish(TrainResult& r, const std::string& accuracy_metric, const std::string& summary);

  RunState& state() { return state_; }
  torch::optim::Optimizer& optimizer() { return *optimizer_; }
  dist::GradientSync& grad_sync() { return *grad_sync_; }

 private:
  std::string save();  // a checkpoint of the current state; its path
  Metrics run_evaluation(int64_t step);

  const TrainingSections& s_;  // the recipe's; it outlives the session
  FaultInjection faults_;
  std::string config_yaml_;  // the resolved recipe, saved with each checkpoint
  RecipeStart start_;
  std::optional<TrainedModule> trained_;
  std::unique_ptr<dist::GradientSync> grad_sync_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  ScheduleOptions schedule_;
  RunState state_;
  int64_t total_steps_ = 0;
  std::unique_ptr<MetricsLog> metrics_;
  std::unique_ptr<Progress> progress_;
  std::function<Metrics()> evaluate_;
  int64_t eval_every_steps_ = 0;
  double step_started_ = 0;  // steady-clock seconds
};

}  // namespace fw::trainer
