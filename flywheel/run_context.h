// What the steps of one `flywheel run` share (flywheel/run.cpp and the stages): the
// recipe, the run folder and its manifest, the arena (the judge lives on rank 0 only), the
// snapshots so far, and the run's hooks. The steps are free functions over it.
#pragma once

#include <csignal>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "arena/arena_setup.h"
#include "arena/battle_runner.h"
#include "flywheel/flywheel_recipe.h"
#include "flywheel/manifest.h"
#include "flywheel/snapshot.h"

namespace fw::flywheel {

struct StageKind;

// Seams for the tests, set by the caller of run_flywheel (apps/ sets none unless asked).
struct RunHooks {
  // Called between the parts of a stage with "<stage id>:<point>" (e.g. "split:data",
  // "i1.sft:battles", "i1.rm_ppo:rm", "i1.eval:leaderboard"): the crash tests kill the
  // process there, at moments too short to hit from outside.
  std::function<void(const std::string& point)> at_point;
};

struct RunContext {
  RunContext(const FlywheelRecipe& recipe, RunHooks hooks);

  const FlywheelRecipe& recipe;
  const std::string out;                  // the run folder
  const bool leader;                      // rank 0 (or a single process)
  const RunHooks hooks;
  const std::vector<const StageKind*> stages;  // recipe.stages, resolved against the registry once
  Manifest manifest;                      // rank 0 writes it; the other ranks read the file
  arena::ArenaSetup arena_setup;
  std::unique_ptr<arena::Judge> judge;    // rank 0 only
  std::vector<data::PromptRecord> test;   // the offline test set (rank 0)
  std::vector<Snapshot> snapshots;        // every snapshot so far, in order
  bool interrupted = false;               // a trainer stopped on SIGINT/SIGTERM

  std::string slice_file(int64_t k) const;  // D<k>.jsonl (D0: SFT-I0's)
  std::string validation_file() const;
  bool validates() const;                   // eval.validation_prompts > 0
  bool target_is_trained() const;           // SFT-I0 is trained here (no target.start)
  nlohmann::json judge_identity() const;    // {} on the ranks without the judge
  arena::BattleRunOptions battle_options() const;
  arena::CompetitorSection as_competitor(const Snapshot& s) const;  // a snapshot in battles

  // The hook at "<stage>:<point>".
  void reached(const std::string& stage, const char* point) const;
  // Ranks > 0: waits until rank 0 has finished `id` (or, with a ready_dir, has its data
  // ready there); the manifest's entry.
  nlohmann::json wait_for(const std::string& id, const std::string& ready_dir = "") const;
  // A stage that starts afresh must not resume a previous attempt's trainer checkpoints
  // (made from other inputs): they are moved aside to <folder>.stale.
  void set_aside_stale(const std::string& id, const std::vector<std::string>& folders) const;
  // Records that a trainer was interrupted; returns `s` for the caller to pass on.
  Snapshot interrupt(Snapshot s);
};

// A per-iteration setting (sft_margin, dpo_margin): the iteration's, the last repeating.
double per_iteration(const std::vector<double>& v, int64_t iteration);

// A trainer leaves its SIGINT/SIGTERM handler installed (it only sets a flag the trainer
// polls). Between trainers nothing polls it, so the default is put back: Ctrl-C during
// battles or an evaluation stops the process at once (everything paid for is on disk).
template <class Result>
Result with_default_signals_after(Result r) {
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  return r;
}

}  // namespace fw::flywheel
